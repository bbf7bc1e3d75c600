"""The leaders' duty roster (领导坐班): who answers the hotline when, as data admins edit.

An appeal received during a leader's slot is a leader-received appeal (领导接听件): it is marked
important and carries the duty leader, for supervision and the leader's daily digest.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validates_schema

from admin_data.directory import DIRECTORY, Directory
from admin_data.loader import AdminFile, ConfigFileError, load_admin_file
from admin_data.workdays import SHANGHAI


class RosterError(ConfigFileError):
    """The roster file is not valid; the message names each bad row and field."""


def _clock_time(example: str, label: str, required: bool = False) -> fields.Time:
    return fields.Time(required=required, format="%H:%M",
                       error_messages={"invalid": f"应为时:分, 如 {example}"},
                       metadata={"label": label})


class SlotTimesSchema(Schema):
    start = _clock_time("09:00", "开始", required=True)
    end = _clock_time("10:00", "结束", required=True)


class SlotSchema(Schema):
    """A row; start and end default to the roster's default slot."""
    date = fields.Date(required=True, error_messages={"invalid": "应为日期, 如 2026-12-01"},
                       metadata={"label": "日期"})
    leader = fields.String(required=True, metadata={"label": "坐班领导"})
    start = _clock_time("09:00", "开始")  # empty: the default slot's
    end = _clock_time("10:00", "结束")


class RosterSchema(Schema):
    default_slot = fields.Nested(SlotTimesSchema, required=True,
                                 metadata={"label": "默认坐班时段"})
    slots = fields.List(fields.Nested(SlotSchema), required=True, metadata={"label": "坐班安排"})

    def __init__(self, directory: Directory, **kwargs):
        super().__init__(**kwargs)
        self.leaders = {leader.id: leader.name for leader in directory.leaders}

    @validates_schema
    def check_rows(self, data, **_):
        errors: dict[int, dict[str, list[str]]] = {}
        default = data["default_slot"]
        taken: list[tuple[str, dt.datetime, dt.datetime]] = []
        for index, slot in enumerate(data["slots"]):
            row = errors.setdefault(index, {})
            if slot["leader"] not in self.leaders:
                row.setdefault("leader", []).append(
                    f"'{slot['leader']}' 不是单位目录 (directory.yaml leaders) 中的县领导"
                    if slot["leader"] else "请选择坐班领导")
            start = dt.datetime.combine(slot["date"], slot.get("start", default["start"]))
            end = dt.datetime.combine(slot["date"], slot.get("end", default["end"]))
            if end <= start:
                row.setdefault("end", []).append("结束时间应晚于开始时间")
            for other, other_start, other_end in taken:
                if start < other_end and other_start < end:
                    row.setdefault("date", []).append(
                        f"与 {other_start:%Y-%m-%d %H:%M}–{other_end:%H:%M} {other} 的坐班时间重叠")
            taken.append((self.leaders.get(slot["leader"], slot["leader"]), start, end))
        errors = {index: row for index, row in errors.items() if row}
        if errors:
            raise ValidationError({"slots": errors})


@dataclasses.dataclass(frozen=True)
class DutySlot:
    leader: str
    start: dt.datetime
    end: dt.datetime


def load_roster(path: Path | None = None, directory: Directory | None = None) -> tuple[DutySlot, ...]:
    data = load_admin_file(path or ROSTER.path(), RosterSchema(directory or DIRECTORY.current()),
                           RosterError)
    default = data["default_slot"]
    return tuple(DutySlot(
        slot["leader"],
        dt.datetime.combine(slot["date"], slot.get("start", default["start"]), SHANGHAI),
        dt.datetime.combine(slot["date"], slot.get("end", default["end"]), SHANGHAI))
        for slot in data["slots"])


ROSTER = AdminFile("duty_roster.yaml", load_roster, depends_on=(DIRECTORY,))


def duty_leader_at(moment: dt.datetime, roster: tuple[DutySlot, ...]) -> str | None:
    """The leader on duty at `moment` (slots include their start, exclude their end)."""
    return next((slot.leader for slot in roster if slot.start <= moment < slot.end), None)
