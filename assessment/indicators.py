"""考核 indicators per lead unit, township, department or county-wide, for any period.

An appeal belongs to the period that holds its receipt date (受理日期, Asia/Shanghai); its
figures are those of the last sync. Every formula, with a worked example: docs/assessment.md.
"""
from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import re
import sqlite3

from admin_data.assessment import RATES, AssessmentConfig
from admin_data.directory import Directory

GROUPS = {"lead_unit": "牵头单位", "township": "乡镇(街道)", "department": "部门", "county": "全县"}
#: Directory kinds listed under `department` even when they had no appeal in the period.
DEPARTMENT_KINDS = ("department", "utility")

#: Store columns (0/1 flags and counts) whose sum over the group's appeals is reported as is.
SUMMED_COLUMNS = ("dispatched", "sign_for_judged", "sign_for_on_time", "feedback_judged",
                  "feedback_on_time", "completion_judged", "completion_on_time", "overdue",
                  "sign_for_overdue", "feedback_overdue", "completion_overdue",
                  "supervision_level1", "supervision_level2", "supervision_level3")

#: What each appeal adds to a count (0 or 1, or a number of processes or returns): name → SQL
#: expression over its row. The group's figure is the sum, and the drill-down lists the
#: appeals that add something (assessment.explain): one definition for both.
COUNTS = {"received": "1"} | {column: column for column in SUMMED_COLUMNS} | {
    "closed": "(dispatched AND state = 'closed')",
    "solved_judged": "(solved_confirmed IS NOT NULL)",
    "solved": "(solved_confirmed IS 1)",
    "evaluated": "(evaluation IS NOT NULL)",
    "satisfied": "(evaluation IS 'satisfied')",
    "basically_satisfied": "(evaluation IS 'basically_satisfied')",
    "unsatisfied": "(evaluation IS 'unsatisfied')",
    "redispatched": "(redispatch_count > 0)",
    "improper_returns": "improper_return_count",
    "consultations": "(consultations > 0)",
    "extensions": "extension_approved",
    "major_risk": "(major_risk_words <> '[]')",
    "merged": "(merged_into IS NOT NULL)",
}

#: Rate → (numerator, denominator).
RATE_PARTS = {"sign_for_on_time": ("sign_for_on_time", "sign_for_judged"),
              "feedback_on_time": ("feedback_on_time", "feedback_judged"),
              "completion_on_time": ("completion_on_time", "completion_judged"),
              "solved": ("solved", "solved_judged"),
              "redispatch": ("redispatched", "dispatched")}


class InputError(ValueError):
    """Bad input to a report: names the field and the problem (in Chinese)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclasses.dataclass(frozen=True)
class Period:
    start: dt.date
    end: dt.date  # inclusive

    @property
    def label(self) -> str:
        return f"{self.start.isoformat()} 至 {self.end.isoformat()}"

    def previous(self) -> "Period":
        """The period of equal length just before this one (for trends)."""
        length = self.end - self.start
        end = self.start - dt.timedelta(days=1)
        return Period(end - length, end)


def _date(value: str, field: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        raise InputError(field, f"日期格式应为 YYYY-MM-DD, 收到 {value!r}") from None


#: Years a period may cover (the hotline's own; keeps the previous period computable too).
YEARS = range(2000, 2100)


def parse_period(start: str | None = None, end: str | None = None, month: str | None = None,
                 quarter: str | None = None, year: str | None = None) -> Period:
    """One of: start+end (inclusive), month 2026-11, quarter 2026-Q4, year 2026."""
    period, field = _period(start, end, month, quarter, year)
    for day, bound in ((period.start, "start"), (period.end, "end")):
        if day.year not in YEARS:
            raise InputError(bound if field == "start" else field,
                             f"统计期间应在 {YEARS[0]}–{YEARS[-1]} 年之内, 收到 {day.year} 年")
    return period


def _period(start: str | None, end: str | None, month: str | None, quarter: str | None,
            year: str | None) -> tuple[Period, str]:
    """The period asked for, and the field that asked for it."""
    given = {name: value for name, value in (("month", month), ("quarter", quarter),
                                             ("year", year)) if value}
    if start or end:
        if given:
            raise InputError("start", "起止日期与月/季/年只能选一种")
        if not (start and end):
            raise InputError("end" if start else "start", "起止日期需同时给出")
        period = Period(_date(start, "start"), _date(end, "end"))
        if period.end < period.start:
            raise InputError("end", f"结束日期 {end} 早于开始日期 {start}")
        return period, "start"
    if len(given) != 1:
        raise InputError("period", "请给出统计期间: start+end、month、quarter 或 year 之一")
    (field, value), = given.items()
    patterns = {"month": r"(\d{4})-(\d{2})", "quarter": r"(\d{4})-Q([1-4])", "year": r"(\d{4})"}
    match = re.fullmatch(patterns[field], value)
    if not match:
        examples = {"month": "2026-11", "quarter": "2026-Q4", "year": "2026"}
        raise InputError(field, f"格式应如 {examples[field]}, 收到 {value!r}")
    year_number = int(match.group(1))
    if year_number not in YEARS:
        raise InputError(field, f"年份应在 {YEARS[0]}–{YEARS[-1]} 之间, 收到 {value!r}")
    if field == "year":
        return Period(dt.date(year_number, 1, 1), dt.date(year_number, 12, 31)), field
    first_month, months = ((int(match.group(2)), 1) if field == "month"
                           else ((int(match.group(2)) - 1) * 3 + 1, 3))
    if not 1 <= first_month <= 12:
        raise InputError(field, f"月份应为 01–12, 收到 {value!r}")
    last_month = first_month + months - 1
    return Period(dt.date(year_number, first_month, 1),
                  dt.date(year_number, last_month,
                          calendar.monthrange(year_number, last_month)[1])), field


def _rate(numerator: int, denominator: int) -> float | None:
    return numerator / denominator if denominator else None


def satisfaction_rate(counts: dict, config: AssessmentConfig) -> float | None:
    """评价满意率: the evaluations weighted by satisfaction_weights, over those evaluated."""
    weights = config.satisfaction_weights
    weighted = sum(weights[evaluation] * counts[evaluation] for evaluation in weights)
    return _rate(weighted, counts["evaluated"])


def composite_score(rates: dict, weights: dict) -> float | None:
    """Σ weight × rate over the rates that have a denominator, rescaled to their weights: 0–100."""
    present = {name: rates[name] for name in RATES if rates[name] is not None}
    total = sum(weights[name] for name in present)
    if not total:
        return None
    return 100 * sum(weights[name] * rate for name, rate in present.items()) / total


def with_rates(counts: dict, config: AssessmentConfig) -> dict:
    rates = {name: _rate(counts[top], counts[bottom]) for name, (top, bottom) in RATE_PARTS.items()}
    rates["satisfied"] = satisfaction_rate(counts, config)
    return counts | {f"{name}_rate": value for name, value in rates.items()} | {
        "score": composite_score(rates, config.indicator_weights)}


def unit_counts(db: sqlite3.Connection, period: Period) -> list[dict]:
    """The sums of COUNTS per (lead unit, township) of the period, over the appeals the
    connection's report scope counts (store.report_scope): one scan of the store, from which
    every group's rows are added up."""
    sums = ", ".join(f"COALESCE(SUM({expression}), 0) AS {name}"
                     for name, expression in COUNTS.items())
    return [dict(row) for row in db.execute(
        f"SELECT lead_unit, township, {sums} FROM reported_appeals "
        f"WHERE received_date BETWEEN ? AND ? GROUP BY lead_unit, township",
        (period.start.isoformat(), period.end.isoformat()))]


