"""1+X 会商 on the real engine: the lead unit (or the hotline centre) opens a consultation on a
hard case, three departments give opinions in parallel, the lead unit records the minute and
the outcome: solved, a plan with a date, or explanation to the caller (closed as 解释说明)."""
import pytest


DEPARTMENTS = {"housing": "县住建局", "urbanmgmt": "县城管局", "market": "县市场监管局"}


def consult(appeals, number, opener, outcome, **decision):
    appeals.work(number, opener, "Task_OpenConsultation", consultationKind="legacy",
                 consultedUnits=list(DEPARTMENTS),
                 consultationQuestion="小区建成于1998年, 无物业、无维修资金, 垃圾清运责任主体不明")
    for unit in DEPARTMENTS:
        appeals.work(number, f"{unit}01", "Task_GiveConsultationOpinion",
                     consultationOpinion=f"{DEPARTMENTS[unit]}意见: 同意纳入老旧小区整治, 本部门配合")
    decide = appeals.task(number, "fengcheng01", "Task_DecideConsultation")
    opinions = appeals.task_variables("fengcheng01", decide)["consultationOpinionsText"]["value"]
    assert all(f"{name}: {name}意见" in opinions for name in DEPARTMENTS.values()), opinions
    appeals.work(number, "fengcheng01", "Task_DecideConsultation",
                 consultationMinute="一事一议: 街道牵头, 住建、城管、市场监管配合, 先行清运垃圾",
                 consultationOutcome=outcome, **decision)


@pytest.mark.parametrize("outcome, decision", [
    ("solved", {}),
    ("planned", {"consultationPlanDate": "2027-03-31"}),
])
def test_lead_unit_consultation_then_reply(appeals, outcome, decision):
    number = appeals.submit()
    appeals.to_reply(number)
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal", replyAction="consultation")
    consult(appeals, number, "fengcheng01", outcome, **decision)
    reply = appeals.task(number, "fengcheng01", "Task_ReplyAppeal")
    shown = appeals.task_variables("fengcheng01", reply)
    assert shown["consultationMinute"]["value"].startswith("一事一议")
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal",
                 replyText="经1+X会商, 已明确由街道牵头清运并纳入整治计划。", solved=outcome == "solved")
    appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)
    appeals.task(number, "hotline01", "Task_CallbackCaller")
    variables = appeals.status(number)["variables"]
    assert variables["consultationOutcome"] == outcome
    assert variables.get("consultationPlanDate") == decision.get("consultationPlanDate")
    steps = [(entry["process"], entry["step"]) for entry in appeals.status(number)["timeline"]]
    assert ("1+X会商", "形成会商纪要") in steps
    assert sum(step == ("1+X会商", "提出会商意见") for step in steps) == 3


def test_hotline_centre_opens_consultation_and_appeal_closes_as_explained(appeals):
    number = appeals.submit()
    appeals.to_reply(number)
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal",
                 replyText="该问题涉及历史遗留, 暂无法解决。", solved=False)
    appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=False, openConsultation=True,
                 reviewComment="答复未解决问题, 由热线中心发起1+X会商")
    consult(appeals, number, "hotline01", "explained",
            consultationExplanation="已向诉求人说明历史原因及整治计划, 诉求人情绪平稳, 表示理解",
            toleranceFlag=True, toleranceNote="历史遗留问题, 承办人员已尽责")
    status = appeals.closed(number)
    assert status["closedAs"] == "explained"
    assert status["variables"]["toleranceFlag"] is True
    assert status["variables"]["consultationExplanation"].startswith("已向诉求人说明")


def test_consultation_decision_needs_what_its_outcome_requires():
    from console.form_schema import form_schema
    from marshmallow import ValidationError

    with pytest.raises(ValidationError) as refused:
        form_schema("consultation_decision").load({
            "consultationMinute": "一事一议: 暂不能解决", "consultationOutcome": "explained"})
    assert "consultationExplanation" in refused.value.messages
    with pytest.raises(ValidationError) as refused:
        form_schema("consultation_decision").load({
            "consultationMinute": "一事一议: 制定计划", "consultationOutcome": "planned",
            "consultationPlanDate": "明年春天"})
    assert "日期" in refused.value.messages["consultationPlanDate"][0]
