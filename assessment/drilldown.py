"""Drill-down of the 研判 tables and of the composite score: the appeals behind every number.

* 突出问题 (a category of the period): its appeals of the period, of the period before, and the
  unsatisfied ones, each listed under the count it adds one to;
* 激增预警 (a township × category of the period's last week): the week's appeals and those of
  the baseline weeks, with how the baseline, the expected count and the chance follow;
* weekly counts (a township × category × week): the appeals of that row;
* 综合得分 (a unit of a group): each rate it is made of, with its figure, weight, share of the
  weights present and the points it gives, and that rate's own drill-down (assessment.explain).

The appeals are selected by the very conditions the tables count by (assessment.analysis), so
the listed totals are the numbers (tests/test_assessment_indicators.py checks every row of its
fixture). Listed: number, title, units, category, receipt time, state and why it counts; never a
caller.
"""
from __future__ import annotations

import datetime as dt
import sqlite3

from admin_data.assessment import RATES, AssessmentConfig
from admin_data.directory import Directory
from admin_data.workdays import SHANGHAI
from assessment import store
from assessment.analysis import (WEEKLY_ROW, baseline_span, poisson_tail, problem_counts,
                                 week_start)
from assessment.explain import FIGURE_NAMES, explain
from assessment.indicators import InputError, Period, indicators
from external_tasks.routing import Taxonomy

TABLES = {"problems": "突出问题", "surges": "激增预警", "weekly": "乡镇 × 分类 × 周"}
PROBLEM_PART_NAMES = {"appeals": "本期件数", "previous": "上期件数", "unsatisfied": "不满意件数"}
SURGE_PART_NAMES = {"count": "本周件数", "baseline": "基线各周件数"}
WEEKLY_PART_NAMES = {"appeals": "件数"}
SCORE = "score"


class Names:
    """Unit and category names of the directory and the taxonomy."""

    def __init__(self, directory: Directory, taxonomy: Taxonomy):
        self.directory = directory
        self.taxonomy = taxonomy

    def unit(self, unit_id: str | None) -> str:
        unit = self.directory.unit(unit_id) if unit_id else None
        return unit.name if unit else unit_id or ""

    def category(self, code: str | None) -> str:
        leaf = self.taxonomy.leaf(code) if code else None
        return leaf.full_name if leaf else code or "未分类"

    def fill(self, row: dict) -> dict:
        """A 研判 row with the names of its category and township."""
        return row | {"category_name": self.category(row.get("category_code")),
                      "township_name": self.unit(row.get("township"))}


def minute(moment: str | dt.date | None) -> str:
    """An ISO time as 2026-11-30 08:05 (Beijing time); a date as 2026-11-30."""
    if moment is None:
        return "—"
    if isinstance(moment, dt.date) and not isinstance(moment, dt.datetime):
        return moment.isoformat()
    return dt.datetime.fromisoformat(str(moment)).astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def listed_appeal(appeal: dict, reason: str, names: Names) -> dict:
    """What a drill-down lists of one appeal (no caller data); each adds one to its part."""
    return {"appeal_number": appeal["appeal_number"], "title": appeal["title"] or "",
            "lead_unit": appeal["lead_unit"], "lead_unit_name": names.unit(appeal["lead_unit"]),
            "township_name": names.unit(appeal["township"]),
            "category_name": names.category(appeal["category_code"]),
            "received_at": appeal["received_at"],
            "state": "已办结" if appeal["state"] == "closed" else "在办", "adds": 1,
            "reason": reason, "synthetic": appeal["source"] == store.SYNTHETIC}


def _part(db: sqlite3.Connection, part: str, name: str, condition: str, arguments: tuple,
          why, names: Names) -> dict:
    """The appeals (of the connection's report scope) meeting `condition`; `why(appeal)` says
    in words why each counts."""
    appeals = [dict(row) for row in db.execute(
        f"SELECT * FROM reported_appeals WHERE {condition} ORDER BY received_at, appeal_number",
        arguments)]
    return {"part": part, "name": name, "total": len(appeals),
            "appeals": [listed_appeal(appeal, why(appeal), names) for appeal in appeals]}


