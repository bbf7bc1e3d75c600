"""Topic `register-appeal` (登记工单): the first step of every appeal.

Gives the appeal its number (the business key; an appeal started in Tasklist without one gets
the next number of the day from the engine's database, which every engine node shares), fixes
the receipt time (now unless the appeal carries its original one), masks the caller for everyone
but the hotline centre and the lead unit, and sets the counters and settings the rest of the
process reads. An appeal received while a county leader is on duty (领导坐班) is a leader-received
appeal and important, and so is a repeated appeal (重复件: the same phone number called within
the configured window).
"""
from __future__ import annotations

import datetime as dt
import re

from admin_data.duty_roster import ROSTER, duty_leader_at
from admin_data.hotline import HOTLINE
from admin_data.workdays import SHANGHAI
from connectors import mask_name, mask_phone
from external_tasks.appeal import APPEAL_PROCESS
from external_tasks.camunda import EngineClient, LockedTask
from external_tasks.runtime import IncidentError, TaskRouter

router = TaskRouter()

NUMBER_PREFIX = "XS"
#: 离线: numbers a console gave while no engine answered carry its series after this mark.
OFFLINE_MARK = "L"
NUMBER_PATTERN = re.compile(rf"^{NUMBER_PREFIX}\d{{8}}-({OFFLINE_MARK}\d+-)?\d{{4,}}$")


def take_appeal_number(engine: EngineClient, claim: str | None = None) -> str:
    """The next appeal number of the day, e.g. XS20261127-0001, counted in the engine's database
    (deploy/engine: AppealNumbers), which every engine node shares. The same `claim` (a process
    instance id) gets the same number again."""
    return engine.post("/suban/appeal-numbers", {"claim": claim} if claim else {})["number"]


def take_offline_series(engine: EngineClient) -> int:
    """A series of offline numbers (XS20261127-L<series>-0001) that no other console has."""
    return engine.post("/suban/offline-series", {})["series"]


def format_offline_number(day: dt.date, series: int, count: int) -> str:
    return f"{NUMBER_PREFIX}{day:%Y%m%d}-{OFFLINE_MARK}{series}-{count:04d}"


def now_in_shanghai() -> dt.datetime:
    return dt.datetime.now(SHANGHAI).replace(microsecond=0)


def _receipt_time(receivedAt) -> str:
    if receivedAt in (None, ""):
        return now_in_shanghai().isoformat()
    value = receivedAt if isinstance(receivedAt, dt.datetime) else \
        dt.datetime.fromisoformat(str(receivedAt))
    if value.tzinfo is None:
        raise IncidentError(f"receivedAt {receivedAt!r} has no time zone offset")
    if value > now_in_shanghai() + dt.timedelta(minutes=5):
        raise IncidentError(f"receivedAt {receivedAt!r} lies in the future")
    return value.astimezone(SHANGHAI).replace(microsecond=0).isoformat()


def earlier_appeals(engine: EngineClient, phone: str, received: dt.datetime,
                    this_instance: str) -> list[str]:
    """Numbers of the caller's other appeals within the repeat window before `received`.

    Asks for the phone among historic variables first (an index lookup, see the engine's
    LookupIndexes), then for those appeals' start times: a process-instance query filtered by
    a variable would read every appeal of the window."""
    if not phone:
        return []
    callers = engine.post("/history/variable-instance", {
        "processDefinitionKey": APPEAL_PROCESS, "variableName": "callerPhone",
        "variableValue": phone})
    others = sorted({item["processInstanceId"] for item in callers} - {this_instance})
    if not others:
        return []
    window = dt.timedelta(days=HOTLINE.current()["repeat"]["window_days"])
    found = engine.post("/history/process-instance", {
        "processInstanceIds": others,
        "startedAfter": (received - window).strftime("%Y-%m-%dT%H:%M:%S.000%z")})
    return sorted(item["businessKey"] for item in found if item.get("businessKey"))


@router.task("register-appeal")
def register_appeal(task: LockedTask, engine: EngineClient, kind: str, appealNumber: str | None = None,
                    receivedAt=None, callerName: str | None = None,
                    callerPhone: str | None = None, confidential: bool = False,
                    answeredOnCall: bool = False, important: bool = False,
                    urgency: str = "normal", difficulty: str = "ordinary",
                    township: str | None = None, address: str | None = None,
                    coUnits: list | None = None, knowledgeEntryId=None,
                    knowledgeVersion=None):
    # An appeal started without a number (Tasklist) gets one; claimed by its process instance,
    # a redelivered task gets the same number again.
    number = appealNumber or task.business_key or take_appeal_number(
        engine, claim=task.process_instance_id)
    callback = HOTLINE.current()["callback"]
    received = _receipt_time(receivedAt)
    duty_leader = duty_leader_at(dt.datetime.fromisoformat(received), ROSTER.current())
    repeated_of = earlier_appeals(engine, callerPhone or "", dt.datetime.fromisoformat(received),
                                  task.process_instance_id)
    return {
        "appealNumber": number,
        "receivedAt": received,
        "dutyLeader": duty_leader or "",
        "leaderReceived": duty_leader is not None,
        "callerName": callerName or "",
        "callerPhone": callerPhone or "",
        "callerNameMasked": mask_name(callerName or ""),
        "callerPhoneMasked": mask_phone(callerPhone or ""),
        "confidential": bool(confidential),
        "answeredOnCall": bool(answeredOnCall) and kind == "inquiry",
        # The knowledge entry read out on the call, as whole numbers however the form sent them.
        **{name: int(value) for name, value in (("knowledgeEntryId", knowledgeEntryId),
                                                ("knowledgeVersion", knowledgeVersion))
           if value is not None},
        "repeatedOf": repeated_of,
        "repeatedAppeal": bool(repeated_of),
        "important": bool(important) or duty_leader is not None or bool(repeated_of),
        "urgency": urgency or "normal",
        "difficulty": difficulty or "ordinary",
        "township": township or "",
        "address": address or "",
        "coUnits": coUnits or [],
        "callbackAttempts": 0,
        "callbackMaxAttempts": callback["max_attempts"],
        "callbackRetryInterval": callback["retry_interval"],
        "callbackNote": "",
        "redispatchCount": 0,
        "returnCount": 0,
        "improperReturnCount": 0,
        "overdue": False,
        "signForOverdue": False,
        "feedbackOverdue": False,
        "completionOverdue": False,
    }
