"""The appeal's engine side: the processes an appeal runs through, the variables that make it up,
and one reader of an appeal's variables and steps from the engine's history.

An appeal is a family of process instances sharing its number as business key: the hotline
centre's `hotline_appeal` and the processes it calls (a unit's handling, supervision, 1+X
consultation, media supervision). The console's status, the duty digest, the assessment sync
and the opinion collector read it through this module.
"""
from __future__ import annotations

import typing

from external_tasks.camunda import EngineClient, from_typed

APPEAL_PROCESS = "hotline_appeal"
UNIT_PROCESS = "hotline_unit_handling"
ASSIST_PROCESS = "hotline_assist"
SUPERVISION_PROCESS = "hotline_supervision"
CONSULTATION_PROCESS = "hotline_consultation"
MEDIA_PROCESS = "hotline_media_supervision"

# -- the variables of an appeal, by what they say ------------------------------------------------

#: What the appeal is about: taken at intake, completed by registration, scope check and routing.
FACTS = ("appealNumber", "receivedAt", "channel", "kind", "categoryCode", "categoryName", "title",
         "township", "address", "urgency", "important", "leaderReceived", "dutyLeader",
         "repeatedAppeal", "repeatedOf", "majorRiskWords", "scopeFlag", "scopeReason",
         "routingStatus")
#: The caller as given: personal data, never shown unmasked outside the hotline centre.
CALLER = ("callerName", "callerPhone", "confidential")
#: The caller as registration masked them (张**, 138****5678).
CALLER_MASKED = ("callerNameMasked", "callerPhoneMasked", "confidential")
UNITS = ("leadUnit", "coUnits")
DEADLINES = ("signForDeadline", "feedbackDeadline", "completionDeadline",
             "originalCompletionDeadline")
#: Set on the appeal and on the unit's process when a deadline passes.
OVERDUE_FLAGS = ("overdue", "signForOverdue", "feedbackOverdue", "completionOverdue")
#: What happened while the units handled it.
HANDLING = ("answer", "knowledgeEntryId", "knowledgeVersion", "returnCount",
            "improperReturnCount", "returnRecords", "redispatchCount", "extensionApproved",
            "extensionCount", "extensionDaysTotal", "supervisionLevel")
CONSULTATION = ("consultationKind", "consultationOutcome", "consultationMinute",
                "consultationPlanDate", "consultationExplanation", "toleranceFlag")
#: How it ended: callback and evaluation.
OUTCOME = ("closedAs", "callbackAttempts", "callbackReached", "evaluation", "solved",
           "solvedConfirmed", "mergedInto")

#: Everything of an appeal except the caller's unmasked data.
WITHOUT_CALLER = (FACTS + CALLER_MASKED + UNITS + DEADLINES + OVERDUE_FLAGS + HANDLING
                  + CONSULTATION + OUTCOME)


def names(*groups: tuple[str, ...]) -> tuple[str, ...]:
    """The variable names of several groups, each once."""
    return tuple(dict.fromkeys(name for group in groups for name in group))


# -- reading history -----------------------------------------------------------------------------

def family(engine: EngineClient, number: str) -> list[dict]:
    """The appeal's process instances (history), the hotline centre's own first; [] when no
    appeal has this number."""
    instances = engine.get("/history/process-instance", processInstanceBusinessKey=number)
    return sorted(instances, key=lambda instance: (
        instance["processDefinitionKey"] != APPEAL_PROCESS, instance["startTime"]))


def history_variables(engine: EngineClient, instance_ids: typing.Sequence[str],
                      variable_names: typing.Iterable[str] | None = None) -> list[dict]:
    """The variables of these process instances as history holds them (one entry per scope:
    an instance's local variables are entries of their own, with their `executionId`)."""
    if not instance_ids:
        return []
    query: dict = {"processInstanceIdIn": list(instance_ids)}
    if variable_names is not None:
        query["variableNameIn"] = list(variable_names)
    return engine.post("/history/variable-instance?deserializeValues=false", query)


def variables_by_instance(engine: EngineClient, instance_ids: typing.Sequence[str],
                          variable_names: typing.Iterable[str] | None = None) -> dict[str, dict]:
    """{process instance id: {name: value}} for these instances."""
    found: dict[str, dict] = {instance_id: {} for instance_id in instance_ids}
    for variable in history_variables(engine, instance_ids, variable_names):
        found[variable["processInstanceId"]][variable["name"]] = from_typed(variable)
    return found


def appeal_variables(engine: EngineClient, instance_ids: typing.Sequence[str],
                     variable_names: typing.Iterable[str] | None = None) -> dict:
    """One appeal's variables over its family: where several processes hold a name, the first
    instance of `instance_ids` that has it wins (the hotline centre's own, given first)."""
    per_instance = variables_by_instance(engine, instance_ids, variable_names)
    merged: dict = {}
    for instance_id in instance_ids:
        for name, value in per_instance[instance_id].items():
            merged.setdefault(name, value)
    return merged


def any_overdue(engine: EngineClient, instance_ids: typing.Sequence[str]) -> bool:
    """Whether any process of the appeal set an overdue flag."""
    return any(variable.get("value") is True
               for variable in history_variables(engine, instance_ids, OVERDUE_FLAGS))


def activities(engine: EngineClient, instance_ids: typing.Sequence[str],
               **filters: str) -> list[dict]:
    """The steps of these process instances (history), in the order they started."""
    found = [activity for instance_id in instance_ids for activity in engine.get(
        "/history/activity-instance", processInstanceId=instance_id, **filters)]
    return sorted(found, key=lambda activity: (activity["startTime"],
                                               activity.get("endTime") or "~"))


def open_tasks(engine: EngineClient, number: str) -> list[dict]:
    """The user tasks open now in any process of the appeal, oldest first."""
    return sorted(engine.get("/task", processInstanceBusinessKey=number),
                  key=lambda task: task["created"])
