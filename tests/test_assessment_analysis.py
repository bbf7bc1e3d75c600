"""研判 on synthetic series: a known surge is found, a long quiet period raises (almost) no
alarm, repeats and the 未诉先办 list come from the store's rows. No engine needed: the data
are made here."""
from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from assessment import store
from assessment.analysis import (act_before_list, detect_surge, forecast, poisson_tail, repeats,
                                 surges, top_problems, weekly_counts)
from admin_data.assessment import SurgeRule, load_assessment_config
from assessment.indicators import parse_period
from assessment.synthetic import synthetic_row
from admin_data.workdays import SHANGHAI

RULE = SurgeRule(baseline_weeks=8, min_count=3, alpha=0.001, baseline_floor=0.5)
MONDAY = dt.date(2026, 11, 23)


def poisson(rng: random.Random, mean: float) -> int:
    """Knuth's method: enough for small means."""
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def test_poisson_tail_matches_the_closed_form():
    assert poisson_tail(0, 2.0) == 1.0
    assert poisson_tail(1, 2.0) == pytest.approx(1 - math.exp(-2))
    assert poisson_tail(3, 2.0) == pytest.approx(1 - math.exp(-2) * (1 + 2 + 2))


def test_known_surge_is_found():
    baseline = [2, 1, 3, 2, 2, 1, 2, 3]  # mean 2
    surge = detect_surge(baseline, 12, RULE)
    assert surge is not None and surge.baseline == 2.0 and surge.p_value < 1e-5
    assert detect_surge(baseline, 4, RULE) is None      # P(X ≥ 4 | 2) ≈ 0.14: ordinary
    assert detect_surge([0] * 8, 2, RULE) is None       # below min_count
    assert detect_surge([0] * 8, 5, RULE) is not None   # 5 where nothing ever came


def test_quiet_period_raises_few_false_alarms():
    rng = random.Random(20261127)
    alarms = tests = 0
    for mean in (0.3, 1.0, 2.0, 5.0, 10.0):
        for _series in range(100):
            weeks = [poisson(rng, mean) for _ in range(52)]
            for index in range(RULE.baseline_weeks, len(weeks)):
                tests += 1
                alarms += detect_surge(weeks[index - RULE.baseline_weeks:index], weeks[index],
                                       RULE) is not None
    # Under the null the rule alarms at most alpha plus the baseline's own noise.
    assert tests == 22_000
    assert alarms / tests < 0.003, (alarms, tests)


def fill(db, rows):
    db.execute("BEGIN")
    store.upsert(db, rows)
    db.execute("COMMIT")


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


@pytest.fixture
def db(tmp_path):
    """Eight quiet weeks of 垃圾清运 in 黄口镇 (one a week), then six this week; 物业 steady in 龙城镇.
    The rows are synthetic ones, so the analysis is asked to count them."""
    connection = store.connect(tmp_path / "analysis.sqlite3")
    store.report_scope(connection, include_synthetic=True)
    rows, serial = [], 0

    def add(day, township, category, **values):
        nonlocal serial
        serial += 1
        rows.append(synthetic_row(f"SYN{day:%Y%m%d}-{serial:06d}", at(day), township=township,
                               category_code=category, lead_unit=township, **values))

    for week in range(1, 9):
        add(MONDAY - dt.timedelta(weeks=week), "huangkou", "citymgmt.sanitation")
        for day in range(2):
            add(MONDAY - dt.timedelta(weeks=week, days=-day), "longcheng",
                "construction.propertyService")
    for day in range(6):
        add(MONDAY + dt.timedelta(days=day), "huangkou", "citymgmt.sanitation",
            address_key="huangkou|幸福路口", evaluation="unsatisfied" if day == 0 else None)
    for day in range(2):
        add(MONDAY + dt.timedelta(days=day), "longcheng", "construction.propertyService",
            caller_key="caller-1")
    fill(connection, rows)
    yield connection
    connection.close()


def test_surge_of_the_week_is_found_in_the_store(db):
    found = surges(db, MONDAY, RULE)
    assert [(row["township"], row["category_code"], row["count"]) for row in found] == [
        ("huangkou", "citymgmt.sanitation", 6)]
    assert found[0]["baseline"] == 1.0


