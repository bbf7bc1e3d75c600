"""The duty roster's editor (领导坐班表): a month of the county leaders' duty slots as a calendar
above the slots' fields, the leaders chosen from the directory, and the preview of who is on duty
at a moment (as intake looks it up for an appeal received then).

The calendar is drawn from the slots in the form, so it shows the admin's edit before it is saved;
a slot is added from its day (+), moved by dragging it to another day, removed with its box.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import typing

from admin_data.directory import load_directory
from admin_data.duty_roster import duty_leader_at
from admin_data.environment import Settings
from admin_data.workdays import SHANGHAI
from console.admin.forms import Input
from console.admin.views import VIEWS, EditorView


@dataclasses.dataclass(frozen=True)
class Chip:
    """A slot as the calendar shows it."""
    row: str  # the name of the slot's inputs (slots-3)
    text: str
    invalid: bool


def roster_preview(current, new, sample: dict, settings: Settings) -> list[tuple[str, str, str]]:
    moment = sample["moment"].replace(tzinfo=SHANGHAI)
    leaders = _leaders(settings)

    def on_duty(roster) -> str:
        if roster is None:
            return "（现行文件无效）"
        leader = duty_leader_at(moment, roster)
        return f"{leaders.get(leader, leader)} ({leader})" if leader else "无人坐班"
    return [(f"{moment:%Y-%m-%d %H:%M} 坐班领导", on_duty(current), on_duty(new))]


def _leaders(settings: Settings) -> dict[str, str]:
    return {leader.id: leader.name
            for leader in load_directory(settings.config_dir / "directory.yaml").leaders}


def _child(row: Input, field: str) -> Input:
    return next(child for child in row.children if child.name.endswith(f"-{field}"))


def _date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        return None


def _month(values: typing.Mapping[str, str]) -> dt.date:
    """The month shown: the one asked for (`show_month`, a button), else `month` (2026-12: the
    one shown before), else this month."""
    try:
        return dt.date.fromisoformat((values.get("show_month") or values.get("month", "")) + "-01")
    except ValueError:
        return dt.datetime.now(SHANGHAI).date().replace(day=1)


def _shifted(month: dt.date, by: int) -> str:
    index = month.year * 12 + month.month - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def roster_page(page: dict, values: typing.Mapping[str, str], settings: Settings) -> dict:
    """The month's calendar and the slots' rows: those of the month, those with an error and the
    blank ones to add; the others travel as hidden inputs."""
    leaders = _leaders(settings)
    month = _month(values)
    inputs = {item.name: item for item in page["inputs"]}
    default = page["data"].get("default_slot") or {}
    rows = inputs["slots"].rows
    chips: dict[dt.date, list[Chip]] = {}
    shown, hidden = [], []
    for row in rows:
        day = _date(_child(row, "date").value)
        invalid = bool(row.errors or any(child.errors for child in row.children))
        if day is not None and row.kind == "entry":
            leader = _child(row, "leader").value
            times = (f"{_child(row, 'start').value or default.get('start', '')}–"
                     f"{_child(row, 'end').value or default.get('end', '')}")
            chips.setdefault(day, []).append(Chip(row.name, f"{times} {leaders.get(leader, leader)}",
                                                  invalid))
        in_month = day is not None and (day.year, day.month) == (month.year, month.month)
        (shown if in_month or invalid or row.kind == "new-entry" else hidden).append(row)
    shown.sort(key=lambda row: (row.kind == "new-entry", _child(row, "date").value,
                                _child(row, "start").value))
    first = month - dt.timedelta(days=month.weekday())
    weeks = []
    day = first
    while day.month == month.month or day < month:
        weeks.append([(day + dt.timedelta(days=offset)) for offset in range(7)])
        day += dt.timedelta(days=7)
    return {"leaders": leaders, "month": month, "weeks": weeks, "chips": chips,
            "today": dt.datetime.now(SHANGHAI).date(), "previous_month": _shifted(month, -1),
            "next_month": _shifted(month, 1), "shown_rows": shown, "hidden_rows": hidden,
            "default_slot": inputs["default_slot"], "slots": inputs["slots"]}


VIEWS["duty_roster"] = EditorView("admin/duty_roster.html", context=roster_page)
