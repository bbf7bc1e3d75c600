"""Drill-down: the appeals behind every figure of the indicators, and why each counts as it does.

A figure is a count of COUNTS (受理件数, 超期件数 …), each appeal adding what its row's
expression gives, or a rate whose numerator and denominator are two such counts. The appeals
listed for a part are exactly those that add something to it, with what they add, so the
listed totals are the figure (tests/test_assessment_indicators.py checks it for every row and
figure of its fixture). Listed: number, title, units, receipt time, the deadline that decided
and when the step was done, and the reason in words ("签收超时 2 小时 13 分"); never a caller.
"""
from __future__ import annotations

import datetime as dt
import json
import sqlite3

from admin_data.assessment import AssessmentConfig
from admin_data.directory import Directory
from assessment import store
from assessment.indicators import COUNTS, RATE_PARTS, InputError, Period, check_group, indicators

STEPS = {"sign_for": "签收", "feedback": "首次反馈", "completion": "办结"}
EVALUATION_NAMES = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
#: The weighted count of the 评价满意率's numerator (weights: satisfaction_weights).
SATISFACTION = "satisfaction_weighted"

#: Figure → its name; then the parts (numerator, denominator, or the count itself).
FIGURE_NAMES = {
    "received": "受理件数", "dispatched": "派单件数", "closed": "办结件数",
    "sign_for_on_time_rate": "按时签收率", "feedback_on_time_rate": "按时反馈率",
    "completion_on_time_rate": "按时办结率", "solved_rate": "问题解决率",
    "satisfied_rate": "评价满意率", "unsatisfied": "不满意件数", "overdue": "超期件数",
    "major_risk": "重大风险件数", "supervision_level1": "一级督办", "supervision_level2": "二级督办",
    "supervision_level3": "三级督办", "redispatch_rate": "二次交办率", "improper_returns": "不当退单",
    "consultations": "1+X会商件数", "extensions": "延期件数", "merged": "合并件数",
}
RATE_FIGURE_PARTS = {f"{rate}_rate": (("numerator", top), ("denominator", bottom))
                     for rate, (top, bottom) in RATE_PARTS.items()} | {
    "satisfied_rate": (("numerator", SATISFACTION), ("denominator", "evaluated"))}
FIGURE_PARTS = {figure: RATE_FIGURE_PARTS.get(figure, (("count", figure),))
                for figure in FIGURE_NAMES}
PART_NAMES = {"numerator": "分子", "denominator": "分母", "count": "件数"}
COUNT_NAMES = {
    "sign_for_on_time": "按时签收", "sign_for_judged": "已判定签收时限",
    "feedback_on_time": "按时首次反馈", "feedback_judged": "已判定反馈时限",
    "completion_on_time": "按时办结", "completion_judged": "已判定办结时限",
    "solved": "确认已解决", "solved_judged": "回访记录了是否解决", "redispatched": "二次交办",
    "dispatched": "已派单", "evaluated": "已评价", SATISFACTION: "满意加权",
} | {count: name for count, name in FIGURE_NAMES.items() if count in COUNTS}
#: The deadline a figure's drill-down shows (else that of completion, with the reply time).
FIGURE_STEPS = {"sign_for_on_time_rate": "sign_for", "feedback_on_time_rate": "feedback"}


def part_expression(count: str, config: AssessmentConfig) -> str:
    if count == SATISFACTION:
        weights = config.satisfaction_weights
        return "(CASE evaluation " + " ".join(
            f"WHEN '{evaluation}' THEN {float(weights[evaluation])!r}" for evaluation in weights
        ) + " ELSE 0 END)"
    return COUNTS[count]


def check_figure(figure: str) -> None:
    if figure not in FIGURE_PARTS:
        raise InputError("figure", f"应为 {' / '.join(FIGURE_PARTS)} 之一, 收到 {figure!r}")


def counted_appeals(db: sqlite3.Connection, period: Period, figure: str, config: AssessmentConfig,
                    where: str = "", arguments: tuple = ()) -> list[dict]:
    """The appeals of the period (in the connection's report scope) that add to a part of the
    figure: their rows, with `part_<part>` what each adds."""
    check_figure(figure)
    parts = FIGURE_PARTS[figure]
    added = ", ".join(f"COALESCE({part_expression(count, config)}, 0) AS part_{part}"
                      for part, count in parts)
    any_part = " OR ".join(f"part_{part} <> 0" for part, _ in parts)
    return [dict(row) for row in db.execute(
        f"SELECT * FROM (SELECT *, {added} FROM reported_appeals "
        f"WHERE received_date BETWEEN ? AND ?{where}) WHERE {any_part} "
        f"ORDER BY received_at, appeal_number",
        (period.start.isoformat(), period.end.isoformat(), *arguments))]


def _unit_filter(group: str, unit: str | None, directory: Directory) -> tuple[str, tuple]:
    check_group(group, unit, directory)
    if group == "county":
        return "", ()
    if unit is None:
        raise InputError("unit", "请给出单位 id (全县口径 county 除外)")
    if group == "department" and directory.unit(unit).territorial:
        raise InputError("unit", f"{unit!r} 是乡镇(街道), 不在部门口径中: 请用 township 或 lead_unit")
    return f" AND {'township' if group == 'township' else 'lead_unit'} = ?", (unit,)


