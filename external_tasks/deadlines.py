"""Deadlines of an appeal — sign-for, first feedback, completion — and when to remind the unit.

The limits come from the DMN decision table `time_limits` (bpmn/time_limits.dmn), evaluated
through the engine: the table is the single source of truth, nothing here knows a number.

Counting rules:
* clock "working_days": counting starts the day after receipt; a limit of N working days ends at
  23:59:59 Asia/Shanghai on the N-th working day after the receipt day (statutory holidays are
  skipped, 调休 make-up Saturdays/Sundays count) — see admin_data/workdays.py;
* clock "hours": the limit runs 7×24 from the receipt time itself, holidays included.

Reminders (the unit is warned before each deadline; times and share in hotline.yaml `reminders`,
the defaults given here):
* working days: 09:00 on the deadline's own working day, the morning of the last day; for a
  limit of a single working day that morning is when the unit starts on the case, so the
  reminder comes at 14:00 instead, half-way through that working day;
* hours: when 75 % of the span has passed (0.5 h → after 22.5 min, 24 h → after 18 h).

The receipt time may lie in the past (an appeal transferred from another channel keeps its
original receipt time); `deadlineBasisAt`, when set (e.g. after a re-dispatch), replaces it.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import typing

from external_tasks.camunda import EngineClient, from_typed_map, to_typed_map
from external_tasks.runtime import IncidentError, TaskRouter
from admin_data.workdays import HOLIDAYS, SHANGHAI, WorkdayCalendar, shanghai
from admin_data.hotline import HOTLINE

router = TaskRouter()

DECISION_KEY = "time_limits"

KINDS = {"inquiry": "咨询", "help": "求助", "complaint": "投诉", "report": "举报",
         "suggestion": "意见建议"}
URGENCIES = {"normal": "一般", "urgent": "紧急"}
DIFFICULTIES = {"ordinary": "普通", "complex": "疑难"}

WORKING_DAYS, HOURS = "working_days", "hours"
CLOCK_UNITS = {WORKING_DAYS: "个工作日", HOURS: "小时"}

Number = typing.Union[int, float]


@dataclasses.dataclass(frozen=True)
class TimeLimits:
    """One row of the time-limit table: three limits in the unit of `clock`."""

    clock: str
    sign_for: Number
    feedback: Number
    completion: Number

    def __post_init__(self):
        if self.clock not in CLOCK_UNITS:
            raise ValueError(f"clock: '{self.clock}' 不是有效的计时方式, 应为 "
                             f"{' 或 '.join(CLOCK_UNITS)} (unknown clock)")
        for name in ("sign_for", "feedback", "completion"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ValueError(f"{name}: {value!r} 不是正数 (a limit must be a positive number)")
            if self.clock == WORKING_DAYS:
                if value != int(value):
                    raise ValueError(f"{name}: {value} 个工作日不是整数 (working days must be "
                                     "whole)")
                object.__setattr__(self, name, int(value))
        for name in ("sign_for", "feedback"):
            if getattr(self, name) > self.completion:
                raise ValueError(f"{name} ({getattr(self, name)}) 长于办结时限 completion "
                                 f"({self.completion}) (a step cannot end after completion)")

    @classmethod
    def from_decision(cls, outputs: typing.Mapping[str, typing.Any]) -> "TimeLimits":
        """From the decision's outputs: clock, signFor, feedback, completion."""
        missing = [name for name in ("clock", "signFor", "feedback", "completion")
                   if outputs.get(name) is None]
        if missing:
            raise ValueError(f"办理时限表缺少输出 {', '.join(missing)} (decision outputs missing)")
        return cls(outputs["clock"], outputs["signFor"], outputs["feedback"],
                   outputs["completion"])

    def describe(self) -> str:
        unit = CLOCK_UNITS[self.clock]
        return (f"签收{self.sign_for:g}{unit}, 首次反馈{self.feedback:g}{unit}, "
                f"办结{self.completion:g}{unit}")


@dataclasses.dataclass(frozen=True)
class Deadlines:
    limits: TimeLimits
    basis: dt.datetime           # the time the limits count from, in Asia/Shanghai
    sign_for: dt.datetime
    feedback: dt.datetime
    completion: dt.datetime
    sign_for_reminder: dt.datetime
    feedback_reminder: dt.datetime
    completion_reminder: dt.datetime
    counting_starts: str         # 起算: the first counted working day, or the basis time

    def to_variables(self) -> dict[str, str]:
        return {
            "signForDeadline": iso(self.sign_for),
            "feedbackDeadline": iso(self.feedback),
            "completionDeadline": iso(self.completion),
            "signForReminderAt": iso(self.sign_for_reminder),
            "feedbackReminderAt": iso(self.feedback_reminder),
            "completionReminderAt": iso(self.completion_reminder),
            "deadlineClock": self.limits.clock,
        }

    def summary(self) -> str:
        text = f"{self.limits.describe()}, 自{self.counting_starts}起算"
        return text + ", 7×24小时连续计时" if self.limits.clock == HOURS else text


def iso(moment: dt.datetime) -> str:
    """ISO 8601 in Asia/Shanghai to the second, as BPMN <timeDate> timers take it."""
    return shanghai(moment).replace(microsecond=0).isoformat()


def parse_time(value: typing.Any, field: str) -> dt.datetime:
    """An ISO 8601 string with offset, or an aware datetime, as Asia/Shanghai time."""
    if isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"{field}: '{value}' 不是 ISO 8601 时间, 例如 2026-10-08T09:30:00+08:00 "
                             "(not an ISO 8601 time)") from None
    elif isinstance(value, dt.datetime):
        moment = value
    else:
        raise ValueError(f"{field}: 应为 ISO 8601 时间字符串或日期时间, 而不是 "
                         f"{type(value).__name__} (expected a time)")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{field}: '{value}' 缺少时区偏移, 例如 +08:00 (no UTC offset)")
    return shanghai(moment)


