"""研判: where appeals come from and what is rising, so units can act before appeals arrive.

* counts by township × category × week;
* top problems of a period with their change against the period before;
* surge detection: a category in a township this week against its own baseline (Poisson rule);
* repeated appeals: the same caller, or the same address and category, within N days;
* the 未诉先办 list: the issues most likely to bring more appeals next week, with the reasons.

Every query reads the connection's report scope (store.report_scope: real appeals unless the
synthetic ones are asked for). Rules and worked examples: docs/assessment.md. Nothing here shows
a caller: repeats of one caller are found by a keyed hash and reported as "同一来电人".
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import sqlite3

from admin_data.assessment import AssessmentConfig, SurgeRule
from assessment.indicators import Period

#: Weight of the latest week in the forecast of next week's appeals (exponential smoothing).
FORECAST_SMOOTHING = 0.5


def week_start(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


#: What puts an appeal in a row of the weekly counts (its week, township and category, `IS` so
#: that an appeal with no township or category has its row too): weekly_counts groups by it, the
#: drill-down (assessment.drilldown) lists by it.
WEEKLY_ROW = "received_week = ? AND township IS ? AND category_code IS ?"


def weekly_counts(db: sqlite3.Connection, period: Period) -> list[dict]:
    """Appeals by township × category × week (weeks start on Monday)."""
    return [dict(row) for row in db.execute(
        "SELECT township, category_code, received_week AS week, COUNT(*) AS appeals "
        "FROM reported_appeals WHERE received_date BETWEEN ? AND ? "
        "GROUP BY township, category_code, received_week ORDER BY week, township, category_code",
        (period.start.isoformat(), period.end.isoformat()))]


def problem_counts(period: Period) -> dict[str, tuple[str, tuple]]:
    """The counts of a 突出问题 row: name → the condition an appeal of the category meets to add
    one to it, and its arguments. top_problems sums them, the drill-down lists by them."""
    before = period.previous()
    now = (period.start.isoformat(), period.end.isoformat())
    return {"appeals": ("received_date BETWEEN ? AND ?", now),
            "previous": ("received_date BETWEEN ? AND ?",
                         (before.start.isoformat(), before.end.isoformat())),
            # IS, not =: an appeal not yet evaluated is no unsatisfied one (= gives NULL for it,
            # and a NULL sum for a category none of whose appeals is evaluated yet).
            "unsatisfied": ("received_date BETWEEN ? AND ? AND evaluation IS 'unsatisfied'", now)}


def top_problems(db: sqlite3.Connection, period: Period, limit: int = 10) -> list[dict]:
    """Categories with the most appeals in the period, against the period just before."""
    counts = problem_counts(period)
    sums = ", ".join(f"SUM({condition}) AS {name}" for name, (condition, _) in counts.items())
    rows = db.execute(
        f"SELECT category_code, {sums} FROM reported_appeals WHERE received_date BETWEEN ? AND ? "
        "AND category_code IS NOT NULL GROUP BY category_code",
        tuple(value for _, values in counts.values() for value in values)
        + (period.previous().start.isoformat(), period.end.isoformat()))
    problems = [dict(row) | {"change": _change(row["appeals"], row["previous"])}
                for row in rows if row["appeals"]]
    problems.sort(key=lambda row: (-row["appeals"], row["category_code"]))
    return problems[:limit]


def _change(now: int, before: int) -> float | None:
    """Relative change (0.5 = +50 %); None when there was nothing before."""
    return (now - before) / before if before else None


# -- surges ------------------------------------------------------------------------------------

def poisson_tail(count: int, mean: float) -> float:
    """P(X ≥ count) for X ~ Poisson(mean); summed upwards above the mean, so a tiny tail keeps
    its digits instead of vanishing in 1 − P(X < count)."""
    if count <= 0:
        return 1.0
    if count <= mean:
        below = sum(math.exp(k * math.log(mean) - mean - math.lgamma(k + 1)) for k in range(count))
        return max(0.0, 1.0 - below)
    term = math.exp(count * math.log(mean) - mean - math.lgamma(count + 1)) if mean > 0 else 0.0
    tail, k = 0.0, count
    while term > tail * 1e-16:
        tail += term
        k += 1
        term *= mean / k
    return tail


@dataclasses.dataclass(frozen=True)
class Surge:
    count: int
    baseline: float      # mean of the baseline weeks
    expected: float      # the baseline, at least the rule's floor
    p_value: float


def detect_surge(baseline_weeks: list[int], count: int, rule: SurgeRule) -> Surge | None:
    """A surge when this week's count is at least `min_count` and, were the category's weekly
    count Poisson with the baseline mean (at least `baseline_floor`), a count this high or
    higher would occur with probability below `alpha`."""
    baseline = sum(baseline_weeks) / len(baseline_weeks) if baseline_weeks else 0.0
    expected = max(baseline, rule.baseline_floor)
    p_value = poisson_tail(count, expected)
    if count >= rule.min_count and p_value < rule.alpha:
        return Surge(count, baseline, expected, p_value)
    return None


def baseline_span(week: dt.date, weeks: int) -> tuple[dt.date, dt.date]:
    """The Mondays of the first and the last of the `weeks` baseline weeks before `week`."""
    return week - dt.timedelta(weeks=weeks), week - dt.timedelta(weeks=1)


def _weekly_series(db: sqlite3.Connection, week: dt.date, weeks: int) -> dict[tuple, list[int]]:
    """(township, category) → counts of the `weeks` weeks before `week`, then of `week`."""
    first, _ = baseline_span(week, weeks)
    series: dict[tuple, list[int]] = {}
    for row in db.execute(
            "SELECT township, category_code, received_week, COUNT(*) AS appeals "
            "FROM reported_appeals WHERE received_week BETWEEN ? AND ? AND township IS NOT NULL "
            "AND category_code IS NOT NULL GROUP BY township, category_code, received_week",
            (first.isoformat(), week.isoformat())):
        index = (dt.date.fromisoformat(row["received_week"]) - first).days // 7
        series.setdefault((row["township"], row["category_code"]), [0] * (weeks + 1))[index] = \
            row["appeals"]
    return series


def surges(db: sqlite3.Connection, week: dt.date, rule: SurgeRule) -> list[dict]:
    """Surge alarms of the week starting `week` (a Monday), most significant first."""
    found = []
    for (township, category), counts in _weekly_series(db, week, rule.baseline_weeks).items():
        surge = detect_surge(counts[:-1], counts[-1], rule)
        if surge:
            found.append({"township": township, "category_code": category,
                          **dataclasses.asdict(surge)})
    found.sort(key=lambda row: (row["p_value"], -row["count"]))
    return found


# -- repeats -----------------------------------------------------------------------------------

def repeats(db: sqlite3.Connection, period: Period, window_days: int) -> list[dict]:
    """Groups of appeals received within `window_days` of the one before, from the same caller
    or about the same address and category. Callers are never shown."""
    groups = []
    for basis, key_sql in (("caller", "caller_key"),
                           ("address", "address_key || '#' || COALESCE(category_code, '')")):
        rows = db.execute(
            f"SELECT {key_sql} AS key, appeal_number, received_at, township, category_code "
            f"FROM reported_appeals WHERE received_date BETWEEN ? AND ? "
            f"AND {key_sql.split(' ')[0]} IS NOT NULL ORDER BY key, received_at",
            (period.start.isoformat(), period.end.isoformat())).fetchall()
        chain: list[sqlite3.Row] = []
        for row in rows + [None]:
            if chain and (row is None or row["key"] != chain[-1]["key"] or _days_between(
                    chain[-1]["received_at"], row["received_at"]) > window_days):
                if len(chain) > 1:
                    groups.append(_repeat_group(basis, chain))
                chain = []
            if row is not None:
                chain.append(row)
    groups.sort(key=lambda group: (-group["appeals"], group["first"]))
    return groups


def _days_between(earlier: str, later: str) -> float:
    return (dt.datetime.fromisoformat(later) - dt.datetime.fromisoformat(earlier)) \
        / dt.timedelta(days=1)


def _repeat_group(basis: str, chain: list[sqlite3.Row]) -> dict:
    return {"basis": "同一来电人" if basis == "caller" else "同一地址同类诉求",
            "appeals": len(chain), "township": chain[-1]["township"],
            "category_code": chain[-1]["category_code"],
            "first": chain[0]["received_at"], "last": chain[-1]["received_at"],
            "appeal_numbers": [row["appeal_number"] for row in chain]}


# -- 未诉先办 --------------------------------------------------------------------------------------

def forecast(counts: list[int]) -> float:
    """Next week's appeals by exponential smoothing of the weekly counts (oldest first)."""
    level = counts[0] if counts else 0.0
    for count in counts[1:]:
        level = FORECAST_SMOOTHING * count + (1 - FORECAST_SMOOTHING) * level
    return level