def explain(db: sqlite3.Connection, period: Period, figure: str, config: AssessmentConfig,
            directory: Directory, as_of: dt.datetime, group: str = "county",
            unit: str | None = None) -> dict:
    """One figure of one group row: its value and, per part, the appeals and why they count."""
    check_figure(figure)
    where, arguments = _unit_filter(group, unit, directory)
    rows = indicators(db, period, config, directory, group, unit)  # none: a lead unit idle
    value = rows[0][figure] if rows else (None if figure.endswith("_rate") else 0)
    appeals = counted_appeals(db, period, figure, config, where, arguments)
    parts = []
    for part, count in FIGURE_PARTS[figure]:
        listed = [appeal for appeal in appeals if appeal[f"part_{part}"]]
        parts.append({
            "part": part, "name": f"{PART_NAMES[part]}: {COUNT_NAMES[count]}",
            "total": _number(sum(appeal[f"part_{part}"] for appeal in listed)),
            "appeals": [detail(appeal, figure, count, appeal[f"part_{part}"], directory, as_of)
                        for appeal in listed]})
    return {"group": group, "unit": unit or "county", "unit_name": _name(unit, directory) or "全县",
            "figure": figure, "figure_name": FIGURE_NAMES[figure], "value": value,
            "parts": parts}


def _number(value: float) -> float | int:
    return int(value) if float(value).is_integer() else value


def detail(appeal: dict, figure: str, count: str, adds: float, directory: Directory,
           as_of: dt.datetime) -> dict:
    """What a drill-down lists of one appeal (no caller data)."""
    step = FIGURE_STEPS.get(figure) or _overdue_step(appeal, figure) or "completion"
    return {"appeal_number": appeal["appeal_number"], "title": appeal["title"] or "",
            "lead_unit": appeal["lead_unit"], "lead_unit_name": _name(appeal["lead_unit"], directory),
            "township_name": _name(appeal["township"], directory),
            "received_at": appeal["received_at"],
            "state": "已办结" if appeal["state"] == "closed" else "在办",
            "step": STEPS[step], "deadline": appeal[f"{step}_deadline"],
            "done_at": appeal[f"{step}_done_at"], "adds": _number(adds),
            "reason": reason(appeal, count, as_of),
            "synthetic": appeal["source"] == store.SYNTHETIC}


def _overdue_step(appeal: dict, figure: str) -> str | None:
    if figure != "overdue":
        return None
    return next((step for step in STEPS if appeal[f"{step}_overdue"]), None)


def _name(unit_id: str | None, directory: Directory) -> str:
    unit = directory.unit(unit_id) if unit_id else None
    return unit.name if unit else unit_id or ""


def duration(length: dt.timedelta) -> str:
    """2 小时 13 分, 1 天 3 小时, 不足 1 分."""
    minutes = int(length.total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    text = " ".join(f"{value} {unit}" for value, unit in ((days, "天"), (hours, "小时"),
                                                           (minutes, "分")) if value)
    return text or "不足 1 分"


def _moment(text: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(text) if text else None


def step_reason(appeal: dict, step: str, as_of: dt.datetime) -> str:
    name = STEPS[step]
    deadline = _moment(appeal[f"{step}_deadline"])
    done = _moment(appeal[f"{step}_done_at"])
    if not appeal[f"{step}_judged"]:
        return f"{name}尚未到判定时点"
    if appeal[f"{step}_on_time"]:
        text = f"按时{name}" + (f", 早于时限 {duration(deadline - done)}"
                              if deadline and done else "")
        extended = step == "completion" and appeal["extension_approved"]
        return text + (" (按批准延期后的时限)" if extended else "")
    if done and deadline and done > deadline:
        return f"{name}超时 {duration(done - deadline)}"
    if not done and deadline and as_of > deadline:
        return f"{name}超时未办: 截至 {as_of:%Y-%m-%d %H:%M} 已超时限 {duration(as_of - deadline)}"
    return f"{name}超期 (时限计时器已触发)"


def reason(appeal: dict, count: str, as_of: dt.datetime) -> str:
    """Why the appeal adds to `count`, in words."""
    for step in STEPS:
        if count in (f"{step}_on_time", f"{step}_judged"):
            return step_reason(appeal, step, as_of)
    if count == "overdue":
        late = [step_reason(appeal, step, as_of) for step in STEPS if appeal[f"{step}_overdue"]]
        return "; ".join(late) or "超期标记已设置"
    if count.startswith("supervision_level"):
        return f"{FIGURE_NAMES[count]} {appeal[count]} 次"
    evaluation = EVALUATION_NAMES.get(appeal["evaluation"] or "", "")
    texts = {
        "received": f"受理于 {appeal['received_at']}",
        "dispatched": f"派单 {appeal['unit_runs']} 次",
        "closed": f"已办结于 {appeal['closed_at']}",
        "solved": "回访确认已解决", "evaluated": f"评价: {evaluation}",
        "solved_judged": "回访确认" + ("已解决" if appeal["solved_confirmed"] else "未解决"),
        SATISFACTION: f"评价: {evaluation}", "unsatisfied": "评价: 不满意",
        "redispatched": f"二次交办 {appeal['redispatch_count']} 次",
        "improper_returns": f"不当退单 {appeal['improper_return_count']} 次",
        "consultations": f"1+X会商 {appeal['consultations']} 次",
        "extensions": f"延期已批准, 办结时限 {appeal['completion_deadline'] or '—'}",
        "major_risk": "重大风险词: " + "、".join(json.loads(appeal["major_risk_words"] or "[]")),
        "merged": f"已并入工单 {appeal['merged_into']}",
    }
    return texts[count]
