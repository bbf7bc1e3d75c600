"""Topic `mark-overdue` (标记超期): a deadline timer fired before the unit acted.

The flags are process variables, so the overdue fact is in the appeal's history with the time
it was set; supervision and assessment read them.
"""
from external_tasks.runtime import IncidentError, TaskRouter

router = TaskRouter()

DEADLINES = ("signFor", "feedback", "completion")


@router.task("mark-overdue")
def mark_overdue(deadline: str):
    if deadline not in DEADLINES:
        raise IncidentError(f"mark-overdue: input 'deadline' is {deadline!r}, expected one of "
                            f"{', '.join(DEADLINES)} (fix the BPMN input parameter)")
    return {f"{deadline}Overdue": True, "overdue": True}