def _required(value: str | None, field: str, what: str) -> str:
    if not value:
        raise InputError(field, f"请给出{what}")
    return value


def explain_problem(db: sqlite3.Connection, period: Period, category: str | None,
                    names: Names) -> dict:
    """A 突出问题 row: the appeals behind its counts, and how its change follows from them."""
    category = _required(category, "category", "诉求分类代码 category")
    before = period.previous()
    spans = {"appeals": f"本期 ({period.label})", "previous": f"上期 ({before.label})",
             "unsatisfied": f"本期 ({period.label})"}
    parts = []
    for part, (condition, arguments) in problem_counts(period).items():
        def why(appeal, part=part):
            evaluated = ", 回访评价: 不满意" if part == "unsatisfied" else ""
            return f"{spans[part]} 受理于 {minute(appeal['received_at'])}{evaluated}"
        parts.append(_part(db, part, PROBLEM_PART_NAMES[part],
                           f"category_code = ? AND {condition}", (category, *arguments), why,
                           names))
    now, previous = parts[0]["total"], parts[1]["total"]
    change = (f"环比 = (本期 {now} − 上期 {previous}) / 上期 {previous} = "
              f"{(now - previous) / previous:+.1%}" if previous
              else "上期无此类诉求, 环比无法计算 (记为 —)")
    return {"title": names.category(category), "category_code": category,
            "category_name": names.category(category), "value": now, "parts": parts,
            "notes": [change, "突出问题按本期件数排序, 列前 10 类"]}


def explain_surge(db: sqlite3.Connection, period: Period, township: str | None,
                  category: str | None, config: AssessmentConfig, names: Names) -> dict:
    """A 激增预警 row (of the period's last week): the week's appeals, those of the baseline
    weeks, and the rule's arithmetic on them."""
    township = _required(township, "township", "乡镇(街道) id township")
    category = _required(category, "category", "诉求分类代码 category")
    rule, week = config.surge, week_start(period.end)
    first, last = baseline_span(week, rule.baseline_weeks)
    place = "township = ? AND category_code = ? AND "
    parts = [
        _part(db, "count", SURGE_PART_NAMES["count"], place + "received_week = ?",
              (township, category, week.isoformat()),
              lambda appeal: f"本周 ({week} 起) 受理于 {minute(appeal['received_at'])}", names),
        _part(db, "baseline", SURGE_PART_NAMES["baseline"],
              place + "received_week BETWEEN ? AND ?",
              (township, category, first.isoformat(), last.isoformat()),
              lambda appeal: f"基线周 ({appeal['received_week']} 起的一周) 受理于 "
                             f"{minute(appeal['received_at'])}", names)]
    count, total = parts[0]["total"], parts[1]["total"]
    baseline = total / rule.baseline_weeks
    expected = max(baseline, rule.baseline_floor)
    chance = poisson_tail(count, expected)
    alarm = count >= rule.min_count and chance < rule.alpha
    notes = [f"基线 = 前 {rule.baseline_weeks} 周 ({first} 至 {last + dt.timedelta(days=6)}) "
             f"共 {total} 件 ÷ {rule.baseline_weeks} = {baseline:.2f} 件/周",
             f"期望 = max(基线, 下限 {rule.baseline_floor:g}) = {expected:.2f} 件/周",
             f"偶然概率 = 按泊松分布本周达到 {count} 件及以上的概率 = {chance:.2g}",
             f"激增条件: 本周 ≥ {rule.min_count} 件且偶然概率 < {rule.alpha:g} → "
             + ("满足, 列入激增预警" if alarm else "不满足")]
    return {"title": f"{names.unit(township)} · {names.category(category)} · {week} 起的一周",
            "township": township, "township_name": names.unit(township),
            "category_code": category, "category_name": names.category(category),
            "week": week, "value": count, "parts": parts, "notes": notes}


