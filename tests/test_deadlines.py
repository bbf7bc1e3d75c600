"""The time-limit table (bpmn/time_limits.dmn) and the compute-deadlines worker, on the engine."""
import datetime as dt
import itertools

import pytest

from external_tasks.camunda import from_typed, from_typed_map, to_typed_map
from external_tasks.deadlines import router
from admin_data.workdays import HOLIDAYS
from tests.conftest import wait_until

KINDS = ("inquiry", "help", "complaint", "report", "suggestion")
URGENCIES = ("normal", "urgent")
DIFFICULTIES = ("ordinary", "complex")


def expected_row(kind, urgency, difficulty):
    """The defaults of DOMAIN.md as the table must give them."""
    if urgency == "urgent":
        return {"clock": "hours", "signFor": 0.5, "feedback": 2.0, "completion": 24.0}
    if kind == "inquiry":
        return {"clock": "working_days", "signFor": 1.0, "feedback": 1.0,
                "completion": 10.0 if difficulty == "complex" else 3.0}
    return {"clock": "working_days", "signFor": 1.0, "feedback": 3.0,
            "completion": 15.0 if difficulty == "complex" else 10.0}


def evaluate(engine, **inputs):
    return [from_typed_map(row) for row in engine.post(
        "/decision-definition/key/time_limits/evaluate", {"variables": to_typed_map(inputs)})]


def test_time_limit_table_is_deployed_as_specified(engine):
    definition = engine.get("/decision-definition/key/time_limits")
    assert definition["name"] == "办理时限"
    assert definition["historyTimeToLive"] == 1825


@pytest.mark.parametrize("kind, urgency, difficulty",
                         list(itertools.product(KINDS, URGENCIES, DIFFICULTIES)))
def test_every_combination_matches_exactly_one_rule(engine, kind, urgency, difficulty):
    rows = evaluate(engine, kind=kind, urgency=urgency, difficulty=difficulty)
    assert rows == [expected_row(kind, urgency, difficulty)]


def test_unknown_kind_matches_no_rule(engine):
    assert evaluate(engine, kind="praise", urgency="normal", difficulty="ordinary") == []


def instance_variables(engine, instance_id):
    return {name: from_typed(typed) for name, typed in engine.get(
        f"/process-instance/{instance_id}/variables", deserializeValues="false").items()}


def reached_inspection(engine, instance_id):
    tasks = engine.get("/task", processInstanceId=instance_id)
    return bool(tasks) and tasks[0]["taskDefinitionKey"] == "Task_Inspect"


DEADLINE_NAMES = ("signForDeadline", "feedbackDeadline", "completionDeadline",
                  "signForReminderAt", "feedbackReminderAt", "completionReminderAt",
                  "deadlineClock", "timeLimitNote")