def reminder_at(limits: TimeLimits, limit: Number, basis: dt.datetime,
                deadline: dt.datetime) -> dt.datetime:
    """When to remind the unit of `deadline` (the rule is in the module docstring)."""
    if limits.clock == HOURS:
        share = HOTLINE.current()["reminders"]["hours_share_percent"] / 100
        return elapsed(basis, (deadline - basis) * share)
    return working_day_reminder(deadline, limit)


def elapsed(start: dt.datetime, span: dt.timedelta) -> dt.datetime:
    """`span` of real time after `start` (added in UTC: wall-clock arithmetic would be wrong
    across an offset change, as in Shanghai's summer time of 1986–1991)."""
    return shanghai(start.astimezone(dt.timezone.utc) + span)


def working_day_reminder(deadline: dt.datetime, working_days: int) -> dt.datetime:
    reminders = HOTLINE.current()["reminders"]
    at = dt.time.fromisoformat(reminders["single_day_time" if working_days == 1
                                         else "working_day_time"])
    return dt.datetime.combine(shanghai(deadline).date(), at, SHANGHAI)


def compute_deadlines(limits: TimeLimits, received_at: dt.datetime | str,
                      calendar: WorkdayCalendar) -> Deadlines:
    """The three deadlines and their reminders, counted from `received_at`.

    Raises `CalendarDataMissing` when a working day falls in a year without holiday data.
    """
    basis = parse_time(received_at, "received_at").replace(microsecond=0)
    if limits.clock == HOURS:
        def deadline_after(limit):
            return elapsed(basis, dt.timedelta(hours=limit))
        counting_starts = f"{basis:%Y-%m-%d %H:%M}"
    else:
        def deadline_after(limit):
            return calendar.end_of_working_days(basis, limit)
        counting_starts = calendar.next_working_day(basis.date()).isoformat()
    ends = {name: deadline_after(getattr(limits, name))
            for name in ("sign_for", "feedback", "completion")}
    reminders = {f"{name}_reminder": reminder_at(limits, getattr(limits, name), basis, end)
                 .replace(microsecond=0) for name, end in ends.items()}
    return Deadlines(limits=limits, basis=basis, counting_starts=counting_starts,
                     **ends, **reminders)


def extended_deadline(deadline: dt.datetime | str, working_days: int,
                    calendar: WorkdayCalendar) -> dt.datetime:
    """A deadline extended (延期) by `working_days`: 23:59:59 on the N-th working day after the
    deadline's day. Raises `CalendarDataMissing` like `compute_deadlines`."""
    if isinstance(working_days, bool) or not isinstance(working_days, int) or working_days < 1:
        raise ValueError(f"working_days: {working_days!r} 不是正整数 (a positive whole number of "
                         "working days)")
    return calendar.end_of_working_days(parse_time(deadline, "deadline"), working_days)


def evaluate_time_limits(engine: EngineClient, kind: str, urgency: str,
                         difficulty: str) -> TimeLimits:
    """The table's row for this appeal, evaluated by the engine."""
    results = engine.post(f"/decision-definition/key/{DECISION_KEY}/evaluate", {
        "variables": to_typed_map({"kind": kind, "urgency": urgency, "difficulty": difficulty})})
    inputs = f"kind={kind}, urgency={urgency}, difficulty={difficulty}"
    if len(results) != 1:
        raise IncidentError(
            f"办理时限表 {DECISION_KEY} 对 {inputs} 匹配了 {len(results)} 条规则, 应恰好 1 条: "
            f"请修改 bpmn/{DECISION_KEY}.dmn (the decision must match exactly one rule)")
    try:
        return TimeLimits.from_decision(from_typed_map(results[0]))
    except ValueError as exc:
        raise IncidentError(f"办理时限表 {DECISION_KEY} 对 {inputs} 的输出有误: {exc}") from None


def _choice(value: typing.Any, field: str, choices: dict[str, str], default: str | None) -> str:
    if value is None or value == "":
        if default is None:
            raise IncidentError(f"{field}: 缺少取值 (process variable {field} is empty)")
        return default
    if value not in choices:
        allowed = ", ".join(f"{key} ({label})" for key, label in choices.items())
        raise IncidentError(f"{field}: '{value}' 无效, 应为 {allowed} 之一 (unknown {field})")
    return value


@router.task("compute-deadlines")
def deadlines_for_appeal(kind: str, receivedAt: typing.Any, engine: EngineClient,
                         urgency: str | None = "normal", difficulty: str | None = "ordinary",
                         deadlineBasisAt: str | None = None) -> dict:
    kind = _choice(kind, "kind", KINDS, default=None)
    urgency = _choice(urgency, "urgency", URGENCIES, default="normal")
    difficulty = _choice(difficulty, "difficulty", DIFFICULTIES, default="ordinary")
    field, basis = (("deadlineBasisAt", deadlineBasisAt) if deadlineBasisAt not in (None, "")
                    else ("receivedAt", receivedAt))
    try:
        basis = parse_time(basis, field)
    except ValueError as exc:
        raise IncidentError(str(exc)) from None
    limits = evaluate_time_limits(engine, kind, urgency, difficulty)
    deadlines = compute_deadlines(limits, basis, HOLIDAYS.current())
    note = (f"{KINDS[kind]} · {URGENCIES[urgency]} · {DIFFICULTIES[difficulty]}: "
            f"{deadlines.summary()}")
    return deadlines.to_variables() | {"timeLimitNote": note}
