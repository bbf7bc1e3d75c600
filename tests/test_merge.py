"""并案 on the real engine: the hotline centre merges appeals into an open one on the same matter
(at intake from the desk, and at dispatch review through the API); each merged caller is told,
then called back with the main appeal's outcome; an un-merge sends an appeal back to its own
path; the indicators count a merged appeal once as received and as merged, never as a unit's
case; a confidential caller of a merged appeal stays hidden from the main appeal's units; bad
requests are refused naming the field. And a merge from the desk in Chromium."""
from __future__ import annotations

import json

import pytest
import requests
from playwright.sync_api import expect

from admin_data.assessment import load_assessment_config
from admin_data.directory import load_directory
from assessment import store
from assessment.explain import explain
from assessment.indicators import COUNTS, parse_period
from assessment.sync import now, sync
from console.api_clients import BOOTSTRAP_CLIENT
from external_tasks import appeal
from external_tasks.camunda import from_typed
from tests.admin_console import ConsoleSession
from tests.appeal_driver import unique_phone
from tests.conftest import wait_until
from tests.helpers import INTAKE_APPEAL

MAIN_REPLY = "已督促物业公司清理楼道垃圾, 并建立每日保洁制度"
#: The same matter as INTAKE_APPEAL, told by other callers.
SAME_MATTER = {"title": "小区楼道垃圾没人清理", "content": "小区楼道垃圾堆积很多天了, 物业不清理, 气味很大"}
#: A matter told in words no other test uses: on the desk it is the most similar open appeal.
DESK_MATTER = {"title": "锦绣花园七号楼楼道堆满杂物物业不管", "content": "锦绣花园七号楼楼道堆满杂物, 消防通道被堵, 物业不管"}
#: No township found: the appeal waits at the centre's 审核派单.
AT_DISPATCH_REVIEW = {"township": None, "address": "某小区"}


def api(settings, path: str, body) -> requests.Response:
    return requests.post(f"{settings.console_url}/api/v1{path}", json=body, timeout=60,
                         headers={"Authorization": f"Bearer {settings.api_token}"})


def desk_post(session: ConsoleSession, path: str, body: dict) -> requests.Response:
    return session.http.post(session.base + path, json=body, timeout=60,
                             headers={"X-CSRFToken": session.csrf_token})


def root_of(engine, number: str) -> dict:
    return wait_until(lambda: next(iter(engine.get(
        "/history/process-instance", processInstanceBusinessKey=number,
        processDefinitionKey=appeal.APPEAL_PROCESS)), None), what=f"appeal {number}")


def variables(engine, number: str, *names: str) -> dict:
    instance_id = root_of(engine, number)["id"]
    return appeal.variables_by_instance(engine, [instance_id], names)[instance_id]


def ended(engine, number: str, activity_id: str) -> list[dict]:
    """The finished runs of a step of the appeal's own process."""
    return wait_until(lambda: [run for run in engine.get(
        "/history/activity-instance", processInstanceId=root_of(engine, number)["id"],
        activityId=activity_id) if run.get("endTime")], what=f"{activity_id} of {number}")


def told(engine, number: str, template: str) -> bool:
    """Whether the send-notification task of the appeal sent (or, without a gateway, logged) the
    template: its `lastNotification` summary names it."""
    instance_id = root_of(engine, number)["id"]
    return any(str(update.get("value", "")).startswith(f"{template} →") for update in engine.get(
        "/history/detail", processInstanceId=instance_id, variableName="lastNotification"))


@pytest.fixture
def hotline(settings) -> ConsoleSession:
    return ConsoleSession(settings, "hotline01", settings.demo_password)


@pytest.fixture
def main_appeal(appeals) -> str:
    """An auto-dispatched appeal the lead unit 凤城街道 is to sign for."""
    number = appeals.submit()
    appeals.task(number, "fengcheng01", "Task_SignForAppeal")
    return number


