"""Working-day calendar: statutory holidays and 调休 make-up working days, Asia/Shanghai.

Two sources, in this order of precedence for a given day:

1. `corrections` in the admin override file holidays.yaml: single days (or short
   ranges) an admin declares a holiday or a working day, whatever the other sources say;
2. `years` in that file: a year an admin declares complete, with all its statutory holidays and
   make-up working days (e.g. 2027 once the State Council publishes it in November). Such a
   year replaces the package's data for that year: any other Monday–Friday is a working day,
   any other Saturday/Sunday a rest day;
3. the `chinesecalendar` package (1.11.0 covers 2004–2026).

A day of a year neither source covers is never guessed from weekends: `CalendarDataMissing`
names the year and the file to edit.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from admin_data.loader import (AdminDataError, AdminFile, ConfigFileError, TextDatesLoader,
                               add_error, display_path, load_admin_file)

SHANGHAI = ZoneInfo("Asia/Shanghai")

#: Longest range one entry may span: the longest statutory break (春节, 国庆) is 8–9 days, so a
#: longer range is almost surely a typo in a date.
MAX_RANGE_DAYS = 16
WEEKEND = (5, 6)


class CalendarDataMissing(AdminDataError, LookupError):
    """No holiday data for a year: a working-day deadline cannot be computed."""

    def __init__(self, year: int, source: Path):
        self.year = year
        self.source = source
        super().__init__(
            f"缺少{year}年的法定节假日和调休安排, 无法按工作日计算时限: 请在管理控制台「节假日与调休」"
            f"({display_path(source)}) 的 years 中补充 {year} 年 (no statutory holiday data for "
            f"{year}: add the year to {display_path(source)})")


class HolidayFileError(ConfigFileError):
    """The override file is not valid; the message names each bad entry and field."""


# -- the override file -------------------------------------------------------------------------

class Day(fields.Date):
    default_error_messages = {
        "invalid": "'{input}' 不是有效的日期, 应写成 YYYY-MM-DD (not a valid date)"}


class DayEntrySchema(Schema):
    """One day (`date`) or a range (`from`, `to`), with the name admins know it by."""

    name = fields.String(required=True, validate=validate.Length(
        min=1, max=64, error="应为 1 到 64 个字"), metadata={"label": "名称"})
    date = Day(metadata={"label": "单日"})
    from_ = Day(data_key="from", metadata={"label": "或 从"})
    to = Day(metadata={"label": "到 (含)"})

    @validates_schema
    def one_day_or_range(self, data, **_):
        has_range = "from_" in data or "to" in data
        if "date" in data and has_range:
            raise ValidationError("写 date 或 from/to 之一, 不要同时写 (date or from/to, not both)")
        if "date" in data:
            return
        if not has_range:
            raise ValidationError("缺少 date, 或 from 与 to (date or from/to required)")
        if "from_" not in data or "to" not in data:
            raise ValidationError("from 与 to 须同时填写 (from and to go together)")
        if data["to"] < data["from_"]:
            raise ValidationError(f"to ({data['to']}) 早于 from ({data['from_']})", "to")
        if (data["to"] - data["from_"]).days >= MAX_RANGE_DAYS:
            raise ValidationError(f"区间超过 {MAX_RANGE_DAYS} 天, 请检查日期", "to")


class YearSchema(Schema):
    year = fields.Integer(required=True, strict=True, validate=validate.Range(
        min=2004, max=2100, error="年份应在 {min} 到 {max} 之间"), metadata={"label": "年份"})
    holidays = fields.List(fields.Nested(DayEntrySchema), required=True,
                           validate=validate.Length(min=1, error="至少列出一个法定节假日"),
                           metadata={"label": "放假 (法定节假日, 含连休的周末)", "blank_rows": 3})
    workdays = fields.List(fields.Nested(DayEntrySchema), load_default=list,
                           metadata={"label": "调休上班日 (周六或周日)", "blank_rows": 2})


class CorrectionsSchema(Schema):
    holidays = fields.List(fields.Nested(DayEntrySchema), load_default=list,
                           metadata={"label": "改为休息日"})
    workdays = fields.List(fields.Nested(DayEntrySchema), load_default=list,
                           metadata={"label": "改为工作日"})


class HolidayFileSchema(Schema):
    years = fields.List(fields.Nested(YearSchema), load_default=list, metadata={
        "label": "按年录入的放假安排 (国务院办公厅通知)"})
    corrections = fields.Nested(CorrectionsSchema, load_default=lambda: {
        "holidays": [], "workdays": []}, metadata={"label": "个别日期更正 (优先于以上各项)"})

    @validates_schema
    def check_days(self, data, **_):
        """Each day once, never both a holiday and a working day; dates inside their year."""
        errors: dict = {}

        def error(path: tuple, message: str) -> None:
            if isinstance(path[-1], int):  # about the entry as a whole, beside its fields' errors
                path += ("_schema",)
            add_error(errors, path, message)

        seen_years: dict[int, int] = {}
        for index, year in enumerate(data["years"]):
            if year["year"] in seen_years:
                error(("years", index, "year"),
                      f"{year['year']} 年与 years[{seen_years[year['year']]}] 重复")
            seen_years.setdefault(year["year"], index)

        def entries():
            for index, year in enumerate(data["years"]):
                for status in ("holidays", "workdays"):
                    for position, entry in enumerate(year[status]):
                        yield ("years", index, status, position), status, entry, year["year"]
            for status in ("holidays", "workdays"):
                for position, entry in enumerate(data["corrections"][status]):
                    yield ("corrections", status, position), status, entry, None

        claimed: dict[tuple[str, dt.date], tuple[str, str]] = {}  # (scope, day) → (status, where)
        for path, status, entry, year in entries():
            where = _describe(path, entry)
            scope = "corrections" if year is None else f"year {year}"
            field = "date" if "date" in entry else "from"
            for day in _days(entry):
                if year is not None and day.year != year:
                    error(path + (field,),
                          f"{day} 不在 {year} 年内: 跨年的日子写在它所在的年份或 corrections 中")
                    break
                if year is not None and status == "workdays" and day.weekday() not in WEEKEND:
                    error(path + (field,), f"{day} 是周{'一二三四五'[day.weekday()]}, "
                          "调休上班日应为周六或周日 (a make-up working day falls on a weekend)")
                earlier = claimed.get((scope, day))
                if earlier is None:
                    # A correction may not contradict a complete year either.
                    other = claimed.get((f"year {day.year}", day)) if year is None else None
                    if other and other[0] != status:
                        error(path, f"{day} 在 {other[1]} 中是{_STATUS_ZH[other[0]]}, "
                              f"不能同时是{_STATUS_ZH[status]}")
                    claimed[(scope, day)] = (status, where)
                elif earlier[0] != status:
                    error(path, f"{day} 不能既是{_STATUS_ZH[earlier[0]]}又是{_STATUS_ZH[status]} "
                          f"(见 {earlier[1]}) — a day cannot be both a holiday and a working day")
                else:
                    error(path, f"{day} 已在 {earlier[1]} 中列出")
        if errors:
            raise ValidationError(errors)


_STATUS_ZH = {"holidays": "法定节假日", "workdays": "调休上班日"}


def _days(entry: dict) -> list[dt.date]:
    if "date" in entry:
        return [entry["date"]]
    span = (entry["to"] - entry["from_"]).days
    return [entry["from_"] + dt.timedelta(days=offset) for offset in range(span + 1)]


def _describe(path: tuple, entry: dict) -> str:
    """`years[0].holidays[1]（春节）`: where an entry is, as an admin reads it."""
    text = "".join(f"[{step}]" if isinstance(step, int) else f".{step}" for step in path)
    return text.lstrip(".") + f"（{entry['name']}）"


@dataclasses.dataclass(frozen=True)
class HolidayOverrides:
    """The override file's content: complete years and single-day corrections."""

    years: dict[int, tuple[frozenset[dt.date], frozenset[dt.date]]]  # year → (holidays, workdays)
    corrections: dict[dt.date, bool]                                  # day → is a working day
    source: Path

    @classmethod
    def empty(cls, source: Path | None = None) -> "HolidayOverrides":
        """No overrides: the package's data only (`source` is the file a message points to)."""
        return cls({}, {}, source or HOLIDAYS.path())


