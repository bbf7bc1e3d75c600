"""三级督办 on the real engine: each trigger, each level, escalation 1 → 2 → 3 with deputies'
opinions, the escalation timer, supervision on request and its refusals."""
import pytest

from tests.conftest import wait_until
from tests.helpers import LEADER_OF_FENGCHENG, request_supervision

#: 副县长(分管城乡建设) has 凤城街道 in `in_charge_of` (admin_data/files/directory.yaml).


def supervisions(appeals, number, count=1, finished=True):
    """The appeal's supervisions once `count` of them exist (and have ended)."""
    def ready():
        found = appeals.status(number)["supervisions"]
        done = all(item["state"] == "COMPLETED" for item in found) or not finished
        return len(found) == count and done and found
    return wait_until(ready, what=f"{count} supervision(s) of {number}")


def order_shown(appeals, number, user):
    order = appeals.task(number, user, "Task_IssueSupervisionOrder")
    return {key: item["value"] for key, item in appeals.task_variables(user, order).items()}




@pytest.mark.parametrize("timer, trigger", [
    ("Event_SignForOverdue", "sign_for_overdue"),
    ("Event_FeedbackOverdue", "feedback_overdue"),
    ("Event_CompletionOverdue", "completion_overdue"),
])
def test_missed_deadline_gets_a_level_one_order(appeals, timer, trigger):
    number = appeals.submit()
    appeals.task(number, "fengcheng01", "Task_SignForAppeal")
    if timer != "Event_SignForOverdue":
        appeals.work(number, "fengcheng01", "Task_SignForAppeal", signDecision="accept")
        appeals.task(number, "fengcheng01", "Task_HandleAppeal")
    appeals.fire_timer(number, timer)
    shown = order_shown(appeals, number, "hotline01")
    assert shown["supervisionLevelName"].startswith("一级督办")
    assert shown["supervisionTriggerName"].startswith(("承办单位超时", "工单超期"))
    assert "callerPhone" not in shown and shown["callerPhoneMasked"] == "139****5678"
    appeals.supervise(number, "hotline01", "fengcheng01", verdict="resolved")
    [supervision] = supervisions(appeals, number)
    assert (supervision["levels"], supervision["trigger"], supervision["verdict"]) == \
        ([1], trigger, "resolved")
    steps = [(entry["process"], entry["step"]) for entry in appeals.status(number)["timeline"]]
    for step in ("拟定督办单", "签发督办单", "反馈督办单", "评定督办结果", "督办已办结"):
        assert ("三级督办", step) in steps, step


def test_important_appeal_overdue_on_completion_goes_to_level_two(appeals):
    number = appeals.submit(important=True)
    appeals.handle_to_reply(number)
    appeals.fire_timer(number, "Event_CompletionOverdue")
    assert order_shown(appeals, number, "inspection01")["supervisionLevelName"] == \
        "二级督办 · 县督查考核办"
    appeals.supervise(number, "inspection01", "fengcheng01", verdict="explained")
    [supervision] = supervisions(appeals, number)
    assert (supervision["levels"], supervision["verdict"]) == ([2], "explained")


def test_escalation_from_level_one_to_the_leader_with_deputies(appeals):
    number = appeals.submit()
    appeals.fire_timer(number, "Event_SignForOverdue")
    appeals.supervise(number, "hotline01", "fengcheng01", verdict="escalate")
    appeals.supervise(number, "inspection01", "fengcheng01", verdict="escalate")
    assert order_shown(appeals, number, LEADER_OF_FENGCHENG)["supervisionLevelName"] == \
        "三级督办 · 副县长(分管城乡建设)"
    appeals.work(number, LEADER_OF_FENGCHENG, "Task_IssueSupervisionOrder",
                 supervisionOrder="请街道牵头, 会同住建局三日内拿出整改方案",
                 inviteDeputies=True, invitedBodies=["congress", "cppcc"])
    appeals.work(number, "congress01", "Task_GiveDeputyOpinion",
                 deputyOpinion="建议将该小区纳入老旧小区改造计划")
    appeals.work(number, "cppcc01", "Task_GiveDeputyOpinion",
                 deputyOpinion="建议引入新的物业服务企业")
    appeals.work(number, "fengcheng01", "Task_RespondToSupervision",
                 supervisionResponse="已约谈物业企业, 垃圾已清运, 方案已报住建局")
    verdict = appeals.task(number, LEADER_OF_FENGCHENG, "Task_JudgeSupervision")
    opinions = appeals.task_variables(LEADER_OF_FENGCHENG, verdict)["deputyOpinionsText"]["value"]
    assert "县人大常委会办公室: 建议将该小区纳入老旧小区改造计划" in opinions
    assert "县政协办公室: 建议引入新的物业服务企业" in opinions
    appeals.work(number, LEADER_OF_FENGCHENG, "Task_JudgeSupervision",
                 supervisionVerdict="resolved", supervisionVerdictNote="方案可行, 按期落实")
    [supervision] = supervisions(appeals, number)
    assert (supervision["levels"], supervision["verdict"]) == ([1, 2, 3], "resolved")