def check_group(group: str, unit: str | None, directory: Directory) -> None:
    if group not in GROUPS:
        raise InputError("group", f"应为 {' / '.join(GROUPS)} 之一, 收到 {group!r}")
    if unit is not None and group == "county":
        raise InputError("unit", "全县统计不按单位筛选 (omit unit, or choose another group)")
    if unit is not None and directory.unit(unit) is None:
        raise InputError("unit", f"目录中没有单位 {unit!r} (见单位目录 directory.yaml)")


def roll_up(counts: list[dict], group: str, config: AssessmentConfig, directory: Directory,
            unit: str | None = None) -> list[dict]:
    """One row per unit of the group; townships and departments are all listed, with or
    without appeals; `county` is one row."""
    check_group(group, unit, directory)
    totals: dict[str, dict] = {}
    for row in counts:
        key = "county" if group == "county" else row["township" if group == "township"
                                                       else "lead_unit"]
        if key is None or (group == "department" and directory.unit(key)
                           and directory.unit(key).territorial):
            continue
        total = totals.setdefault(key, {name: 0 for name in COUNTS})
        for name in COUNTS:
            total[name] += row[name]
    listed = ["county"] if group == "county" else _listed_units(group, directory)
    units = [unit_id for unit_id in dict.fromkeys(listed + sorted(totals))
             if unit in (None, unit_id)]
    empty = {name: 0 for name in COUNTS}
    return [with_rates(totals.get(unit_id, empty) | {
        "unit": unit_id, "unit_name": _unit_name(unit_id, directory)}, config)
        for unit_id in units]


def indicators(db: sqlite3.Connection, period: Period, config: AssessmentConfig,
               directory: Directory, group: str = "lead_unit",
               unit: str | None = None) -> list[dict]:
    check_group(group, unit, directory)
    return roll_up(unit_counts(db, period), group, config, directory, unit)


def all_indicators(db: sqlite3.Connection, period: Period, config: AssessmentConfig,
                   directory: Directory) -> dict[str, list[dict]]:
    """Every group's rows from one scan (the bulletin and the benchmark)."""
    counts = unit_counts(db, period)
    return {group: roll_up(counts, group, config, directory) for group in GROUPS}


def _listed_units(group: str, directory: Directory) -> list[str]:
    if group == "township":
        return [unit.id for unit in directory.units if unit.territorial]
    if group == "department":
        return [unit.id for unit in directory.units if unit.kind in DEPARTMENT_KINDS]
    return []


def _unit_name(unit_id: str, directory: Directory) -> str:
    if unit_id == "county":
        return "全县"
    unit = directory.unit(unit_id)
    return unit.name if unit else unit_id
