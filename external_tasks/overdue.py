"""Topic `mark-overdue` (标记超期): a deadline timer fired before the unit acted.

The flags are set by this worker on the unit's process and on the appeal itself, never mapped
back from the unit's process: a unit completing its task could otherwise send `overdue=false`
along and clear its own record. Supervision and assessment read the appeal's flags, with the
time each was set in history.
"""
from external_tasks.camunda import EngineClient, LockedTask, to_typed_map
from external_tasks.deadline_extension import appeal_instances
from external_tasks.runtime import IncidentError, TaskRouter

router = TaskRouter()

DEADLINES = ("signFor", "feedback", "completion")


@router.task("mark-overdue")
def mark_overdue(task: LockedTask, engine: EngineClient, deadline: str):
    if deadline not in DEADLINES:
        raise IncidentError(f"mark-overdue: input 'deadline' is {deadline!r}, expected one of "
                            f"{', '.join(DEADLINES)} (fix the BPMN input parameter)")
    flags = {f"{deadline}Overdue": True, "overdue": True}
    for instance_id in appeal_instances(engine, task.process_instance_id)[1:]:
        engine.post(f"/process-instance/{instance_id}/variables",
                    {"modifications": to_typed_map(flags)})
    return flags