def load_overrides(path: Path | None = None) -> HolidayOverrides:
    """Read and validate the override file; a missing file means no overrides."""
    path = path or HOLIDAYS.path()
    if not path.exists():
        return HolidayOverrides.empty(path)
    data = load_admin_file(path, HolidayFileSchema(), HolidayFileError, yaml_loader=TextDatesLoader)
    years = {}
    for year in data["years"]:
        years[year["year"]] = (
            frozenset(day for entry in year["holidays"] for day in _days(entry)),
            frozenset(day for entry in year["workdays"] for day in _days(entry)))
    corrections = {day: status == "workdays"
                   for status in ("holidays", "workdays")
                   for entry in data["corrections"][status] for day in _days(entry)}
    return HolidayOverrides(years, corrections, path)


# -- the calendar --------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def package_covers(year: int) -> bool:
    """Whether the chinesecalendar package has this year's holiday arrangement."""
    try:
        chinese_calendar.is_workday(dt.date(year, 6, 1))
    except NotImplementedError:
        return False
    return True


class WorkdayCalendar:
    """Answers whether a day is a working day, and counts working days."""

    def __init__(self, overrides: HolidayOverrides | None = None):
        self.overrides = overrides or HolidayOverrides.empty()

    @classmethod
    def from_file(cls, path: Path | None = None) -> "WorkdayCalendar":
        return cls(load_overrides(path))

    @property
    def source(self) -> Path:
        return self.overrides.source

    def covers(self, year: int) -> bool:
        return year in self.overrides.years or package_covers(year)

    def is_working_day(self, day: dt.date) -> bool:
        if isinstance(day, dt.datetime):
            raise TypeError("is_working_day takes a date; convert a time to Asia/Shanghai first")
        if day in self.overrides.corrections:
            return self.overrides.corrections[day]
        if day.year in self.overrides.years:
            holidays, workdays = self.overrides.years[day.year]
            return day in workdays or (day.weekday() not in WEEKEND and day not in holidays)
        if package_covers(day.year):
            return chinese_calendar.is_workday(day)
        raise CalendarDataMissing(day.year, self.source)

    def next_working_day(self, day: dt.date) -> dt.date:
        """The first working day after `day`."""
        return self.nth_working_day_after(day, 1)

    def nth_working_day_after(self, day: dt.date, count: int) -> dt.date:
        """The `count`-th working day after `day`, which itself is never counted."""
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"count must be a positive whole number of working days, "
                             f"got {count!r}")
        found = 0
        while found < count:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                found += 1
        return day

    def end_of_working_days(self, start: dt.datetime, count: int) -> dt.datetime:
        """23:59:59 Asia/Shanghai on the `count`-th working day after the day of `start`."""
        last_day = self.nth_working_day_after(shanghai(start).date(), count)
        return end_of_day(last_day)