def test_worker_sets_deadlines_from_the_table(engine, start_instance, run_worker):
    cases = {
        "complaint": ({"kind": "complaint", "receivedAt": "2026-09-30T10:00:00+08:00"}, {
            "signForDeadline": "2026-10-08T23:59:59+08:00",
            "feedbackDeadline": "2026-10-10T23:59:59+08:00",
            "completionDeadline": "2026-10-20T23:59:59+08:00",
            "signForReminderAt": "2026-10-08T14:00:00+08:00",
            "feedbackReminderAt": "2026-10-10T09:00:00+08:00",
            "completionReminderAt": "2026-10-20T09:00:00+08:00",
            "deadlineClock": "working_days",
            "timeLimitNote": "投诉 · 一般 · 普通: 签收1个工作日, 首次反馈3个工作日, 办结10个工作日, "
                             "自2026-10-08起算"}),
        "inquiry": ({"kind": "inquiry", "urgency": "normal", "difficulty": "ordinary",
                     "receivedAt": "2026-09-30T16:45:00+08:00"}, {
            "signForDeadline": "2026-10-08T23:59:59+08:00",
            "feedbackDeadline": "2026-10-08T23:59:59+08:00",
            "completionDeadline": "2026-10-10T23:59:59+08:00",
            "signForReminderAt": "2026-10-08T14:00:00+08:00",
            "feedbackReminderAt": "2026-10-08T14:00:00+08:00",
            "completionReminderAt": "2026-10-10T09:00:00+08:00",
            "deadlineClock": "working_days",
            "timeLimitNote": "咨询 · 一般 · 普通: 签收1个工作日, 首次反馈1个工作日, 办结3个工作日, "
                             "自2026-10-08起算"}),
        "complex report": ({"kind": "report", "difficulty": "complex",
                            "receivedAt": "2026-09-30T10:00:00+08:00"}, {
            "completionDeadline": "2026-10-27T23:59:59+08:00",
            "timeLimitNote": "举报 · 一般 · 疑难: 签收1个工作日, 首次反馈3个工作日, 办结15个工作日, "
                             "自2026-10-08起算"}),
        # A Date variable rather than a string; received on a holiday, so the clock matters.
        "urgent help": ({"kind": "help", "urgency": "urgent",
                         "receivedAt": dt.datetime.fromisoformat("2026-10-03T10:15:00+08:00")}, {
            "signForDeadline": "2026-10-03T10:45:00+08:00",
            "feedbackDeadline": "2026-10-03T12:15:00+08:00",
            "completionDeadline": "2026-10-04T10:15:00+08:00",
            "signForReminderAt": "2026-10-03T10:37:30+08:00",
            "completionReminderAt": "2026-10-04T04:15:00+08:00",
            "deadlineClock": "hours",
            "timeLimitNote": "求助 · 紧急 · 普通: 签收0.5小时, 首次反馈2小时, 办结24小时, "
                             "自2026-10-03 10:15起算, 7×24小时连续计时"}),
        # Re-dispatched on Monday 12 October: the limits count from then, not from receipt.
        "re-dispatched": ({"kind": "suggestion", "receivedAt": "2026-09-30T10:00:00+08:00",
                           "deadlineBasisAt": "2026-10-12T09:00:00+08:00"}, {
            "signForDeadline": "2026-10-13T23:59:59+08:00",
            "completionDeadline": "2026-10-26T23:59:59+08:00",
            "timeLimitNote": "意见建议 · 一般 · 普通: 签收1个工作日, 首次反馈3个工作日, 办结10个工作日, "
                             "自2026-10-13起算"}),
    }
    started = {name: start_instance("test_deadlines", given)["id"]
               for name, (given, _) in cases.items()}
    run_worker(router)
    for name, (_, expected) in cases.items():
        wait_until(lambda: reached_inspection(engine, started[name]),
                   what=f"deadlines of the {name} case")
        values = instance_variables(engine, started[name])
        assert set(DEADLINE_NAMES) <= set(values), name
        assert {key: values[key] for key in expected} == expected, name


def test_year_without_holiday_data_becomes_an_incident_naming_it(engine, start_instance,
                                                                run_worker):
    calendar = HOLIDAYS.current()
    # 2027 until an admin adds it to holidays.yaml; then the next year still missing.
    year = next(year for year in range(2027, 2200) if not calendar.covers(year))
    instance = start_instance("test_deadlines", {
        "kind": "complaint", "receivedAt": f"{year}-03-01T09:00:00+08:00"})
    run_worker(router)
    incidents = wait_until(lambda: engine.get("/incident", processInstanceId=instance["id"]),
                           what="an incident")
    message = incidents[0]["incidentMessage"]
    assert f"缺少{year}年的法定节假日" in message
    assert f"no statutory holiday data for {year}" in message
    assert "admin_data/files/holidays.yaml" in message
    assert message.startswith("管理数据有误")
    assert engine.get("/task", processInstanceId=instance["id"]) == []
    # An incident at once: the worker did not spend retries on missing admin data.
    task = engine.get("/external-task", processInstanceId=instance["id"])[0]
    assert task["retries"] == 0


def test_unknown_kind_becomes_an_incident_naming_the_field(engine, start_instance, run_worker):
    instance = start_instance("test_deadlines", {
        "kind": "praise", "receivedAt": "2026-10-08T09:00:00+08:00"})
    run_worker(router)
    incidents = wait_until(lambda: engine.get("/incident", processInstanceId=instance["id"]),
                           what="an incident")
    assert "kind: 'praise' 无效" in incidents[0]["incidentMessage"]
