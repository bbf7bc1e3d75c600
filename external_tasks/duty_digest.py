"""Topic `send-duty-digest` (发送领导接听件日报): the duty leaders' daily digest.

`bpmn/hotline_duty_digest.bpmn` starts every day at 10:30 Asia/Shanghai, after the default
09:00–10:00 duty slot. The digest covers the latest duty day: the most recent roster date with a
slot that had ended when the digest process started. On a day without slots that is the previous
duty day, whose digests went out already, so nothing is sent; after an outage the missed day is
still covered. A slot that ends after the digest's start time is only covered if no later day
has an ended slot by the next start: move the timer if the roster has afternoon slots.

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

from connectors import ConfigError, DeliveryRejected, TemplateError, summary
from connectors.templates import message_fields
from deploy.directory import Directory
from external_tasks.camunda import EngineClient, LockedTask, from_typed, parse_engine_date
from external_tasks.duty_roster import DutySlot, RosterError, current_roster
from external_tasks.notify import current_notifier
from external_tasks.runtime import IncidentError, TaskRouter
from external_tasks.workdays import SHANGHAI

router = TaskRouter()

TEMPLATE = "leader_duty_digest"
APPEAL_PROCESS = "hotline_appeal"
#: What a digest line shows; callerName/callerPhone only to be masked by `message_fields`.
APPEAL_VARIABLES = ("appealNumber", "title", "township", "leadUnit", "receivedAt", "dutyLeader",
                    "callerName", "callerPhone", "confidential")
NO_APPEALS = "（坐班期间未接听诉求）"


def latest_duty_day(moment: dt.datetime, roster: tuple[DutySlot, ...]) -> dt.date | None:
    """The most recent roster date with a slot ended by `moment` (Shanghai dates)."""
    return max((slot.start.date() for slot in roster if slot.end <= moment), default=None)


def leaders_on_duty(day: dt.date, moment: dt.datetime, roster: tuple[DutySlot, ...]) -> list[str]:
    """The leaders whose slot on `day` had ended by `moment`, in slot order."""
    return list(dict.fromkeys(slot.leader for slot in sorted(roster, key=lambda slot: slot.start)
                              if slot.start.date() == day and slot.end <= moment))


def _current_state(client: EngineClient, appeal: dict) -> str:
    """已办结 / 已终止 / 办理中 with the open steps of the appeal and its unit processes."""
    if appeal["state"] == "COMPLETED":
        return "已办结"
    if appeal["state"].endswith("TERMINATED"):
        return "已终止"
    family = client.get("/history/process-instance",
                        processInstanceBusinessKey=appeal["businessKey"])
    steps = [activity["activityName"] or activity["activityId"]
             for instance in family if instance["state"] == "ACTIVE"
             for activity in client.get("/history/activity-instance",
                                        processInstanceId=instance["id"], unfinished="true",
                                        activityType="userTask")]
    return "办理中：" + "、".join(dict.fromkeys(steps)) if steps else "办理中"


def leader_received_appeals(client: EngineClient, day: dt.date) -> list[dict]:
    """The leader-received appeals with a receipt time on `day`, oldest first: each appeal's
    variables (`APPEAL_VARIABLES`) plus `state`."""
    instances = client.post("/history/process-instance", {
        "processDefinitionKey": APPEAL_PROCESS,
        "variables": [{"name": "leaderReceived", "operator": "eq", "value": True},
                      # receivedAt is stored as Shanghai local time with its offset
                      {"name": "receivedAt", "operator": "like", "value": f"{day.isoformat()}T%"}]})
    if not instances:
        return []
    found = client.post("/history/variable-instance?deserializeValues=false", {
        "processInstanceIdIn": [instance["id"] for instance in instances],
        "variableNameIn": list(APPEAL_VARIABLES)})
    variables: dict[str, dict] = {instance["id"]: {} for instance in instances}
    for variable in found:
        variables[variable["processInstanceId"]][variable["name"]] = from_typed(variable)
    appeals = [variables[instance["id"]] | {"state": _current_state(client, instance)}
               for instance in instances]
    return sorted(appeals, key=lambda appeal: appeal["receivedAt"])


def appeal_line(position: int, appeal: dict, directory: Directory) -> str:
    shown = message_fields(appeal, directory, audience="unit")
    received = dt.datetime.fromisoformat(appeal["receivedAt"]).strftime("%H:%M")
    return (f"{position}. {received} {shown['appealNumber']}｜{shown['title']}｜{shown['township']}"
            f"｜牵头：{shown.get('leadUnitName', '待派单')}｜{appeal['state']}｜来电人：{shown['caller']}")


def digest_fields(day: dt.date, appeals: list[dict], directory: Directory) -> dict[str, str]:
    """The leader template's placeholders for one leader's appeals of `day` (the notifier adds
    the leader's name)."""
    lines = [appeal_line(position, appeal, directory)
             for position, appeal in enumerate(appeals, start=1)]
    return {"digestDay": f"{day.year}年{day.month}月{day.day}日",
            "appealCount": str(len(appeals)),
            "appealList": "\n".join(lines) or NO_APPEALS}


@router.task("send-duty-digest")
def send_duty_digest(task: LockedTask, client: EngineClient):
    # The day follows from when the timer fired, not from when this task happens to run.
    started = parse_engine_date(client.get(
        f"/history/process-instance/{task.process_instance_id}")["startTime"]).astimezone(SHANGHAI)
    try:
        roster = current_roster()
    except RosterError as error:
        raise IncidentError(str(error)) from None
    day = latest_duty_day(started, roster)
    if day is None:
        return {"digestDay": "", "digestLeaders": 0, "lastNotification": "无已结束的坐班"}
    appeals = leader_received_appeals(client, day)
    leaders = list(dict.fromkeys(leaders_on_duty(day, started, roster)
                                 + [appeal["dutyLeader"] for appeal in appeals]))
    try:
        notifier = current_notifier()
        directory = notifier.config.directory
        deliveries = notifier.notify_leaders(TEMPLATE, {
            leader: digest_fields(day, [appeal for appeal in appeals
                                        if appeal["dutyLeader"] == leader], directory)
            for leader in leaders}, scope=f"duty-digest:{day.isoformat()}")
    except (ConfigError, TemplateError, DeliveryRejected) as exc:
        # Fix the roster, directory or notifications.yaml, then retry the incident in Cockpit;
        # digests that went out already are not sent again.
        raise IncidentError(str(exc)) from exc
    return {"digestDay": day.isoformat(), "digestLeaders": len(leaders),
            "lastNotification": summary(TEMPLATE, deliveries)}