def test_merged_callers_are_told_called_back_with_the_main_outcome_and_counted_once(
        appeals, engine, settings, hotline, main_appeal, tmp_path):
    main = main_appeal
    # At intake from the desk: a confidential caller.
    confidential_phone = unique_phone()
    response = desk_post(hotline, "/desk/appeals", INTAKE_APPEAL | SAME_MATTER | {
        "callerName": "赵保密", "callerPhone": confidential_phone, "confidential": True,
        "mergeInto": main})
    assert response.status_code == 201, response.text
    at_intake = response.json()["appealNumber"]
    # At dispatch review, through the API.
    at_review = appeals.submit(**SAME_MATTER, **AT_DISPATCH_REVIEW, callerName="钱公开")
    appeals.task(at_review, "hotline01", "Task_ReviewDispatch")
    response = api(settings, f"/appeals/{at_review}/merge", {"into": main, "note": "同一小区垃圾"})
    assert response.status_code == 202, response.text
    assert response.json() == {"appealNumber": at_review, "mergedInto": main}

    for number in (at_intake, at_review):  # each caller told by SMS, each waits for the main
        ended(engine, number, "Task_NotifyMerged")
        assert told(engine, number, "caller_merged")
        assert appeals.status(number)["variables"]["mergedInto"] == main
        assert not engine.get("/task", processInstanceBusinessKey=number)
    assert not ended_or_none(engine, at_intake, "Task_CheckScope")  # merged before the scope check

    # The main appeal's unit sees both merged appeals, the confidential caller hidden.
    sign_for = appeals.task(main, "fengcheng01", "Task_SignForAppeal")
    # As Tasklist reads them: a Json value as its text.
    seen = appeals.as_user("fengcheng01").get(f"/task/{sign_for['id']}/form-variables",
                                              deserializeValues="false")
    merged_list = from_typed(seen["mergedAppeals"])
    assert {item["appealNumber"] for item in merged_list} == {at_intake, at_review}
    hidden = next(item for item in merged_list if item["appealNumber"] == at_intake)
    assert hidden["callerNameMasked"] == hidden["callerPhoneMasked"] == "（保密）"
    shown = next(item for item in merged_list if item["appealNumber"] == at_review)
    assert shown["callerNameMasked"] == "钱**"
    everything = json.dumps(seen, ensure_ascii=False)
    assert confidential_phone not in everything and "赵保密" not in everything and "赵**" not in everything

    # The main appeal's outcome reaches both merged callers: SMS, then the centre's callback.
    appeals.reply_approved(main, MAIN_REPLY)
    for number in (at_intake, at_review):
        callback = appeals.task(number, "hotline01", "Task_CallbackMergedCaller")
        form = appeals.task_variables("hotline01", callback)
        assert form["replyText"]["value"] == MAIN_REPLY
        assert form["mergedInto"]["value"] == main
        assert told(engine, number, "caller_merged_closed")
        appeals.work(number, "hotline01", "Task_CallbackMergedCaller", callbackReached=True,
                     evaluation="basically_satisfied", solvedConfirmed=True,
                     callbackNote="诉求人知悉主工单的办理结果")
    appeals.work(main, "hotline01", "Task_CallbackCaller", callbackReached=True,
                 evaluation="satisfied", solvedConfirmed=True, callbackNote="诉求人满意")
    assert appeals.closed(main)["closedAs"] == "completed"
    for number in (at_intake, at_review):
        status = appeals.closed(number)
        assert status["closedAs"] == "merged" and status["variables"]["mergedInto"] == main
        assert status["leadUnit"] == "fengcheng"

    # Indicators: three appeals received, two of them merged; only the main one is the unit's.
    path = tmp_path / "appeals.sqlite3"
    sync(engine, path)
    db = store.connect(path)
    store.report_scope(db, include_synthetic=False)
    numbers = [main, at_intake, at_review]
    db.execute(f"DELETE FROM appeals WHERE appeal_number NOT IN ({', '.join('?' * 3)})", numbers)
    counts = dict(db.execute("SELECT " + ", ".join(
        f"SUM({expression}) AS {name}" for name, expression in COUNTS.items())
        + " FROM reported_appeals").fetchone())
    assert counts["received"] == 3 and counts["merged"] == 2
    assert counts["dispatched"] == counts["closed"] == counts["evaluated"] == 1
    assert counts["overdue"] == counts["completion_judged"] - counts["completion_on_time"] == 0
    days = [row["received_date"] for row in db.execute("SELECT received_date FROM appeals")]
    drill = explain(db, parse_period(start=min(days), end=max(days)), "merged",
                    load_assessment_config(), load_directory(), now(), "lead_unit", "fengcheng")
    listed = {item["appeal_number"]: item["reason"] for item in drill["parts"][0]["appeals"]}
    assert listed == {at_intake: f"已并入工单 {main}", at_review: f"已并入工单 {main}"}
    assert drill["value"] == 2 and drill["figure_name"] == "合并件数"
    db.close()