def test_weekly_counts_and_top_problems(db):
    this_week = parse_period(start=MONDAY.isoformat(),
                             end=(MONDAY + dt.timedelta(days=6)).isoformat())
    assert {(row["township"], row["category_code"], row["appeals"])
            for row in weekly_counts(db, this_week)} == {
        ("huangkou", "citymgmt.sanitation", 6), ("longcheng", "construction.propertyService", 2)}
    top = top_problems(db, this_week)
    assert [(row["category_code"], row["appeals"], row["previous"]) for row in top] == [
        ("citymgmt.sanitation", 6, 1), ("construction.propertyService", 2, 2)]
    assert top[0]["change"] == 5.0 and top[0]["unsatisfied"] == 1


def test_appeals_not_yet_evaluated_count_as_none_unsatisfied(tmp_path):
    connection = store.connect(tmp_path / "open.sqlite3")
    store.report_scope(connection, include_synthetic=True)
    fill(connection, [synthetic_row("XS20261123-0001", at(MONDAY), township="huangkou",
                                 category_code="citymgmt.sanitation")])  # open, no evaluation
    this_week = parse_period(start=MONDAY.isoformat(),
                             end=(MONDAY + dt.timedelta(days=6)).isoformat())
    assert [(row["appeals"], row["previous"], row["unsatisfied"])
            for row in top_problems(connection, this_week)] == [(1, 0, 0)]
    connection.close()


def test_repeats_by_caller_and_by_address(db):
    found = repeats(db, parse_period(start="2026-11-23", end="2026-11-29"), window_days=30)
    assert [(group["basis"], group["appeals"], group["township"]) for group in found] == [
        ("同一地址同类诉求", 6, "huangkou"), ("同一来电人", 2, "longcheng")]
    assert all("caller-1" not in str(group) for group in found)
    # Appeals a day apart are no repeats within a zero-day window.
    assert repeats(db, parse_period(start="2026-11-23", end="2026-11-29"), window_days=0) == []


def test_act_before_list_puts_the_surge_first_with_its_reasons(db):
    issues = act_before_list(db, MONDAY, load_assessment_config())
    first = issues[0]
    assert (first["township"], first["category_code"], first["surge"]) == \
        ("huangkou", "citymgmt.sanitation", True)
    assert any("激增" in reason for reason in first["reasons"])
    assert "重复诉求 1 组" in first["reasons"] and "不满意 1 件" in first["reasons"]
    steady = next(issue for issue in issues if issue["township"] == "longcheng")
    assert not steady["surge"] and steady["forecast"] == pytest.approx(2.0)


def test_synthetic_appeals_are_left_out_unless_asked_for(db):
    week = parse_period(start="2026-11-23", end="2026-11-29")
    assert top_problems(db, week) and surges(db, MONDAY, RULE)
    store.report_scope(db, include_synthetic=False)
    assert top_problems(db, week) == [] and weekly_counts(db, week) == []
    assert surges(db, MONDAY, RULE) == [] and repeats(db, week, 30) == []
    assert act_before_list(db, MONDAY, load_assessment_config()) == []
    assert store.synthetic_count(db, "2026-11-23", "2026-11-29") == 0


def test_forecast_smooths_towards_recent_weeks():
    assert forecast([0, 0, 0, 8]) == 4.0
    assert forecast([2, 2, 2, 2]) == 2.0


def test_synthetic_rows_are_labelled_and_removable(tmp_path):
    from assessment.synthetic import load_synthetic, remove_synthetic

    path = tmp_path / "synthetic.sqlite3"
    assert load_synthetic(path, 2_000, 2025, progress=False) == 2_000
    connection = store.connect(path)
    rows = connection.execute("SELECT appeal_number, source, kind, received_date FROM appeals")
    rows = rows.fetchall()
    assert len(rows) == 2_000
    assert all(row["source"] == "synthetic" and row["appeal_number"].startswith("SYN")
               and row["received_date"].startswith("2025-") for row in rows)
    complaints = sum(row["kind"] == "complaint" for row in rows) / len(rows)
    assert 0.52 < complaints < 0.62  # 淮北 2021: 51.3 % of the kinds given, 57 % rescaled
    assert remove_synthetic(connection) == 2_000
    connection.close()
