"""考核 indicators from appeals driven through the real engine with chosen outcomes, synced
from its history; the expected figures are worked out by hand below and must match exactly.
"""
from __future__ import annotations

import datetime as dt

import pytest

from assessment import store
from admin_data.assessment import load_assessment_config
from assessment.analysis import surges, top_problems, week_start, weekly_counts
from assessment.drilldown import Names, explain_score, explain_table
from assessment.explain import FIGURE_PARTS, explain
from assessment.indicators import GROUPS, InputError, indicators, parse_period
from assessment.sync import sync
from assessment.synthetic import synthetic_row
from admin_data.workdays import SHANGHAI
from admin_data.directory import load_directory
from admin_data.taxonomy import load_taxonomy
from tests.appeal_driver import AppealDriver
from tests.conftest import wait_until

PROPERTY = {"categoryCode": "construction.propertyService", "title": "小区物业不清理垃圾",
            "content": "小区楼道垃圾堆积一周无人清理, 物业不作为"}
SCHOOL = {"categoryCode": "education.admission", "title": "孩子入学报名问题",
          "content": "孩子今年上小学, 报名系统一直提示学籍信息错误", "township": "datun"}


class Fixture:
    def __init__(self, appeals: AppealDriver):
        self.appeals = appeals

    def sign_and_handle(self, number, lead):
        self.appeals.work(number, f"{lead}01", "Task_SignForAppeal", signDecision="accept")
        self.appeals.work(number, f"{lead}01", "Task_HandleAppeal",
                          firstFeedbackAt="2026-11-28T10:00:00+08:00", firstFeedbackMethod="phone",
                          progressNote="已联系相关方, 约定三日内处理完毕")

    def reply(self, number, lead, co_unit):
        self.appeals.work(number, f"{co_unit}01", "Task_AssistAppeal", assistOpinion="配合督促整改到位")
        self.appeals.work(number, f"{lead}01", "Task_ReplyAppeal",
                          replyText="经协调, 问题已处理完毕并建立巡查制度。", solved=True)
        self.appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)

    def callback(self, number, evaluation, solved, **unsatisfied):
        self.appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                          evaluation=evaluation, solvedConfirmed=solved,
                          callbackNote="回访记录", **unsatisfied)

    def overdue(self, number, timer, lead=None):
        """Fire a deadline timer; the level-1 supervision it starts is resolved by the hotline
        centre when `lead` is given, else left open."""
        self.appeals.fire_timer(number, timer)
        wait_until(lambda: self.appeals.status(number)["overdue"], what=f"{number} overdue")
        if lead:
            self.appeals.supervise(number, "hotline01", f"{lead}01", verdict="resolved")