def ended_or_none(engine, number: str, activity_id: str) -> list[dict]:
    return engine.get("/history/activity-instance", processInstanceId=root_of(engine, number)["id"],
                      activityId=activity_id)


def test_an_unmerged_appeal_goes_back_to_its_own_path(appeals, engine, settings, hotline,
                                                     main_appeal):
    main = main_appeal
    other = appeals.submit(**SAME_MATTER, **AT_DISPATCH_REVIEW)
    appeals.task(other, "hotline01", "Task_ReviewDispatch")
    response = desk_post(hotline, f"/desk/appeals/{other}/merge", {"into": main})
    assert response.status_code == 202, response.text
    assert [item["appealNumber"] for item in variables(engine, main, "mergedAppeals")[
        "mergedAppeals"]] == [other]
    assert engine.get("/event-subscription", processInstanceId=root_of(engine, other)["id"],
                      eventName="AppealUnmerged")  # it waits for the main outcome or an un-merge

    response = api(settings, f"/appeals/{other}/unmerge", {"note": "经核实不是同一事项"})
    assert response.status_code == 202, response.text
    assert response.json() == {"appealNumber": other, "mergedInto": None}
    # Back on its own path: scope check again, then the dispatch review it came from.
    appeals.task(other, "hotline01", "Task_ReviewDispatch")
    assert len(ended(engine, other, "Task_CheckScope")) == 2
    found = variables(engine, other, "mergedInto", "unmergedFrom", "unmergedBy")
    assert found == {"mergedInto": None, "unmergedFrom": main, "unmergedBy": BOOTSTRAP_CLIENT}
    assert variables(engine, main, "mergedAppeals")["mergedAppeals"] == []
    again = api(settings, f"/appeals/{other}/unmerge", {})
    assert again.status_code == 409 and "不在并案等待中" in again.json()["errors"]["number"][0]
    # The main appeal with nothing merged reaches its callback as before.
    appeals.reply_approved(main, MAIN_REPLY)
    appeals.task(main, "hotline01", "Task_CallbackCaller")
    assert ended(engine, main, "Task_ForwardMergedOutcome")
    late = api(settings, f"/appeals/{other}/merge", {"into": main})  # its outcome has gone by
    assert late.status_code == 409 and "已有办理结果" in late.json()["errors"]["into"][0]


# -- refusals ------------------------------------------------------------------------------------

@pytest.mark.parametrize("body, field, words", [
    ({}, "into", "必填"),
    ({"into": 20261127}, "into", "工单编号"),
    ({"into": "第一件"}, "into", "工单编号"),
    ({"into": "XS20261127-0001", "note": "长" * 501}, "note", "500"),
    ({"into": "XS20261127-0001", "why": "同一事项"}, "why", "没有这个字段"),
    ([], "_schema", "JSON 对象"),
])
def test_bad_merge_requests_are_refused_naming_the_field(settings, body, field, words):
    response = api(settings, "/appeals/XS20261127-0002/merge", body)
    assert response.status_code == 400, response.text
    assert words in " ".join(response.json()["errors"][field])


def test_merges_the_appeals_do_not_allow_are_refused(appeals, settings, main_appeal):
    main = main_appeal
    unknown = "XS20990101-0001"
    assert api(settings, f"/appeals/{unknown}/merge", {"into": main}).status_code == 404
    refused = api(settings, f"/appeals/{main}/merge", {"into": unknown})
    assert refused.status_code == 404 and unknown in refused.json()["errors"]["into"][0]
    itself = api(settings, f"/appeals/{main}/merge", {"into": main})
    assert itself.status_code == 400 and "自身" in itself.json()["errors"]["into"][0]
    # An appeal a unit is handling is not at the centre's review.
    other = appeals.submit(**SAME_MATTER)
    appeals.task(other, "fengcheng01", "Task_SignForAppeal")
    handling = api(settings, f"/appeals/{other}/merge", {"into": main})
    assert handling.status_code == 409 and "待审核" in handling.json()["errors"]["number"][0]
    # Not into a closed appeal (answered on the call), nor one not yet accepted.
    answered = appeals.submit(kind="inquiry", answeredOnCall=True, answer="物业费标准请见县发改委公告",
                              title="物业费标准", content="想问问物业费的收费标准是多少")
    appeals.closed(answered)
    waiting = appeals.submit(**SAME_MATTER, **AT_DISPATCH_REVIEW)
    appeals.task(waiting, "hotline01", "Task_ReviewDispatch")
    closed = api(settings, f"/appeals/{waiting}/merge", {"into": answered})
    assert closed.status_code == 409 and "已办结" in closed.json()["errors"]["into"][0]
    excluded = appeals.submit(content="我和邻居的房屋买卖合同纠纷已经向法院起诉了, 想让热线督促法院尽快判决")
    appeals.task(excluded, "hotline01", "Task_ReviewIntake")
    not_accepted = api(settings, f"/appeals/{waiting}/merge", {"into": excluded})
    assert not_accepted.status_code == 409
    assert "尚未受理" in not_accepted.json()["errors"]["into"][0]
    # No chains: not into a merged appeal, and an appeal others joined is not merged in turn.
    assert api(settings, f"/appeals/{waiting}/merge", {"into": main}).status_code == 202
    chained = api(settings, f"/appeals/{excluded}/merge", {"into": waiting})
    assert chained.status_code == 409 and f"已并入 {main}" in chained.json()["errors"]["into"][0]
    joined = api(settings, f"/appeals/{main}/merge", {"into": other})
    assert joined.status_code == 409 and "并入" in joined.json()["errors"]["number"][0]
    twice = api(settings, f"/appeals/{waiting}/merge", {"into": other})
    assert twice.status_code == 409 and f"已并入 {main}" in twice.json()["errors"]["number"][0]


