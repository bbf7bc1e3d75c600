"""Topic `check-holiday-calendar` (检查节假日数据): no calendar cliff.

Working-day deadlines need the State Council's holiday arrangement of the year they fall in; a
year nobody entered stops every appeal whose deadline reaches into it (an incident at 计算办理时限).
From `calendar.warn_from` (hotline.yaml, 1 November by default) on, while next year is missing,
`bpmn/hotline_calendar_check.bpmn` runs this check every morning and tells the hotline centre
from which receipt day appeals will stop; the console's home page, `GET /api/v1/health` and
`suban status` show the same warning from `missing_calendar_year`.

The day from which a count needs next year follows from the longest count: the time-limit table's
longest working-day limit (the deployed decision, evaluated by the engine for every kind, urgency
and difficulty: the table is the one source of its numbers), the longest extension and the
longest supervision response period of hotline.yaml.
"""
from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

from admin_data.hotline import HOTLINE, calendar_warning_starts
from admin_data.workdays import HOLIDAYS, MissingYear, missing_year
from connectors import summary
from external_tasks.camunda import EngineClient, EngineError, LockedTask
from external_tasks.daily_run import timer_day
from external_tasks.deadlines import (DECISION_KEY, DIFFICULTIES, KINDS, URGENCIES, WORKING_DAYS,
                                      evaluate_time_limits)
from external_tasks.notify import UNDELIVERABLE, current_notifier
from external_tasks.runtime import TaskRouter

router = TaskRouter()

TEMPLATE = "hotline_calendar_missing"
HOTLINE_CENTRE_KIND = "hotline_centre"

#: The longest working-day limit of each deployed version of the table, by definition id.
_longest_by_definition: dict[str, int | None] = {}


def longest_time_limit(engine: EngineClient) -> int | None:
    """The longest working-day limit the deployed table gives any appeal (None: none counts in
    working days)."""
    definition = engine.get(f"/decision-definition/key/{DECISION_KEY}")["id"]
    if definition not in _longest_by_definition:
        limits = [evaluate_time_limits(engine, *inputs)
                  for inputs in itertools.product(KINDS, URGENCIES, DIFFICULTIES)]
        _longest_by_definition[definition] = max(
            (limit.completion for limit in limits if limit.clock == WORKING_DAYS), default=None)
    return _longest_by_definition[definition]


def working_day_counts(engine: EngineClient, settings: dict) -> dict[str, int]:
    """What stops when a count reaches a missing year → the longest such count. The time-limit
    table's count is left out while the engine does not answer (the others still warn)."""
    try:
        longest = longest_time_limit(engine)
    except EngineError:
        longest = None
    counts = {"受理的诉求无法计算办理时限, 停在「计算办理时限」成为异常事件": longest,
              "到期的办结时限无法延期": settings["extension"]["max_working_days"],
              "签发的督办单无法计算答复时限": max(
                  settings["supervision"]["response_working_days"].values())}
    return {what: days for what, days in counts.items() if days}


def missing_calendar_year(engine: EngineClient, today: dt.date,
                          folder: Path | None = None) -> MissingYear | None:
    """The year the working-day calendar lacks although deadlines reach into it (None: ready),
    from holidays.yaml and hotline.yaml in `folder` (default: the admin data folder)."""
    calendar = HOLIDAYS.load(HOLIDAYS.path(folder))
    settings = HOTLINE.load(HOTLINE.path(folder))
    warn_from = calendar_warning_starts(settings, today.year)
    if missing_year(calendar, today, warn_from, {}) is None:  # no engine call on a ready day
        return None
    return missing_year(calendar, today, warn_from, working_day_counts(engine, settings))


# The notification goes out once a day; fix notifications.yaml and retry the incident in Cockpit.
@router.task("check-holiday-calendar", incident_on=UNDELIVERABLE)
def check_holiday_calendar(task: LockedTask, engine: EngineClient,
                           checkDay: str | None = None):
    today = timer_day(task, engine, checkDay)
    missing = missing_calendar_year(engine, today)
    if missing is None:
        return {"calendarMissingYear": 0, "lastNotification": "节假日数据齐全"}
    notifier = current_notifier()
    centres = [unit.id for unit in notifier.config.directory.units
               if unit.kind == HOTLINE_CENTRE_KIND]
    deliveries = notifier.notify_units(
        TEMPLATE, centres, {"alertReason": missing.describe()},
        scope=f"calendar-missing:{today.isoformat()}")
    return {"calendarMissingYear": missing.year, "lastNotification": summary(TEMPLATE, deliveries)}