def act_before_list(db: sqlite3.Connection, week: dt.date, config: AssessmentConfig,
                    limit: int = 20) -> list[dict]:
    """Issues (township × category) most likely to bring more appeals, for leaders to act on:
    every issue with a surge this week, a repeat group in the repeat window, or a forecast of at
    least one appeal next week; ranked by the forecast, surges first."""
    rule = config.surge
    series = _weekly_series(db, week, rule.baseline_weeks)
    window = Period(week + dt.timedelta(days=6 - config.repeat_window_days),
                    week + dt.timedelta(days=6))
    repeat_counts: dict[tuple, int] = {}
    for group in repeats(db, window, config.repeat_window_days):
        key = (group["township"], group["category_code"])
        repeat_counts[key] = repeat_counts.get(key, 0) + 1
    unsatisfied = {(row["township"], row["category_code"]): row["n"] for row in db.execute(
        "SELECT township, category_code, COUNT(*) AS n FROM reported_appeals WHERE evaluation = "
        "'unsatisfied' AND received_date BETWEEN ? AND ? GROUP BY township, category_code",
        (window.start.isoformat(), window.end.isoformat()))}
    issues = []
    for key in set(series) | set(repeat_counts):
        counts = series.get(key, [0] * (rule.baseline_weeks + 1))
        surge = detect_surge(counts[:-1], counts[-1], rule)
        expected = forecast(counts)
        if not (surge or repeat_counts.get(key) or expected >= 1):
            continue
        reasons = []
        if surge:
            reasons.append(f"本周 {surge.count} 件, 基线每周 {surge.baseline:.1f} 件 (激增)")
        if repeat_counts.get(key):
            reasons.append(f"重复诉求 {repeat_counts[key]} 组")
        if unsatisfied.get(key):
            reasons.append(f"不满意 {unsatisfied[key]} 件")
        if counts[-1] > sum(counts[:-1]) / max(1, len(counts) - 1):
            reasons.append("高于近期平均")
        issues.append({"township": key[0], "category_code": key[1], "this_week": counts[-1],
                       "forecast": expected, "surge": surge is not None,
                       "repeat_groups": repeat_counts.get(key, 0),
                       "unsatisfied": unsatisfied.get(key, 0), "reasons": reasons})
    issues.sort(key=lambda issue: (not issue["surge"], -issue["forecast"],
                                   -issue["repeat_groups"], issue["township"] or "",
                                   issue["category_code"] or ""))
    return issues[:limit]