@pytest.fixture(scope="module")
def driven(settings, engine, as_user):
    """The appeals, driven once for the module; returns their numbers by name."""
    appeals = AppealDriver(settings, engine, as_user)
    work = Fixture(appeals)
    numbers = {}
    # A1 闫集镇: everything on time, satisfied, solved.
    numbers["A1"] = a1 = appeals.submit(township="yanji", **PROPERTY)
    work.sign_and_handle(a1, "yanji")
    work.reply(a1, "yanji", "housing")
    work.callback(a1, "satisfied", True)
    # A2 闫集镇: sign-for deadline missed, then done; basically satisfied, not solved.
    numbers["A2"] = a2 = appeals.submit(township="yanji", **PROPERTY)
    appeals.task(a2, "yanji01", "Task_SignForAppeal")
    work.overdue(a2, "Event_SignForOverdue", lead="yanji")
    work.sign_and_handle(a2, "yanji")
    work.reply(a2, "yanji", "housing")
    work.callback(a2, "basically_satisfied", False)
    # A3 闫集镇: returned improperly, comes back; unsatisfied, not reasonable: closed.
    numbers["A3"] = a3 = appeals.submit(township="yanji", **PROPERTY)
    appeals.work(a3, "yanji01", "Task_SignForAppeal", signDecision="return",
                 returnReason="不属于本镇职责")
    appeals.work(a3, "hotline01", "Task_ReviewReturn", returnImproper=True,
                 returnReviewNote="属地管理, 退单理由不成立")
    work.sign_and_handle(a3, "yanji")
    work.reply(a3, "yanji", "housing")
    work.callback(a3, "unsatisfied", False, reasonable=False, nextStep="close")
    # A4 闫集镇: unsatisfied and reasonable → 二次交办 with a level-1 supervision; then
    # satisfied and solved.
    numbers["A4"] = a4 = appeals.submit(township="yanji", **PROPERTY)
    work.sign_and_handle(a4, "yanji")
    work.reply(a4, "yanji", "housing")
    work.callback(a4, "unsatisfied", False, reasonable=True, nextStep="redispatch")
    appeals.supervise(a4, "hotline01", "yanji01", verdict="resolved")
    work.sign_and_handle(a4, "yanji")
    work.reply(a4, "yanji", "housing")
    work.callback(a4, "satisfied", True)
    # A5 闫集镇: an inquiry answered on the call: received, never dispatched.
    numbers["A5"] = appeals.submit(township="yanji", kind="inquiry", answeredOnCall=True,
                                   answer="可携带身份证到镇便民服务中心办理。", **PROPERTY)
    # B1 大屯镇: signed, first feedback missed (its supervision still open); still open.
    numbers["B1"] = b1 = appeals.submit(township="datun", **PROPERTY)
    appeals.work(b1, "datun01", "Task_SignForAppeal", signDecision="accept")
    work.overdue(b1, "Event_FeedbackOverdue")
    # C1 县教育局 (in 大屯镇, which assists): completion deadline missed; satisfied, solved.
    numbers["C1"] = c1 = appeals.submit(**SCHOOL)
    work.sign_and_handle(c1, "education")
    work.overdue(c1, "Event_CompletionOverdue", lead="education")
    work.reply(c1, "education", "datun")
    work.callback(c1, "satisfied", True)
    for name in ("A1", "A2", "A3", "A4", "A5", "C1"):
        appeals.closed(numbers[name])
    return numbers


@pytest.fixture(scope="module")
def synced(driven, engine, tmp_path_factory):
    """A store synced from the engine, then narrowed to the fixture's appeals (other tests'
    appeals of the session may share its day and units)."""
    path = tmp_path_factory.mktemp("assessment") / "appeals.sqlite3"
    sync(engine, path)
    db = store.connect(path)
    store.report_scope(db, include_synthetic=False)
    numbers = list(driven.values())
    db.execute(f"DELETE FROM appeals WHERE appeal_number NOT IN ({', '.join('?' * len(numbers))})",
               numbers)
    received = [row["received_date"] for row in db.execute("SELECT received_date FROM appeals")]
    assert len(received) == len(driven)
    yield db, parse_period(start=min(received), end=max(received))
    db.close()


def report(synced, group, unit=None):
    db, period = synced
    rows = indicators(db, period, load_assessment_config(), load_directory(), group, unit)
    return {row["unit"]: row for row in rows}


