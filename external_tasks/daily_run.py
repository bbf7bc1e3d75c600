"""Topic `plan-daily-run` (安排今日运行时刻): when a daily process does today's work.

A daily process (the holiday-calendar check, the duty leaders' digest) starts every midnight:
a start event's timer cycle is read when the model is deployed, so it can hold no setting. It
then waits on a timer for `runAt`, which this worker sets from the time of day hotline.yaml
`daily` gives for it (`dailyRun`, the name the model passes), on the day the process started.
An admin's change applies from the next run on; a time already past starts the work at once.
"""
from __future__ import annotations

import datetime as dt

from admin_data.hotline import HOTLINE
from admin_data.workdays import SHANGHAI
from external_tasks.camunda import EngineClient, LockedTask, parse_engine_date
from external_tasks.deadlines import iso
from external_tasks.runtime import IncidentError, TaskRouter

router = TaskRouter()


def process_started(task: LockedTask, engine: EngineClient) -> dt.datetime:
    """When the task's process instance started (its timer fired), in Beijing time."""
    return parse_engine_date(engine.get(
        f"/history/process-instance/{task.process_instance_id}")["startTime"]).astimezone(SHANGHAI)


def timer_day(task: LockedTask, engine: EngineClient, check_day: str | None) -> dt.date:
    """The day a daily process's timer fired (its start, in Beijing), or the day it was started
    for (`checkDay`, ISO)."""
    return dt.date.fromisoformat(check_day) if check_day else process_started(task, engine).date()


@router.task("plan-daily-run")
def plan_daily_run(task: LockedTask, engine: EngineClient, dailyRun: str):
    times = HOTLINE.current()["daily"]
    if dailyRun not in times:
        raise IncidentError(f"hotline.yaml daily 中没有 {dailyRun!r} (应为 {' / '.join(times)})")
    at = dt.time.fromisoformat(times[dailyRun])
    return {"runAt": iso(dt.datetime.combine(process_started(task, engine).date(), at, SHANGHAI))}