# -- the calendar cliff ---------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Cutoff:
    """From `first_day` on, counting `working_days` after a day needs the missing year."""

    what: str           # what stops, e.g. "受理的诉求无法计算办结时限"
    working_days: int
    first_day: dt.date | None  # None: the year before is missing too, it stops already

    def describe(self) -> str:
        when = f"{self.first_day.year}年{self.first_day.month}月{self.first_day.day}日起" \
            if self.first_day else "现在起"
        return f"{when}{self.what} (按最长 {self.working_days} 个工作日计)"


@dataclasses.dataclass(frozen=True)
class MissingYear:
    """A year the working-day calendar lacks while deadlines already reach into it."""

    year: int
    cutoffs: tuple[Cutoff, ...]
    source: Path

    @property
    def stops_from(self) -> dt.date | None:
        """The first day from which any of the counts needs the missing year."""
        days = [cutoff.first_day for cutoff in self.cutoffs]
        return None if not days or None in days else min(days)

    def describe(self) -> str:
        return (f"缺少{self.year}年的法定节假日和调休安排: " + "; ".join(
            cutoff.describe() for cutoff in self.cutoffs) + "。请在「节假日与调休」中按国务院办公厅"
            f"的通知录入{self.year}年的放假安排 ({display_path(self.source)})。")


def first_day_reaching(calendar: WorkdayCalendar, year: int, working_days: int) -> dt.date | None:
    """The first day whose `working_days`-th working day after it falls in `year`: the
    `working_days`-th last working day of the year before (None when that year is missing too)."""
    if not calendar.covers(year - 1):
        return None
    day, found = dt.date(year - 1, 12, 31), 0
    while True:
        if calendar.is_working_day(day):
            found += 1
            if found == working_days:
                return day
        day -= dt.timedelta(days=1)


def missing_year(calendar: WorkdayCalendar, today: dt.date, warn_from: dt.date,
                 limits: dict[str, int]) -> MissingYear | None:
    """This year when the calendar lacks it; next year from `warn_from` on while it lacks that;
    else None. `limits`: what a count stops (its description) → its longest working days."""
    if not calendar.covers(today.year):
        year = today.year
    elif today >= warn_from and not calendar.covers(today.year + 1):
        year = today.year + 1
    else:
        return None
    return MissingYear(year, tuple(Cutoff(what, days, first_day_reaching(calendar, year, days))
                                   for what, days in limits.items()), calendar.source)


def end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), SHANGHAI)


def shanghai(moment: dt.datetime) -> dt.datetime:
    """An aware time in Asia/Shanghai; a naive time is refused, its zone would be a guess."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone offset")
    return moment.astimezone(SHANGHAI)


#: The calendar with the override file as it is now (missing: no overrides).
HOLIDAYS = AdminFile("holidays.yaml", WorkdayCalendar.from_file)
