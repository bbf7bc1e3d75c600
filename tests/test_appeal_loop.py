"""The closed loop on the real engine, each step worked by the responsible unit's demo user:
受理 → 派单 → 办理 → 答复 → 办结 → 回访 → 评价."""
import pytest
from external_tasks.appeal import APPEAL_PROCESS

from tests.appeal_driver import unique_phone
from tests.conftest import wait_until



def test_complaint_end_to_end_with_co_unit(appeals):
    phone = unique_phone()
    number = appeals.submit(callerPhone=phone)
    sign = appeals.task(number, "fengcheng01", "Task_SignForAppeal")
    lead_view = appeals.task_variables("fengcheng01", sign)
    assert lead_view["callerPhone"]["value"] == phone  # the lead unit may call back

    appeals.handle_to_reply(number)
    assist = appeals.task(number, "housing01", "Task_AssistAppeal")
    co_view = appeals.task_variables("housing01", assist)
    assert "callerPhone" not in co_view and co_view["callerPhoneMasked"]["value"] == "139****5678"
    appeals.work(number, "housing01", "Task_AssistAppeal", assistOpinion="已督促物业企业整改, 纳入信用考评")

    reply = appeals.task(number, "fengcheng01", "Task_ReplyAppeal")
    opinions = appeals.task_variables("fengcheng01", reply)["assistOpinionsText"]["value"]
    assert opinions == "县住建局: 已督促物业企业整改, 纳入信用考评"  # the co-unit's opinion reached the lead
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal",
                 replyText="经街道协调, 物业已于11月29日清理完毕并建立每日巡查制度。", solved=True)
    appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)
    appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                 evaluation="satisfied", solvedConfirmed=True, callbackNote="诉求人表示满意")

    status = appeals.closed(number)
    assert status["closedAs"] == "completed"
    assert status["evaluation"] == "satisfied"
    assert status["leadUnit"] == "fengcheng" and status["coUnits"] == ["housing"]
    assert status["variables"]["callerPhoneMasked"] == "139****5678"
    assert phone not in str(status)
    steps = [entry["step"] for entry in status["timeline"]]
    for step in ("登记工单", "核查受理范围", "计算办理时限", "签收工单", "办理工单并首次反馈",
                 "提出协办意见", "汇总协办意见", "答复工单", "审核答复", "回访诉求人", "诉求已办结"):
        assert step in steps, step


def test_inquiry_answered_on_the_call_is_closed_and_counted(appeals):
    number = appeals.submit(kind="inquiry", answeredOnCall=True,
                            answer="社保卡补办可携带身份证到县政务服务中心人社窗口办理。")
    status = appeals.closed(number)
    assert status["closedAs"] == "answered_on_call"
    assert status["variables"]["answer"].startswith("社保卡补办")


def test_litigation_matter_is_excluded_after_review(appeals):
    number = appeals.submit(content="我和邻居的房屋买卖合同纠纷已经向法院起诉了, 想让热线督促法院尽快判决")
    review = appeals.task(number, "hotline01", "Task_ReviewIntake")
    shown = appeals.task_variables("hotline01", review)
    assert shown["scopeFlag"]["value"] == "excluded"
    assert shown["scopeReferral"]["value"]
    appeals.work(number, "hotline01", "Task_ReviewIntake", intakeDecision="exclude",
                 intakeNote="已进入诉讼程序, 告知诉求人通过法院渠道解决")
    status = appeals.closed(number)
    assert status["closedAs"] == "excluded"
    assert status["variables"]["scopeReason"]


def test_emergency_is_flagged_and_transferred(appeals):
    number = appeals.submit(title="楼下着火了", content="小区3号楼一楼着火了, 有浓烟冒出, 请赶快来人")
    review = appeals.task(number, "hotline01", "Task_ReviewIntake")
    assert appeals.task_variables("hotline01", review)["scopeFlag"]["value"] == "emergency"
    appeals.work(number, "hotline01", "Task_ReviewIntake", intakeDecision="emergency",
                 intakeNote="已三方转接119")
    assert appeals.closed(number)["closedAs"] == "transferred_emergency"


def test_unknown_location_goes_to_manual_dispatch(appeals):
    number = appeals.submit(township=None, address="某小区", content="小区物业乱收停车费, 要求退还")
    review = appeals.task(number, "hotline01", "Task_ReviewDispatch")
    assert appeals.task_variables("hotline01", review)["routingNote"]["value"]
    appeals.work(number, "hotline01", "Task_ReviewDispatch", leadUnit="longhe", coUnits=["housing"],
                 difficulty="ordinary", urgency="normal")
    appeals.task(number, "longhe01", "Task_SignForAppeal")
    assert appeals.status(number)["leadUnit"] == "longhe"


