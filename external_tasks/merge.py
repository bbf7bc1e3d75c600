"""Topic `forward-merged-outcome` (转告并案工单办理结果): 并案, the main appeal's side.

The hotline centre merges a new appeal into an open one on the same matter (console.merge): the
merged appeal keeps its own number and caller, carries `mergedInto` (the main appeal's number)
and waits. When the main appeal has its outcome — the centre approved the unit's reply, or the
unit closed it with an explanation after a 1+X consultation — this worker hands that outcome to
every appeal still merged into it, with the message `MainAppealOutcome`: each merged appeal then
tells its caller by SMS, the centre calls that caller back with the main appeal's reply, and it
closes as `merged`. An appeal un-merged before this moment no longer carries `mergedInto`, so
the message passes it by. Idempotent: a merged appeal that got the outcome waits no more, so a
second delivery reaches no one twice.
"""
from __future__ import annotations

from external_tasks.camunda import EngineClient, to_typed_map
from external_tasks.intake import now_in_shanghai
from external_tasks.runtime import TaskRouter, retry_on_conflict

router = TaskRouter()

#: The message a merged appeal waits for (bpmn/hotline_appeal.bpmn, Event_MainOutcomeReceived).
MAIN_OUTCOME_MESSAGE = "MainAppealOutcome"
EXPLAINED = "explained"


def main_outcome(unit_outcome: str | None, reply_text: str | None,
                 explanation: str | None) -> str:
    """What the merged callers are told: the approved reply, or the consultation's explanation."""
    return (explanation if unit_outcome == EXPLAINED else reply_text) or ""


@router.task("forward-merged-outcome")
def forward_merged_outcome(engine: EngineClient, appealNumber: str, leadUnit=None,
                           unitOutcome=None, replyText=None, consultationExplanation=None,
                           solved=None):
    found = retry_on_conflict(lambda: engine.post("/message", {
        "messageName": MAIN_OUTCOME_MESSAGE, "all": True, "resultEnabled": True,
        "correlationKeys": to_typed_map({"mergedInto": appealNumber}),
        "processVariables": to_typed_map({
            "replyText": main_outcome(unitOutcome, replyText, consultationExplanation),
            "solved": solved, "leadUnit": leadUnit,
            "mergedOutcomeAt": now_in_shanghai().isoformat()})}))
    return {"mergedOutcomeForwarded": len(found)}
