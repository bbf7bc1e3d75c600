"""Topic `send-duty-digest` (发送领导接听件日报): the duty leaders' daily digest.

`bpmn/hotline_duty_digest.bpmn` runs every day at 10:30 Asia/Shanghai (hotline.yaml
`daily.duty_digest`, the time `plan-daily-run` sets as `runAt`), after the default 09:00–10:00
duty slot. The digest covers the latest duty day: the most recent roster date with a slot that
had ended at that run time. On a day without slots that is the previous duty day, whose digests
went out already, so nothing is sent; after an outage the missed day is still covered. A slot
that ends after the run time is only covered if no later day has an ended slot by the next run:
move the time in the hotline settings if the roster has afternoon slots.

Recipients: every leader with an ended slot that day, and every leader an appeal of that day
names as its duty leader. Each gets one message listing the leader-received appeals received
that day (number, receipt time, title, township, lead unit, current state, caller masked). A
duty leader who received none gets the digest too, saying so: a leader and the hotline centre
can then tell "no appeals" from "no digest". Leaders not on duty get nothing.

The idempotency scope is the duty day (`duty-digest:<day>`), not the process instance: a task
delivered twice, or a second digest process on the same day, sends nothing twice.
"""
from __future__ import annotations

import datetime as dt

from admin_data.directory import Directory
from admin_data.duty_roster import ROSTER, DutySlot
from connectors import summary
from connectors.templates import message_fields
from external_tasks import appeal
from external_tasks.camunda import EngineClient, LockedTask
from external_tasks.daily_run import process_started
from external_tasks.deadlines import parse_time
from external_tasks.notify import UNDELIVERABLE, current_notifier
from external_tasks.runtime import TaskRouter

router = TaskRouter()

TEMPLATE = "leader_duty_digest"
#: What a digest line shows; callerName/callerPhone only to be masked by `message_fields`.
APPEAL_VARIABLES = ("appealNumber", "title", "township", "leadUnit", "receivedAt", "dutyLeader",
                    *appeal.CALLER)
NO_APPEALS = "（坐班期间未接听诉求）"


def latest_duty_day(moment: dt.datetime, roster: tuple[DutySlot, ...]) -> dt.date | None:
    """The most recent roster date with a slot ended by `moment` (Shanghai dates)."""
    return max((slot.start.date() for slot in roster if slot.end <= moment), default=None)


def leaders_on_duty(day: dt.date, moment: dt.datetime, roster: tuple[DutySlot, ...]) -> list[str]:
    """The leaders whose slot on `day` had ended by `moment`, in slot order."""
    return list(dict.fromkeys(slot.leader for slot in sorted(roster, key=lambda slot: slot.start)
                              if slot.start.date() == day and slot.end <= moment))


def _current_state(engine: EngineClient, root: dict) -> str:
    """已办结 / 已终止 / 办理中 with the open steps of the appeal and its unit processes."""
    if root["state"] == "COMPLETED":
        return "已办结"
    if root["state"].endswith("TERMINATED"):
        return "已终止"
    active = [instance["id"] for instance in appeal.family(engine, root["businessKey"])
              if instance["state"] == "ACTIVE"]
    steps = [activity["activityName"] or activity["activityId"] for activity in
             appeal.activities(engine, active, unfinished="true", activityType="userTask")]
    return "办理中：" + "、".join(dict.fromkeys(steps)) if steps else "办理中"


def leader_received_appeals(engine: EngineClient, day: dt.date) -> list[dict]:
    """The leader-received appeals with a receipt time on `day`, oldest first: each appeal's
    variables (`APPEAL_VARIABLES`) plus `state`."""
    instances = engine.post("/history/process-instance", {
        "processDefinitionKey": appeal.APPEAL_PROCESS,
        "variables": [{"name": "leaderReceived", "operator": "eq", "value": True},
                      # receivedAt is stored as Shanghai local time with its offset
                      {"name": "receivedAt", "operator": "like", "value": f"{day.isoformat()}T%"}]})
    if not instances:
        return []
    variables = appeal.variables_by_instance(
        engine, [instance["id"] for instance in instances], APPEAL_VARIABLES)
    appeals = [variables[instance["id"]] | {"state": _current_state(engine, instance)}
               for instance in instances]
    return sorted(appeals, key=lambda found: found["receivedAt"])


def appeal_line(position: int, received_appeal: dict, directory: Directory) -> str:
    shown = message_fields(received_appeal, directory, audience="unit")
    received = dt.datetime.fromisoformat(received_appeal["receivedAt"]).strftime("%H:%M")
    return (f"{position}. {received} {shown['appealNumber']}｜{shown['title']}｜{shown['township']}"
            f"｜牵头：{shown.get('leadUnitName', '待派单')}｜{received_appeal['state']}"
            f"｜来电人：{shown['caller']}")


def digest_fields(day: dt.date, appeals: list[dict], directory: Directory) -> dict[str, str]:
    """The leader template's placeholders for one leader's appeals of `day` (the notifier adds
    the leader's name)."""
    lines = [appeal_line(position, received, directory)
             for position, received in enumerate(appeals, start=1)]
    return {"digestDay": f"{day.year}年{day.month}月{day.day}日",
            "appealCount": str(len(appeals)),
            "appealList": "\n".join(lines) or NO_APPEALS}


# Fix the roster, directory or notifications.yaml, then retry the incident in Cockpit; digests
# that went out already are not sent again.
@router.task("send-duty-digest", incident_on=UNDELIVERABLE)
def send_duty_digest(task: LockedTask, engine: EngineClient, runAt: str | None = None):
    # The day follows from when the run was due (hotline.yaml daily.duty_digest), not from when
    # this task happens to run; an instance started before runAt existed: its start.
    started = parse_time(runAt, "runAt") if runAt else process_started(task, engine)
    roster = ROSTER.current()
    day = latest_duty_day(started, roster)
    if day is None:
        return {"digestDay": "", "digestLeaders": 0, "lastNotification": "无已结束的坐班"}
    appeals = leader_received_appeals(engine, day)
    leaders = list(dict.fromkeys(leaders_on_duty(day, started, roster)
                                 + [received["dutyLeader"] for received in appeals]))
    notifier = current_notifier()
    directory = notifier.config.directory
    deliveries = notifier.notify_leaders(TEMPLATE, {
        leader: digest_fields(day, [received for received in appeals
                                    if received["dutyLeader"] == leader], directory)
        for leader in leaders}, scope=f"duty-digest:{day.isoformat()}")
    return {"digestDay": day.isoformat(), "digestLeaders": len(leaders),
            "lastNotification": summary(TEMPLATE, deliveries)}