def test_unanswered_order_escalates_when_its_period_ends(appeals):
    number = appeals.submit()
    appeals.fire_timer(number, "Event_SignForOverdue")
    appeals.work(number, "hotline01", "Task_IssueSupervisionOrder",
                 supervisionOrder="请立即签收并联系诉求人")
    appeals.task(number, "fengcheng01", "Task_RespondToSupervision")
    appeals.fire_timer(number, "Event_SupervisionResponseOverdue")
    assert order_shown(appeals, number, "inspection01")["supervisionLevelName"].startswith("二级督办")
    [supervision] = supervisions(appeals, number, finished=False)
    assert supervision["levels"] == [1, 2] and supervision["responseOverdue"] is True


def test_unsatisfied_reasonable_appeal_is_supervised_while_redispatched(appeals):
    number = appeals.submit()
    appeals.reply_approved(number, "已督促物业清理完毕并建立巡查制度。")
    appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                 evaluation="unsatisfied", solvedConfirmed=False, reasonable=True,
                 nextStep="redispatch", callbackNote="垃圾仍未清理")
    shown = order_shown(appeals, number, "hotline01")
    assert shown["supervisionTriggerName"] == "诉求人不满意且诉求合理"
    assert shown["callbackNote"] == "垃圾仍未清理"
    appeals.task(number, "fengcheng01", "Task_SignForAppeal")  # handled again, meanwhile
    appeals.supervise(number, "hotline01", "fengcheng01", verdict="resolved")
    [supervision] = supervisions(appeals, number)
    assert supervision["trigger"] == "unsatisfied_reasonable"


def test_hotline_centre_requests_leader_supervision_of_a_hard_case(appeals):
    number = appeals.submit()
    appeals.task(number, "fengcheng01", "Task_SignForAppeal")
    response = request_supervision(appeals, number, {"reason": "涉及多部门, 小区物业长期缺位, 属重大疑难件"})
    assert response.status_code == 202, response.text
    assert response.json() == {"appealNumber": number, "level": 3}
    shown = order_shown(appeals, number, LEADER_OF_FENGCHENG)
    assert shown["supervisionReason"] == "涉及多部门, 小区物业长期缺位, 属重大疑难件"
    appeals.supervise(number, LEADER_OF_FENGCHENG, "fengcheng01", verdict="resolved")
    [supervision] = supervisions(appeals, number)
    assert (supervision["levels"], supervision["trigger"]) == ([3], "requested")


def test_supervision_of_a_closed_appeal_is_refused(appeals):
    number = appeals.submit(kind="inquiry", answeredOnCall=True, answer="可到县政务服务中心办理。")
    appeals.closed(number)
    response = request_supervision(appeals, number, {"level": 1, "reason": "请核实答复是否准确"})
    assert response.status_code == 409
    assert "已办结" in response.json()["errors"]["number"][0]


@pytest.mark.parametrize("body, field, words", [
    ({"level": 4, "reason": "重大疑难件"}, "level", "1"),
    ({"level": "high", "reason": "重大疑难件"}, "level", "整数"),
    ({"level": 3}, "reason", "必填"),
    ({"reason": "急"}, "reason", "4 到 1000"),
])
def test_bad_supervision_requests_name_the_field(appeals, body, field, words):
    response = request_supervision(appeals, "XS20261127-9999", body)
    assert response.status_code == 400
    assert words in response.json()["errors"][field][0]


def test_supervision_of_an_unknown_appeal_is_not_found(appeals):
    response = request_supervision(appeals, "XS20260101-9999", {"reason": "重大疑难件请督办"})
    assert response.status_code == 404