def test_the_desk_refuses_a_merge_into_an_unknown_appeal_naming_the_field(hotline):
    response = desk_post(hotline, "/desk/appeals", INTAKE_APPEAL | {
        "callerPhone": unique_phone(), "mergeInto": "XS20990101-0001"})
    assert response.status_code == 404
    assert "XS20990101-0001" in response.json()["errors"]["mergeInto"][0]
    wrong = desk_post(hotline, "/desk/appeals", INTAKE_APPEAL | {"mergeInto": 7})
    assert wrong.status_code == 400 and "工单编号" in wrong.json()["errors"]["mergeInto"][0]


# -- the desk in Chromium --------------------------------------------------------------------------

def test_the_agent_merges_a_call_into_a_similar_open_appeal_from_the_desk(
        console_page, settings, appeals, engine, screenshot):
    main = appeals.submit(**DESK_MATTER)
    appeals.task(main, "fengcheng01", "Task_SignForAppeal")
    page = console_page("hotline01")
    page.goto(f"{settings.console_url}/desk/")
    page.get_by_label("诉求类型").select_option("complaint")
    page.get_by_label("诉求分类").select_option("construction.propertyService")
    page.get_by_label("标题").fill(DESK_MATTER["title"])
    page.get_by_label("诉求内容").fill(DESK_MATTER["content"])
    page.get_by_label("所属乡镇").select_option("fengcheng")
    page.get_by_label("联系电话").fill(unique_phone())
    similar = page.locator("#p-similar li", has_text=main)
    similar.get_by_role("button", name="并案").click()
    page.locator("#merge-into").get_by_text(main).wait_for()
    screenshot(page, "desk-merge-chosen", full_page=True)
    page.get_by_role("button", name="提交并并案").click()
    page.locator("#result").get_by_text(f"已并入工单 {main}").wait_for(timeout=30_000)
    screenshot(page, "desk-merged", full_page=True)
    merged = page.locator("#result").inner_text().split("，")[1].split()[-1]
    ended(engine, merged, "Task_NotifyMerged")
    assert appeals.status(merged)["variables"]["mergedInto"] == main

    # An appeal waiting at 审核派单 (no township found), opened on the desk: the agent names the
    # township, and the similar open appeal can be chosen.
    waiting = appeals.submit(**DESK_MATTER, **AT_DISPATCH_REVIEW)
    appeals.task(waiting, "hotline01", "Task_ReviewDispatch")
    page.get_by_label("待审核工单并案").fill(waiting)
    page.get_by_role("button", name="打开", exact=True).click()
    page.locator("#review").get_by_text(waiting).wait_for()
    # The desk's script fills the form from the appeal once the page has loaded: wait for it.
    expect(page.get_by_label("标题")).to_have_value(DESK_MATTER["title"])
    page.get_by_label("所属乡镇").select_option("fengcheng")
    page.locator("#p-similar li", has_text=main).get_by_role("button", name="并案").click()
    page.locator("#review-result").get_by_text(f"已并入工单 {main}").wait_for(timeout=30_000)
    screenshot(page, "desk-review-merged", full_page=True)
    assert appeals.status(waiting)["variables"]["mergedInto"] == main