def test_improper_return_comes_back_and_proper_return_is_redispatched(appeals):
    number = appeals.submit()
    appeals.work(number, "fengcheng01", "Task_SignForAppeal", signDecision="return",
                 returnReason="该小区不在本街道辖区范围内")
    appeals.work(number, "hotline01", "Task_ReviewReturn", returnImproper=True,
                 returnReviewNote="地址属于凤城街道, 退单理由不成立")
    appeals.work(number, "fengcheng01", "Task_SignForAppeal", signDecision="return",
                 returnReason="经核实该小区属龙河街道管辖")
    appeals.work(number, "hotline01", "Task_ReviewReturn", returnImproper=False, newLeadUnit="longhe",
                 returnReviewNote="核实属实, 改派龙河街道")
    appeals.task(number, "longhe01", "Task_SignForAppeal")
    variables = appeals.status(number)["variables"]
    assert variables["returnCount"] == 2
    assert variables["improperReturnCount"] == 1
    assert [(record["unit"], record["reason"], record["improper"])
            for record in variables["returnRecords"]] == [
        ("fengcheng", "该小区不在本街道辖区范围内", True), ("fengcheng", "经核实该小区属龙河街道管辖", False)]
    assert appeals.status(number)["leadUnit"] == "longhe"


def test_reply_sent_back_by_review_is_answered_again(appeals):
    number = appeals.submit()
    appeals.handle_to_reply(number)
    appeals.work(number, "housing01", "Task_AssistAppeal", assistOpinion="配合督促物业整改到位")
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal", replyText="已处理, 请知悉, 谢谢理解。",
                 solved=True)
    appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=False,
                 reviewComment="答复过于简单, 请写明处理时间和结果")
    reply = appeals.task(number, "fengcheng01", "Task_ReplyAppeal")
    assert appeals.task_variables("fengcheng01", reply)["reviewComment"]["value"].startswith("答复过于简单")
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal",
                 replyText="11月29日街道督促物业清理垃圾12车, 并设置分类投放点, 已恢复整洁。", solved=True)
    appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)
    appeals.task(number, "hotline01", "Task_CallbackCaller")


def test_unsatisfied_reasonable_is_redispatched_then_satisfied(appeals):
    number = appeals.submit()
    for round_ in (1, 2):
        appeals.reply_approved(number, f"第{round_}次办理: 已督促物业清理并建立巡查制度。")
        if round_ == 1:
            appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                         evaluation="unsatisfied", solvedConfirmed=False, reasonable=True,
                         nextStep="redispatch", callbackNote="诉求人反映垃圾仍未清理")
            sign = appeals.task(number, "fengcheng01", "Task_SignForAppeal")
            assert appeals.task_variables("fengcheng01", sign)["callbackNote"]["value"] == \
                "诉求人反映垃圾仍未清理"
            # 二次交办 comes with a level-1 supervision order from the hotline centre
            appeals.supervise(number, "hotline01", "fengcheng01", verdict="resolved")
    appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                 evaluation="basically_satisfied", solvedConfirmed=True, callbackNote="基本满意")
    status = appeals.closed(number)
    assert status["closedAs"] == "completed"
    assert status["variables"]["redispatchCount"] == 1


def test_unsatisfied_goes_to_media_on_site_supervision(appeals):
    number = appeals.submit()
    appeals.reply_approved(number, "已督促物业限期整改到位。", solved=False)
    appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                 evaluation="unsatisfied", solvedConfirmed=False, reasonable=True, nextStep="media",
                 callbackNote="多次反映仍未解决")
    supervise = appeals.task(number, "media01", "Task_SuperviseOnSite")
    assert "callerPhone" not in appeals.task_variables("media01", supervise)
    appeals.work(number, "media01", "Task_SuperviseOnSite",
                 mediaSupervisedAt="2026-12-01T09:30:00+08:00",
                 mediaSupervisionResult="栏目组现场督办, 物业当场清运并承诺每日清理")
    appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                 evaluation="satisfied", solvedConfirmed=True, callbackNote="督办后满意")
    assert appeals.closed(number)["closedAs"] == "completed"


def test_caller_unreachable_after_the_configured_tries(appeals):
    number = appeals.submit()
    appeals.reply_approved(number, "已督促物业清理完毕。")
    for attempt in (1, 2, 3):
        appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=False,
                     callbackNote=f"第{attempt}次回访无人接听")
        if attempt < 3:
            appeals.fire_timer(number, "Event_CallbackRetryDue")
    status = appeals.closed(number)
    assert status["closedAs"] == "not_reached"
    assert status["variables"]["callbackAttempts"] == 3


def test_missed_sign_for_deadline_marks_the_appeal_overdue(appeals):
    number = appeals.submit()
    appeals.task(number, "fengcheng01", "Task_SignForAppeal")
    appeals.fire_timer(number, "Event_SignForOverdue")
    status = wait_overdue(appeals, number)
    assert status["overdue"] is True
    assert appeals.task(number, "fengcheng01", "Task_SignForAppeal")  # still to be done