def test_lead_unit_indicators_match_the_hand_count(synced):
    rows = report(synced, "lead_unit")
    yanji = rows["yanji"]
    # A1–A4 reached 闫集镇; A5 never left the hotline centre.
    assert {key: yanji[key] for key in (
        "received", "dispatched", "closed", "sign_for_judged", "sign_for_on_time",
        "feedback_judged", "feedback_on_time", "completion_judged", "completion_on_time",
        "solved_judged", "solved", "evaluated", "satisfied", "basically_satisfied",
        "unsatisfied", "overdue", "sign_for_overdue", "feedback_overdue", "completion_overdue",
        "redispatched", "improper_returns", "supervision_level1", "supervision_level2",
        "supervision_level3", "consultations", "extensions")} == {
        "received": 4, "dispatched": 4, "closed": 4,
        "sign_for_judged": 4, "sign_for_on_time": 3,        # A2 late
        "feedback_judged": 4, "feedback_on_time": 4,
        "completion_judged": 4, "completion_on_time": 4,
        "solved_judged": 4, "solved": 2,                     # A1, A4
        "evaluated": 4, "satisfied": 2, "basically_satisfied": 1, "unsatisfied": 1,
        "overdue": 1, "sign_for_overdue": 1, "feedback_overdue": 0, "completion_overdue": 0,
        "redispatched": 1, "improper_returns": 1,
        "supervision_level1": 2, "supervision_level2": 0, "supervision_level3": 0,  # A2, A4
        "consultations": 0, "extensions": 0}
    assert yanji["sign_for_on_time_rate"] == 3 / 4
    assert yanji["satisfied_rate"] == 3 / 4       # (2 满意 + 1 基本满意) / 4 evaluated
    assert yanji["solved_rate"] == 2 / 4
    assert yanji["redispatch_rate"] == 1 / 4
    # 10 × 0.75 + 15 × 1 + 25 × 1 + 25 × 0.5 + 25 × 0.75
    assert yanji["score"] == pytest.approx(78.75, abs=1e-9)

    datun = rows["datun"]  # B1: open, feedback missed, nothing evaluated yet
    assert (datun["received"], datun["closed"], datun["sign_for_judged"],
            datun["sign_for_on_time"], datun["feedback_judged"], datun["feedback_on_time"],
            datun["completion_judged"], datun["evaluated"], datun["overdue"],
            datun["supervision_level1"]) == (1, 0, 1, 1, 1, 0, 0, 0, 1, 1)
    assert datun["satisfied_rate"] is None and datun["completion_on_time_rate"] is None
    assert datun["score"] == pytest.approx(100 * (10 * 1 + 15 * 0) / (10 + 15), abs=1e-9)

    education = rows["education"]  # C1: completion late, satisfied, solved
    assert (education["completion_judged"], education["completion_on_time"],
            education["completion_overdue"], education["satisfied"], education["solved"],
            education["supervision_level1"]) == (1, 0, 1, 1, 1, 1)
    assert education["score"] == pytest.approx(10 + 15 + 0 + 25 + 25, abs=1e-9)


def test_township_rows_count_where_the_matter_is(synced):
    rows = report(synced, "township")
    assert len(rows) == sum(1 for unit in load_directory().units if unit.territorial)
    assert (rows["yanji"]["received"], rows["yanji"]["dispatched"]) == (5, 4)
    datun = rows["datun"]  # B1 and C1 (the school matter is in 大屯镇)
    assert (datun["received"], datun["closed"], datun["feedback_judged"],
            datun["feedback_on_time"], datun["completion_judged"],
            datun["completion_on_time"]) == (2, 1, 2, 1, 1, 0)
    # 10 × 2/2 + 15 × 1/2 + 25 × 0/1 + 25 × 1/1 + 25 × 1/1
    assert datun["score"] == pytest.approx(67.5, abs=1e-9)
    assert rows["shilin"]["received"] == 0 and rows["shilin"]["score"] is None


def test_department_rows_list_departments_only(synced):
    rows = report(synced, "department")
    assert "yanji" not in rows and rows["education"]["received"] == 1
    assert rows["waterco"]["received"] == 0  # listed although it had nothing this period
    assert list(report(synced, "department", unit="education")) == ["education"]


