"""The time-limit table edited as a grid: saving writes a new DMN version and deploys it; a new
appeal gets the new deadlines, a running one keeps its own; a bad cell deploys nothing."""
from __future__ import annotations

import html

import pytest

from console.admin import dmn_table
from deploy.deployment import deploy
from external_tasks.deadlines import TimeLimits, compute_deadlines, evaluate_time_limits, iso
from admin_data.workdays import HOLIDAYS
from tests.admin_console import errors_of
from tests.conftest import wait_until

ORDINARY_COMPLAINT = {"kind": "complaint", "urgency": "normal", "difficulty": "ordinary"}


@pytest.fixture
def time_limits_file(settings, engine):
    """The stack's DMN file; the original is deployed again if a test left another one."""
    path = settings.models_dir / "bpmn" / "time_limits.dmn"
    original = path.read_bytes()
    yield path
    if path.read_bytes() != original:
        path.write_bytes(original)
        deploy(engine, [path], settings.models_dir)


def grid(path, **changes) -> dict:
    """The grid form as the page posts it, with cells changed: rule id → {output name: text}."""
    _, table = dmn_table.parse(path.read_bytes())
    form = {"rows": str(len(table.rules) + 1)}  # the page's empty row for a new rule
    for row, rule in enumerate(table.rules):
        outputs = list(rule.outputs)
        for name, text in changes.get(rule.id, {}).items():
            outputs[table.output_index(name)] = text
        form |= {f"rule-{row}-id": rule.id, f"rule-{row}-description": rule.description}
        form |= {f"rule-{row}-in-{column}": cell or "-" for column, cell in enumerate(rule.inputs)}
        form |= {f"rule-{row}-out-{column}": cell for column, cell in enumerate(outputs)}
    return form


def deadlines_of(appeals, number: str) -> dict:
    return wait_until(lambda: (status := appeals.status(number))["deadlines"]["completion"]
                      and status, timeout=90, what=f"deadlines of {number}")


def completion_after(status: dict, working_days: int) -> str:
    limits = TimeLimits("working_days", 1, 3, working_days)
    return iso(compute_deadlines(limits, status["variables"]["receivedAt"],
                                 HOLIDAYS.current()).completion)


def decision_versions(engine) -> int:
    return engine.get("/decision-definition/count", key="time_limits")["count"]


def latest_completion(engine) -> float:
    return evaluate_time_limits(engine, **ORDINARY_COMPLAINT).completion


def test_a_new_time_limit_applies_to_new_appeals_and_running_ones_keep_theirs(
        settings, engine, appeals, console_as, time_limits_file):
    admin = console_as(settings.admin_user)
    original = time_limits_file.read_bytes()
    running = deadlines_of(appeals, appeals.submit())
    assert running["deadlines"]["completion"] == completion_after(running, 10)
    versions = decision_versions(engine)

    twelve = grid(time_limits_file, Rule_OtherOrdinary={"completion": "12"})
    preview = admin.post("/admin/time-limits", twelve | {"action": "preview"} | {
        f"sample-{name}": value for name, value in ORDINARY_COMPLAINT.items()})
    assert preview.status_code == 200, errors_of(preview)
    row = html.unescape(preview.text.split("<th>时限</th>")[1].split("</tr>")[0])
    assert "办结10个工作日" in row and "办结12个工作日" in row  # deployed → edited
    assert decision_versions(engine) == versions  # a preview deploys nothing

    saved = admin.post("/admin/time-limits", twelve | {"action": "save",
                                                       "reason": "一般投诉办结延长到12个工作日"})
    assert saved.status_code == 302, errors_of(saved)
    assert decision_versions(engine) == versions + 1
    assert b"<text>12</text>" in time_limits_file.read_bytes()

    new = deadlines_of(appeals, appeals.submit())
    assert new["deadlines"]["completion"] == completion_after(new, 12)
    assert appeals.status(running["appealNumber"])["deadlines"] == running["deadlines"]

    page = admin.get("/admin/time-limits").text
    earliest = min(int(part.split('"')[0]) for part in
                   page.split("/admin/files/time_limits/versions/")[1:])
    restored = admin.post(f"/admin/files/time_limits/versions/{earliest}/restore",
                          {"reason": "恢复原办理时限"})
    assert restored.status_code == 302, errors_of(restored)
    assert time_limits_file.read_bytes() == original
    assert latest_completion(engine) == 10  # the original table, deployed again
    assert "一般投诉办结延长到12个工作日" in html.unescape(admin.get("/admin/audit").text)


@pytest.mark.parametrize("cells, problem", [
    ({"Rule_OtherOrdinary": {"completion": "十"}}, "第 3 行: 「办结时限」应为正数"),
    ({"Rule_OtherOrdinary": {"clock": '"days"'}}, "第 3 行: 「计时方式」应为"),
    ({"Rule_OtherOrdinary": {"signFor": "12"}}, "第 3 行: sign_for (12) 长于办结时限"),
])
def test_an_invalid_cell_is_refused_naming_it_and_nothing_is_deployed(
        settings, engine, console_as, time_limits_file, cells, problem):
    admin = console_as(settings.admin_user)
    original = time_limits_file.read_bytes()
    versions = decision_versions(engine)
    refused = admin.post("/admin/time-limits", grid(time_limits_file, **cells) | {
        "action": "save", "reason": "写错的时限"})
    assert refused.status_code == 400
    assert problem in errors_of(refused)
    assert time_limits_file.read_bytes() == original
    assert decision_versions(engine) == versions


def test_a_gap_in_the_table_is_refused(settings, engine, console_as, time_limits_file):
    admin = console_as(settings.admin_user)
    form = grid(time_limits_file)
    form["rule-4-delete"] = "1"  # the urgent rule: urgent appeals would match no rule
    refused = admin.post("/admin/time-limits", form | {"action": "preview"})
    assert refused.status_code == 400
    assert "没有规则适用于 诉求类型=inquiry, 紧急程度=urgent, 难易程度=ordinary" in errors_of(refused)