def wait_overdue(appeals, number):
    return wait_until(lambda: (status := appeals.status(number))["overdue"] and status,
                      what="the overdue flag")


@pytest.mark.parametrize("change, field", [
    ({"content": None}, "content"),
    ({"content": "长" * 5000}, "content"),
    ({"kind": "chat"}, "kind"),
    ({"callerPhone": "12345"}, "callerPhone"),
    ({"township": "atlantis"}, "township"),
    ({"important": "yes please"}, "important"),
    ({"title": 42}, "title"),
])
def test_bad_intake_is_refused_naming_the_field_and_starts_nothing(appeals, engine, change, field):
    payload = {"kind": "complaint", "categoryCode": "construction.propertyService",
               "title": "路灯不亮", "content": "村口路灯坏了一个月", "township": "fengcheng",
               "callerPhone": "13912345678"}
    payload = {key: value for key, value in (payload | change).items() if value is not None}
    before = engine.get("/history/process-instance/count", processDefinitionKey=APPEAL_PROCESS)
    response = appeals.post(payload)
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert list(errors) == [field], errors
    assert "「" in errors[field][0]  # the message names the field by its label
    after = engine.get("/history/process-instance/count", processDefinitionKey=APPEAL_PROCESS)
    assert after == before


def test_api_requires_the_token(appeals):
    assert appeals.post({}, token="wrong").status_code == 401


def test_hotline_agent_registers_an_appeal_with_the_start_form(appeals, as_user, engine):
    from console.form_schema import form_schema
    from external_tasks.camunda import EngineError, to_typed_map

    agent = as_user("hotline01")
    definition = agent.get("/process-definition/key/hotline_appeal")
    values = form_schema("appeal_intake").load({
        "kind": "help", "categoryCode": "construction.propertyService", "title": "楼道灯坏了",
        "content": "家住龙河街道某小区, 楼道灯坏了两周, 老人夜里出行不便", "township": "longhe",
        "callerPhone": "13700001111", "receivedAt": "2026-11-20T09:15:00+08:00",
        "channel": "transfer"})
    started = agent.post(f"/process-definition/{definition['id']}/submit-form",
                         {"variables": to_typed_map(values)})
    number = wait_for_number(engine, started["id"])
    appeals.task(number, "longhe01", "Task_SignForAppeal")
    status = appeals.status(number)
    assert status["variables"]["receivedAt"] == "2026-11-20T09:15:00+08:00"  # the original time
    # Received on a Friday: one working day for sign-for ends on Monday.
    assert status["deadlines"]["signFor"] == "2026-11-23T23:59:59+08:00"
    with pytest.raises(EngineError):  # a department cannot register appeals
        as_user("housing01").post(f"/process-definition/{definition['id']}/submit-form",
                                  {"variables": to_typed_map(values)})


def wait_for_number(engine, instance_id):
    return wait_until(lambda: engine.get("/process-instance", processInstanceIds=instance_id)[0]
                      .get("businessKey"), what="the appeal number")


def test_confidential_appeal_hides_the_caller_from_every_unit(appeals):
    phone = unique_phone()
    number = appeals.submit(confidential=True, callerPhone=phone)
    sign = appeals.task(number, "fengcheng01", "Task_SignForAppeal")
    lead_view = appeals.task_variables("fengcheng01", sign)
    assert lead_view["callerPhone"]["value"] == "（保密）"
    assert lead_view["callerName"]["value"] == "（保密）"
    appeals.handle_to_reply(number)
    assist = appeals.task(number, "housing01", "Task_AssistAppeal")
    co_view = appeals.task_variables("housing01", assist)
    assert co_view["callerPhoneMasked"]["value"] == "（保密）"
    assert phone not in str(lead_view) + str(co_view)


def test_reminder_before_the_deadline_notifies_the_lead_unit(appeals, engine):
    number = appeals.submit()
    appeals.task(number, "fengcheng01", "Task_SignForAppeal")
    appeals.fire_timer(number, "Event_SignForReminderDue")

    def reminded():
        return [activity for activity in engine.get(
                    "/history/activity-instance", activityId="Task_RemindSignFor", finished="true")
                if appeals._belongs_instance(activity["processInstanceId"], number)]

    wait_until(reminded, what="the sign-for reminder to be sent")
    assert appeals.status(number)["overdue"] is False  # a reminder is not a missed deadline


def test_second_appeal_from_the_same_phone_is_repeated_and_important(appeals):
    phone = unique_phone()
    first = appeals.submit(callerPhone=phone)
    appeals.task(first, "fengcheng01", "Task_SignForAppeal")
    second = appeals.submit(callerPhone=phone, title="物业仍不清理垃圾")
    appeals.task(second, "fengcheng01", "Task_SignForAppeal")
    variables = appeals.status(second)["variables"]
    assert variables["repeatedAppeal"] is True and variables["repeatedOf"] == [first]
    assert variables["important"] is True
    assert appeals.status(first)["variables"]["repeatedAppeal"] is False