def test_county_row_covers_every_appeal_of_the_period(synced):
    county = report(synced, "county")["county"]
    assert {key: county[key] for key in (
        "received", "dispatched", "closed", "sign_for_judged", "sign_for_on_time",
        "feedback_judged", "feedback_on_time", "completion_judged", "completion_on_time",
        "solved_judged", "solved", "evaluated", "satisfied", "basically_satisfied",
        "unsatisfied", "overdue", "supervision_level1", "redispatched",
        "improper_returns")} == {
        "received": 7, "dispatched": 6, "closed": 5,          # A5 never dispatched, B1 open
        "sign_for_judged": 6, "sign_for_on_time": 5,          # A2
        "feedback_judged": 6, "feedback_on_time": 5,          # B1
        "completion_judged": 5, "completion_on_time": 4,      # C1
        "solved_judged": 5, "solved": 3,                      # A1, A4, C1
        "evaluated": 5, "satisfied": 3, "basically_satisfied": 1, "unsatisfied": 1,
        "overdue": 3, "supervision_level1": 4,                # A2, A4, B1, C1
        "redispatched": 1, "improper_returns": 1}
    assert county["redispatch_rate"] == 1 / 6
    assert county["satisfied_rate"] == 4 / 5
    # 10 × 5/6 + 15 × 5/6 + 25 × 4/5 + 25 × 3/5 + 25 × 4/5
    assert county["score"] == pytest.approx(10 * 5 / 6 + 15 * 5 / 6 + 20 + 15 + 20, abs=1e-9)
    leads = report(synced, "lead_unit")
    assert county["dispatched"] == sum(row["dispatched"] for row in leads.values())


@pytest.mark.parametrize("arguments, field", [
    ({"start": "2026-11-30", "end": "2026-11-01"}, "end"),
    ({}, "period"),
    ({"start": "2026-11-01"}, "end"),
    ({"month": "2026-13"}, "month"),
    ({"quarter": "2026-Q5"}, "quarter"),
    ({"start": "30.11.2026", "end": "2026-12-01"}, "start"),
    ({"year": "0000"}, "year"),
    ({"start": "2026-01-01", "end": "9999-12-31"}, "end"),
])
def test_bad_periods_are_refused_naming_the_field(arguments, field):
    with pytest.raises(InputError) as refused:
        parse_period(**arguments)
    assert refused.value.field == field


def test_unknown_unit_and_group_are_refused(synced):
    with pytest.raises(InputError) as refused:
        report(synced, "lead_unit", unit="atlantis")
    assert refused.value.field == "unit" and "atlantis" in refused.value.message
    with pytest.raises(InputError) as refused:
        report(synced, "planet")
    assert refused.value.field == "group"


def test_quarter_and_year_cover_their_months():
    assert parse_period(quarter="2026-Q4") == parse_period(start="2026-10-01", end="2026-12-31")
    assert parse_period(year="2026").end == dt.date(2026, 12, 31)


def every_row(synced):
    """(group, unit, indicator row) of every row of every group (unit None: the county)."""
    db, period = synced
    for group in GROUPS:
        for row in indicators(db, period, load_assessment_config(), load_directory(), group):
            yield group, None if group == "county" else row["unit"], row


def test_drill_down_totals_are_the_figures_of_every_row(synced):
    """Every figure of every row of every group: the appeals listed for each part add up to the
    part, and a rate is its numerator over its denominator."""
    db, period = synced
    config, directory = load_assessment_config(), load_directory()
    as_of = dt.datetime.now().astimezone()
    checked = 0
    for group, unit, row in every_row(synced):
        for figure, parts in FIGURE_PARTS.items():
            explained = explain(db, period, figure, config, directory, as_of, group, unit)
            assert explained["value"] == row[figure], (group, unit, figure)
            totals = {part["part"]: part["total"] for part in explained["parts"]}
            for part in explained["parts"]:
                assert part["total"] == pytest.approx(
                    sum(appeal["adds"] for appeal in part["appeals"]))
            if "count" in totals:
                assert totals["count"] == row[figure], (group, unit, figure)
            elif totals["denominator"]:
                assert totals["numerator"] / totals["denominator"] == pytest.approx(
                    row[figure]), (group, unit, figure)
            else:
                assert row[figure] is None and totals["numerator"] == 0
            checked += 1
    assert checked >= len(FIGURE_PARTS) * 30


