"""The monthly 通报 bulletin (XLSX workbook and the data of its printable page) and CSV export.

Everything shown is counted per unit or per issue: no appeal's caller, and no caller key,
appears in any column (repeat groups are listed by basis, place and category only).
"""
from __future__ import annotations

import csv
import dataclasses
import io
import sqlite3

from assessment import store
from assessment.analysis import act_before_list, surges, top_problems, week_start
from admin_data.assessment import AssessmentConfig
from assessment.indicators import GROUPS, Period, all_indicators
from assessment.sync import LAST_SYNC
from admin_data.directory import Directory
from external_tasks.routing import Taxonomy

PERCENT, NUMBER, TEXT, SCORE = "percent", "number", "text", "score"

#: Indicator columns: (key, header, format), in the order bulletins show them.
INDICATOR_COLUMNS = (
    ("unit_name", "单位", TEXT),
    ("received", "受理件数", NUMBER),
    ("dispatched", "派单件数", NUMBER),
    ("closed", "办结件数", NUMBER),
    ("sign_for_on_time_rate", "按时签收率", PERCENT),
    ("feedback_on_time_rate", "按时反馈率", PERCENT),
    ("completion_on_time_rate", "按时办结率", PERCENT),
    ("solved_rate", "问题解决率", PERCENT),
    ("satisfied_rate", "评价满意率", PERCENT),
    ("unsatisfied", "不满意件数", NUMBER),
    ("overdue", "超期件数", NUMBER),
    ("major_risk", "重大风险件数", NUMBER),
    ("supervision_level1", "一级督办", NUMBER),
    ("supervision_level2", "二级督办", NUMBER),
    ("supervision_level3", "三级督办", NUMBER),
    ("redispatch_rate", "二次交办率", PERCENT),
    ("improper_returns", "不当退单", NUMBER),
    ("consultations", "1+X会商件数", NUMBER),
    ("extensions", "延期件数", NUMBER),
    ("score", "综合得分", SCORE),
)
PROBLEM_COLUMNS = (("category_name", "诉求分类", TEXT), ("appeals", "本期件数", NUMBER),
                   ("previous", "上期件数", NUMBER), ("change", "环比", PERCENT),
                   ("unsatisfied", "不满意件数", NUMBER))
SURGE_COLUMNS = (("township_name", "乡镇(街道)", TEXT), ("category_name", "诉求分类", TEXT),
                 ("count", "本周件数", NUMBER), ("baseline", "基线(周均)", SCORE),
                 ("p_value", "偶然概率", SCORE))
ACT_BEFORE_COLUMNS = (("township_name", "乡镇(街道)", TEXT), ("category_name", "诉求分类", TEXT),
                      ("this_week", "本周件数", NUMBER), ("forecast", "下周预计", SCORE),
                      ("reasons_text", "依据", TEXT))
GROUP_SHEETS = ("township", "department", "lead_unit", "county")


@dataclasses.dataclass
class Bulletin:
    title: str
    period: Period
    as_of: str
    indicators: dict[str, list[dict]]
    problems: list[dict]
    surges: list[dict]
    act_before: list[dict]


def build_bulletin(db: sqlite3.Connection, period: Period, config: AssessmentConfig,
                   directory: Directory, taxonomy: Taxonomy) -> Bulletin:
    """The bulletin of `period`, as of the last sync; surges and the 未诉先办 list are those
    of its last week."""
    last_week = week_start(period.end)
    names = Names(directory, taxonomy)
    return Bulletin(
        title=f"萧县12345政务服务便民热线办理情况通报 ({period.label})",
        period=period, as_of=store.state(db, LAST_SYNC) or "尚未同步 (never synced)",
        indicators=all_indicators(db, period, config, directory),
        problems=[names.fill(row) for row in top_problems(db, period)],
        surges=[names.fill(row) for row in surges(db, last_week, config.surge)],
        act_before=[names.fill(row) | {"reasons_text": "; ".join(row["reasons"])}
                    for row in act_before_list(db, last_week, config)])


class Names:
    def __init__(self, directory: Directory, taxonomy: Taxonomy):
        self.directory = directory
        self.taxonomy = taxonomy

    def fill(self, row: dict) -> dict:
        leaf = self.taxonomy.leaf(row.get("category_code"))
        unit = self.directory.unit(row.get("township") or "")
        return row | {"category_name": leaf.full_name if leaf else row.get("category_code") or "",
                      "township_name": unit.name if unit else row.get("township") or ""}


def _cell(value, kind: str):
    if value is None:
        return "—"
    if kind == PERCENT:
        return round(value, 4)
    if kind == SCORE:
        return round(value, 2) if value >= 0.01 or value == 0 else float(f"{value:.2g}")
    return value


def write_workbook(bulletin: Bulletin, stream: io.BufferedIOBase) -> None:
    """Sheets: 说明, one per group (乡镇(街道), 部门, 牵头单位, 全县), 突出问题, 激增预警, 未诉先办."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    workbook = Workbook()
    notes = workbook.active
    notes.title = "说明"
    for line in (bulletin.title, f"统计期间: {bulletin.period.label} (按受理日期)",
                 f"数据截至: {bulletin.as_of}",
                 "比率 = 分子 / 分母 (公式与示例见 docs/assessment.md); 无分母时记为 —",
                 "综合得分 = Σ 权重 × 比率 (权重见考核设置 assessment.yaml)",
                 "本表不含来电人姓名、电话等个人信息"):
        notes.append([line])
    notes["A1"].font = Font(bold=True, size=14)
    notes.column_dimensions["A"].width = 90
    sheets = [(GROUPS[group], INDICATOR_COLUMNS, bulletin.indicators[group])
              for group in GROUP_SHEETS]
    sheets += [("突出问题", PROBLEM_COLUMNS, bulletin.problems),
               ("激增预警", SURGE_COLUMNS, bulletin.surges),
               ("未诉先办", ACT_BEFORE_COLUMNS, bulletin.act_before)]
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title)
        sheet.append([header for _, header, _ in columns])
        for cell in sheet[1]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        for row in rows:
            sheet.append([_cell(row.get(key), kind) for key, _, kind in columns])
        for index, (_, _, kind) in enumerate(columns, start=1):
            letter = sheet.cell(row=1, column=index).column_letter
            sheet.column_dimensions[letter].width = 28 if kind == TEXT else 12
            if kind == PERCENT:
                for (cell,) in sheet.iter_rows(min_row=2, min_col=index, max_col=index):
                    cell.number_format = "0.0%"
        sheet.freeze_panes = "B2"
    workbook.save(stream)


def write_csv(rows: list[dict], stream: io.TextIOBase) -> None:
    """Indicator rows as CSV (UTF-8 with BOM when written by the console, so Excel reads it)."""
    writer = csv.writer(stream)
    writer.writerow(["unit"] + [header for _, header, _ in INDICATOR_COLUMNS])
    for row in rows:
        writer.writerow([row["unit"]] + ["" if row.get(key) is None else _cell(row[key], kind)
                                         for key, _, kind in INDICATOR_COLUMNS])
