"""Topic `register-appeal` (登记工单): the first step of every appeal.

Gives the appeal its number (the business key; an appeal started in Tasklist without one gets
the next number of the day), fixes the receipt time (now unless the appeal carries its original
one), masks the caller for everyone but the hotline centre and the lead unit, and sets the
counters and settings the rest of the process reads. An appeal received while a county leader
is on duty (领导坐班) is a leader-received appeal and important.
"""
from __future__ import annotations

import datetime as dt
import functools
import sqlite3
from pathlib import Path

from marshmallow import Schema, fields, validate

from connectors import mask_name, mask_phone
from deploy.admin_files import ConfigFileError, load_admin_file
from deploy.settings import REPO_ROOT, Settings
from external_tasks.camunda import LockedTask
from external_tasks.duty_roster import RosterError, current_roster, duty_leader_at
from external_tasks.runtime import IncidentError, TaskRouter
from external_tasks.workdays import SHANGHAI

router = TaskRouter()

HOTLINE_FILE = REPO_ROOT / "deploy" / "config" / "hotline.yaml"
NUMBER_PREFIX = "XS"


class CallbackSchema(Schema):
    max_attempts = fields.Integer(required=True, validate=validate.Range(min=1, max=10))
    retry_interval = fields.String(required=True, validate=validate.Regexp(
        r"^P(T(\d+H)?(\d+M)?|\d+D)$", error="应为 ISO 8601 时长, 如 PT4H 或 P1D"))


class HotlineSettingsSchema(Schema):
    callback = fields.Nested(CallbackSchema, required=True)


class HotlineSettingsError(ConfigFileError):
    """deploy/config/hotline.yaml is not valid."""


@functools.lru_cache(maxsize=4)
def _hotline_settings(path: Path, mtime: float) -> dict:
    try:
        return load_admin_file(path, HotlineSettingsSchema(), HotlineSettingsError)
    except HotlineSettingsError as error:
        raise IncidentError(str(error)) from None


def hotline_settings(path: Path = HOTLINE_FILE) -> dict:
    return _hotline_settings(path, path.stat().st_mtime)


def allocate_appeal_number(data_dir: Path, day: dt.date) -> str:
    """The next appeal number of `day`, e.g. XS20261127-0001 (one counter per day)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(data_dir / "appeal_numbers.sqlite", timeout=30,
                         isolation_level=None) as db:
        db.execute("CREATE TABLE IF NOT EXISTS counters (day TEXT PRIMARY KEY, last INTEGER)")
        db.execute("BEGIN IMMEDIATE")  # one writer at a time: no number is given twice
        key = day.strftime("%Y%m%d")
        db.execute("INSERT INTO counters VALUES (?, 1) ON CONFLICT(day) DO UPDATE "
                   "SET last = last + 1", (key,))
        (last,) = db.execute("SELECT last FROM counters WHERE day = ?", (key,)).fetchone()
        db.execute("COMMIT")
    return f"{NUMBER_PREFIX}{key}-{last:04d}"


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


@router.task("register-appeal")
def register_appeal(task: LockedTask, kind: str, appealNumber: str | None = None,
                    receivedAt=None, callerName: str | None = None,
                    callerPhone: str | None = None, confidential: bool = False,
                    answeredOnCall: bool = False, important: bool = False,
                    urgency: str = "normal", difficulty: str = "ordinary",
                    township: str | None = None, address: str | None = None,
                    coUnits: list | None = None):
    # A redelivered task finds the number it gave the first time.
    number = appealNumber or task.business_key or allocate_appeal_number(
        Settings.from_env().data_dir, now_in_shanghai().date())
    callback = hotline_settings()["callback"]
    received = _receipt_time(receivedAt)
    try:
        duty_leader = duty_leader_at(dt.datetime.fromisoformat(received), current_roster())
    except RosterError as error:
        raise IncidentError(str(error)) from None
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
        "important": bool(important) or duty_leader is not None,
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