def listed(explained: dict) -> dict:
    """Part → the numbers of the appeals listed for it, after checking its total is their count."""
    numbers = {}
    for part in explained["parts"]:
        assert part["total"] == len(part["appeals"]) == sum(a["adds"] for a in part["appeals"])
        assert all(appeal["reason"] and appeal["category_name"] and not appeal["synthetic"]
                   for appeal in part["appeals"])
        numbers[part["part"]] = {appeal["appeal_number"] for appeal in part["appeals"]}
    return numbers


def test_analysis_drill_downs_list_exactly_the_numbers_of_every_row(synced, driven):
    """突出问题, 激增预警 and the weekly counts: for every row, each number is the count of the
    appeals its drill-down lists."""
    db, period = synced
    config, names = load_assessment_config(), Names(load_directory(), load_taxonomy())
    problems = top_problems(db, period)
    assert problems
    for row in problems:
        explained = explain_table(db, period, "problems", config, names,
                                  category=row["category_code"])
        totals = {part["part"]: part["total"] for part in explained["parts"]}
        assert totals == {key: row[key] for key in ("appeals", "previous", "unsatisfied")}
        assert explained["value"] == row["appeals"]
    found = surges(db, week_start(period.end), config.surge)
    # 闫集镇 物业: A1–A5 this week, nothing before: a surge.
    assert ("yanji", PROPERTY["categoryCode"]) in [(row["township"], row["category_code"])
                                                   for row in found]
    for row in found:
        explained = explain_table(db, period, "surges", config, names, row["township"],
                                  row["category_code"])
        count, baseline = explained["parts"]
        assert count["total"] == row["count"] == explained["value"]
        assert baseline["total"] / config.surge.baseline_weeks == pytest.approx(row["baseline"])
        assert explained["notes"][-1].endswith("满足, 列入激增预警")
    surge = next(row for row in found if row["township"] == "yanji")
    numbers = listed(explain_table(db, period, "surges", config, names, "yanji",
                                   PROPERTY["categoryCode"]))
    assert numbers["count"] == {driven[name] for name in ("A1", "A2", "A3", "A4", "A5")}
    assert surge["count"] == 5
    weekly = weekly_counts(db, period)
    assert sum(row["appeals"] for row in weekly) == len(driven)
    for row in weekly:
        explained = explain_table(db, period, "weekly", config, names, row["township"],
                                  row["category_code"], row["week"])
        assert explained["value"] == row["appeals"] == len(listed(explained)["appeals"])


def test_composite_score_drill_down_adds_up_to_the_score_of_every_row(synced):
    """Every unit of every group: the points of the rates add up to its score, each rate is the
    figure of its own drill-down, and the weights are those of assessment.yaml."""
    db, period = synced
    config, directory = load_assessment_config(), load_directory()
    as_of = dt.datetime.now().astimezone()
    scored = 0
    for group, unit, row in every_row(synced):
        explained = explain_score(db, period, config, directory, as_of, group, unit)
        assert explained["value"] == row["score"], (group, unit)
        components = explained["components"]
        assert {c["figure"]: c["weight"] for c in components} == {
            f"{rate}_rate": weight for rate, weight in config.indicator_weights.items()}
        for component in components:
            assert component["value"] == row[component["figure"]]
            numerator, denominator = (part["total"] for part in component["parts"])
            assert component["counted"] == bool(denominator)
        if row["score"] is None:
            assert not any(component["counted"] for component in components)
            continue
        assert sum(c["points"] for c in components if c["counted"]) == \
            pytest.approx(row["score"])
        assert sum(c["share"] for c in components) == pytest.approx(1)
        scored += 1
    assert scored >= 4


