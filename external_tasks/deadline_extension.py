"""Topic `extend-deadline` (延长办结时限): an approved extension becomes the completion deadline.

The new deadline and its reminder are written to the unit's process and to the appeal, and the
unit's timers are recalculated by the engine from them, so the overdue mark fires at the new
deadline: an approved extension counts as on time. Setting fixed values makes a redelivered
task harmless.
"""
from __future__ import annotations

from external_tasks.camunda import EngineClient, LockedTask, to_typed_map
from external_tasks.deadlines import iso, parse_time, working_day_reminder
from external_tasks.runtime import TaskRouter

router = TaskRouter()


def appeal_instances(engine: EngineClient, instance_id: str) -> list[str]:
    """The unit's process instance, then the appeal's instance that called it."""
    parents = engine.get("/process-instance", subProcessInstance=instance_id)
    return [instance_id] + [parent["id"] for parent in parents]


@router.task("extend-deadline")
def apply_extension(task: LockedTask, engine: EngineClient, extensionProposedDeadline: str,
                    extensionRequestNumber: int, extensionProposedTotalDays: int,
                    extensionDays: float):
    deadline = parse_time(extensionProposedDeadline, "extensionProposedDeadline")
    extended = {
        "completionDeadline": iso(deadline),
        "completionReminderAt": iso(working_day_reminder(deadline, int(extensionDays))),
        "extensionApproved": True,
        "extensionCount": extensionRequestNumber,
        "extensionDaysTotal": extensionProposedTotalDays,
    }
    for instance_id in appeal_instances(engine, task.process_instance_id):
        engine.post(f"/process-instance/{instance_id}/variables",
                    {"modifications": to_typed_map(extended)})
    for job in engine.get("/job", processInstanceId=task.process_instance_id, timers="true"):
        engine.post(f"/job/{job['id']}/duedate/recalculate?creationDateBased=false")
    return extended