def explain_weekly(db: sqlite3.Connection, period: Period, week: str | None,
                   township: str | None, category: str | None, names: Names) -> dict:
    """A row of the weekly counts: its appeals (no township or category given: those without)."""
    week = _required(week, "week", "周一的日期 week (YYYY-MM-DD)")
    try:
        monday = dt.date.fromisoformat(week)
    except ValueError:
        raise InputError("week", f"日期格式应为 YYYY-MM-DD, 收到 {week!r}") from None
    if monday.weekday():
        raise InputError("week", f"{week} 不是周一")
    part = _part(db, "appeals", WEEKLY_PART_NAMES["appeals"],
                 f"received_date BETWEEN ? AND ? AND {WEEKLY_ROW}",
                 (period.start.isoformat(), period.end.isoformat(), week, township or None,
                  category or None),
                 lambda appeal: f"{week} 起的一周受理于 {minute(appeal['received_at'])}", names)
    return {"title": f"{names.unit(township) or '未定乡镇'} · {names.category(category)} · "
                     f"{week} 起的一周", "township": township or None,
            "township_name": names.unit(township), "category_code": category or None,
            "category_name": names.category(category), "week": monday, "value": part["total"],
            "parts": [part], "notes": ["只计统计期间内受理的工单 (一周跨期时只计期内部分)"]}


def explain_table(db: sqlite3.Connection, period: Period, table: str, config: AssessmentConfig,
                  names: Names, township: str | None = None, category: str | None = None,
                  week: str | None = None) -> dict:
    """One row of a 研判 table: its number, the appeals behind it and how it follows."""
    if table == "problems":
        explained = explain_problem(db, period, category, names)
    elif table == "surges":
        explained = explain_surge(db, period, township, category, config, names)
    elif table == "weekly":
        explained = explain_weekly(db, period, week, township, category, names)
    else:
        raise InputError("table", f"应为 {' / '.join(TABLES)} 之一, 收到 {table!r}")
    return {"table": table, "table_name": TABLES[table]} | explained


def score_components(row: dict | None, weights: dict) -> list[dict]:
    """The rates a 综合得分 is made of (row: a unit's indicators; None: no appeal): each with its
    figure, weight, share of the weights of the rates that have a denominator, and the points
    it gives — their sum is the score (assessment.indicators.composite_score)."""
    values = {rate: row[f"{rate}_rate"] if row else None for rate in RATES}
    present = sum(weights[rate] for rate in RATES if values[rate] is not None)
    components = []
    for rate in RATES:
        counted = values[rate] is not None and present > 0
        share = weights[rate] / present if counted else 0
        components.append({"figure": f"{rate}_rate", "figure_name": FIGURE_NAMES[f"{rate}_rate"],
                           "value": values[rate], "weight": weights[rate], "share": share,
                           "points": 100 * share * values[rate] if counted else None,
                           "counted": counted})
    return components


SCORE_NOTE = ("综合得分 = Σ 权重占比 × 比率 × 100; 权重见考核设置 (assessment.yaml), 无分母的比率"
              "不计, 其余比率的权重按比例放大到 100%")


def explain_score(db: sqlite3.Connection, period: Period, config: AssessmentConfig,
                  directory: Directory, as_of: dt.datetime, group: str = "county",
                  unit: str | None = None) -> dict:
    """How a unit's 综合得分 is made: its components (score_components), each with its own
    drill-down (numerator and denominator with their appeals)."""
    rows = indicators(db, period, config, directory, group, unit)  # none: a lead unit idle
    components = score_components(rows[0] if rows else None, config.indicator_weights)
    explained = [explain(db, period, component["figure"], config, directory, as_of, group, unit)
                 for component in components]
    score = rows[0][SCORE] if rows else None
    return {"group": group, "unit": unit or "county", "unit_name": explained[0]["unit_name"],
            "figure": SCORE, "figure_name": "综合得分", "value": score, "parts": [],
            "components": [component | {"parts": rate["parts"]}
                           for component, rate in zip(components, explained)],
            "notes": [SCORE_NOTE] + ([] if score is not None else ["各比率均无分母, 无综合得分"])}
