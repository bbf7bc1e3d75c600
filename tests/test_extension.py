"""延期 on the real engine: the lead unit asks for more working days before the completion
deadline, the hotline centre approves or rejects, and the deadline and the unit's timers move."""
import datetime as dt

from external_tasks.deadlines import extended_deadline
from admin_data.workdays import SHANGHAI, WorkdayCalendar
from tests.conftest import wait_until


def ask(appeals, number, days):
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal", replyAction="extension",
                 extensionDays=days, extensionReason="需协调物业企业更换, 涉及业主大会表决, 时间较长")


def completion_timer_due(appeals, number) -> dt.datetime:
    definitions = appeals.engine.get("/job-definition", activityIdIn="Event_CompletionOverdue")
    for definition in definitions:
        for job in appeals.engine.get("/job", jobDefinitionId=definition["id"]):
            if appeals._belongs(job, number):
                return dt.datetime.fromisoformat(job["dueDate"].replace("+0000", "+00:00"))
    raise AssertionError(f"no completion timer for {number}")


def refusal_shown(appeals, number) -> str:
    def shown():
        reply = appeals.task(number, "fengcheng01", "Task_ReplyAppeal")
        return appeals.task_variables("fengcheng01", reply).get("extensionRefusal", {}).get("value")
    return wait_until(shown, what="the refusal on the reply form")


def test_approved_extension_moves_the_deadline_and_the_timer(appeals):
    number = appeals.submit()
    appeals.to_reply(number)
    before = appeals.status(number)["deadlines"]["completion"]
    ask(appeals, number, 5)
    review = appeals.task(number, "hotline01", "Task_ReviewExtension")
    proposed = appeals.task_variables("hotline01", review)["extensionProposedDeadline"]["value"]
    expected = extended_deadline(before, 5, WorkdayCalendar.from_file())
    assert dt.datetime.fromisoformat(proposed) == expected
    appeals.work(number, "hotline01", "Task_ReviewExtension", extensionGranted=True,
                 extensionDecisionNote="理由充分, 同意延期5个工作日")
    appeals.task(number, "fengcheng01", "Task_ReplyAppeal")
    status = wait_until(lambda: (s := appeals.status(number))["variables"].get("extensionApproved")
                        and s, what="the extension to be recorded")
    assert dt.datetime.fromisoformat(status["deadlines"]["completion"]) == expected
    assert status["variables"]["originalCompletionDeadline"] == before
    assert status["variables"]["extensionDaysTotal"] == 5
    assert completion_timer_due(appeals, number) == expected  # overdue only after the new one
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal",
                 replyText="经协调, 业主大会已表决更换物业, 新物业已进场清理。", solved=True)
    appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)
    appeals.task(number, "hotline01", "Task_CallbackCaller")
    assert appeals.status(number)["overdue"] is False


def test_rejected_extension_keeps_the_deadline(appeals):
    number = appeals.submit()
    appeals.to_reply(number)
    before = appeals.status(number)["deadlines"]["completion"]
    ask(appeals, number, 3)
    appeals.work(number, "hotline01", "Task_ReviewExtension", extensionGranted=False,
                 extensionDecisionNote="该事项可在原时限内办结, 不同意延期")
    reply = appeals.task(number, "fengcheng01", "Task_ReplyAppeal")
    shown = appeals.task_variables("fengcheng01", reply)
    assert shown["extensionDecisionNote"]["value"].startswith("该事项可在原时限内办结")
    assert appeals.status(number)["deadlines"]["completion"] == before
    assert "extensionApproved" not in appeals.status(number)["variables"]


def test_extension_beyond_the_maximum_is_refused_with_the_reason(appeals):
    number = appeals.submit()
    appeals.to_reply(number)
    ask(appeals, number, 11)
    assert "应为 1 到 10 之间的整数个工作日" in refusal_shown(appeals, number)


def test_extension_after_the_deadline_is_refused_with_the_reason(appeals):
    received = (dt.datetime.now(SHANGHAI) - dt.timedelta(days=40)).replace(microsecond=0)
    number = appeals.submit(receivedAt=received.isoformat())
    appeals.to_reply(number)
    ask(appeals, number, 2)
    assert "现已超过时限" in refusal_shown(appeals, number)


def test_second_extension_is_refused_when_one_is_allowed(appeals):
    number = appeals.submit()
    appeals.to_reply(number)
    ask(appeals, number, 2)
    appeals.work(number, "hotline01", "Task_ReviewExtension", extensionGranted=True,
                 extensionDecisionNote="同意")
    appeals.task(number, "fengcheng01", "Task_ReplyAppeal")
    wait_until(lambda: appeals.status(number)["variables"].get("extensionApproved"),
               what="the first extension")
    ask(appeals, number, 2)
    assert "最多 1 次" in refusal_shown(appeals, number)


def test_extension_is_counted_in_working_days_across_a_holiday():
    # 2026 National Day: 10.1–10.7 off, Saturday 10.10 a make-up working day (chinesecalendar).
    calendar = WorkdayCalendar.from_file()
    deadline = dt.datetime(2026, 9, 29, 23, 59, 59, tzinfo=SHANGHAI)
    # 9.30 (1), 10.8 (2), 10.9 (3), 10.10 Saturday make-up day (4), 10.12 (5)
    assert extended_deadline(deadline, 5, calendar) == \
        dt.datetime(2026, 10, 12, 23, 59, 59, tzinfo=SHANGHAI)