def test_analysis_drill_down_refuses_a_row_it_cannot_name(synced):
    db, period = synced
    config, names = load_assessment_config(), Names(load_directory(), load_taxonomy())
    for table, arguments, field in (("problems", {}, "category"),
                                    ("surges", {"category": "x"}, "township"),
                                    ("weekly", {"week": "2026-11-24"}, "week"),
                                    ("repeats", {}, "table")):
        with pytest.raises(InputError) as refused:
            explain_table(db, period, table, config, names, **arguments)
        assert refused.value.field == field


def test_drill_down_says_why_an_appeal_counts(synced, driven):
    db, period = synced
    config, directory = load_assessment_config(), load_directory()
    now = dt.datetime.now().astimezone()
    sign_for = explain(db, period, "sign_for_on_time_rate", config, directory, now,
                       "lead_unit", "yanji")
    numerator, denominator = sign_for["parts"]
    assert (numerator["total"], denominator["total"]) == (3, 4)
    assert driven["A2"] not in [appeal["appeal_number"] for appeal in numerator["appeals"]]
    late, = [appeal for appeal in denominator["appeals"] if appeal["appeal_number"] == driven["A2"]]
    assert late["reason"].startswith("签收超") and late["step"] == "签收"
    assert late["title"] == PROPERTY["title"] and late["lead_unit_name"] == "闫集镇"
    assert late["deadline"] and late["adds"] == 1
    on_time = [appeal for appeal in numerator["appeals"] if appeal["appeal_number"] == driven["A1"]]
    assert on_time[0]["reason"].startswith("按时签收, 早于时限 ")
    assert on_time[0]["done_at"] < on_time[0]["deadline"]
    feedback = explain(db, period, "feedback_on_time_rate", config, directory, now,
                       "township", "datun")
    missed, = [appeal for appeal in feedback["parts"][1]["appeals"]
               if appeal["appeal_number"] == driven["B1"]]
    assert missed["done_at"] is None and missed["reason"].startswith("首次反馈超")
    supervised = explain(db, period, "supervision_level1", config, directory, now,
                         "lead_unit", "yanji")["parts"][0]
    assert sorted(appeal["appeal_number"] for appeal in supervised["appeals"]) == \
        sorted([driven["A2"], driven["A4"]])
    assert all(appeal["reason"] == "一级督办 1 次" for appeal in supervised["appeals"])


def test_drill_down_refuses_a_unit_missing_or_outside_its_group(synced):
    db, period = synced
    config, directory = load_assessment_config(), load_directory()
    now = dt.datetime.now().astimezone()
    for group, unit, figure, field in (("township", None, "received", "unit"),
                                       ("department", "yanji", "received", "unit"),
                                       ("county", None, "score", "figure")):
        with pytest.raises(InputError) as refused:
            explain(db, period, figure, config, directory, now, group, unit)
        assert refused.value.field == field


def test_synthetic_appeals_count_only_when_asked_for(synced):
    db, period = synced
    before = report(synced, "county")["county"]
    received = dt.datetime.combine(period.start, dt.time(9), SHANGHAI)
    db.execute("BEGIN")
    store.upsert(db, [synthetic_row(f"SYN{received:%Y%m%d}-999999", received, township="yanji",
                                    lead_unit="yanji", state="closed", evaluation="unsatisfied")])
    db.execute("COMMIT")
    start, end = period.start.isoformat(), period.end.isoformat()
    try:
        assert report(synced, "county")["county"] == before
        assert store.synthetic_count(db, start, end) == 0
        store.report_scope(db, include_synthetic=True)
        county = report(synced, "county")["county"]
        assert (county["received"], county["unsatisfied"]) == \
            (before["received"] + 1, before["unsatisfied"] + 1)
        assert store.synthetic_count(db, start, end) == 1
    finally:
        store.report_scope(db, include_synthetic=False)
        db.execute("DELETE FROM appeals WHERE source = 'synthetic'")
