"""The monthly 通报 bulletin (XLSX workbook and the data of its printable page) and CSV export.

Everything shown is counted per unit or per issue: no appeal's caller, and no caller key,
appears in any column (repeat groups are listed by basis, place and category only). The
workbook's 明细 sheets list, per figure, every appeal behind it and what it adds to each part.
A report that counts synthetic appeals says so on its every sheet and page (`synthetic_label`).
"""
from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import sqlite3

from assessment import store
from assessment.analysis import act_before_list, surges, top_problems, week_start
from admin_data.assessment import AssessmentConfig
from assessment.drilldown import (SCORE_NOTE, Names, explain_problem, explain_surge,
                                  score_components)
from assessment.explain import FIGURE_NAMES, FIGURE_PARTS, PART_NAMES, counted_appeals, detail
from assessment.indicators import GROUPS, Period, all_indicators
from assessment.sync import LAST_SYNC
from admin_data.directory import Directory
from external_tasks.routing import Taxonomy

PERCENT, NUMBER, TEXT, SCORE = "percent", "number", "text", "score"

#: Indicator columns: (key, header, format), in the order bulletins show them.
INDICATOR_COLUMNS = (("unit_name", "单位", TEXT),) + tuple(
    (figure, name, PERCENT if figure.endswith("_rate") else NUMBER)
    for figure, name in FIGURE_NAMES.items()) + (("score", "综合得分", SCORE),)
#: Columns of a 明细 sheet before the parts (what each appeal adds) and the reason.
DETAIL_COLUMNS = (("appeal_number", "工单编号"), ("title", "标题"), ("lead_unit_name", "牵头单位"),
                  ("township_name", "乡镇(街道)"), ("received_at", "受理时间"), ("state", "状态"),
                  ("step", "环节"), ("deadline", "时限"), ("done_at", "完成时间"))
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
#: The 明细 sheets of the composite score and of the 研判 tables: name → (title, columns).
APPEAL_COLUMNS = tuple((key, header, TEXT) for key, header in DETAIL_COLUMNS[:6]) + (
    ("reason", "原因", TEXT),)
TABLE_DETAILS = {
    "score": ("明细-综合得分", (
        ("group_name", "口径", TEXT), ("unit_name", "单位", TEXT), ("figure_name", "指标", TEXT),
        ("value", "比率", PERCENT), ("weight", "权重", NUMBER), ("share", "权重占比", PERCENT),
        ("points", "得分贡献", SCORE), ("score", "综合得分", SCORE))),
    "problems": ("明细-突出问题", (("category_name", "诉求分类", TEXT),
                                ("part_name", "计入", TEXT)) + APPEAL_COLUMNS),
    "surges": ("明细-激增预警", (("township_name", "乡镇(街道)", TEXT),
                               ("category_name", "诉求分类", TEXT),
                               ("part_name", "计入", TEXT)) + APPEAL_COLUMNS),
}


@dataclasses.dataclass
class Bulletin:
    title: str
    period: Period
    as_of: str
    indicators: dict[str, list[dict]]
    problems: list[dict]
    surges: list[dict]
    act_before: list[dict]
    synthetic: int  # synthetic appeals counted (0 unless the report scope includes them)
    details: dict[str, list[dict]]  # figure → its appeals (the 明细 sheets), when asked for
    #: score | problems | surges → the rows of its 明细 sheet (TABLE_DETAILS), when asked for
    table_details: dict[str, list[dict]] = dataclasses.field(default_factory=dict)

    @property
    def synthetic_label(self) -> str | None:
        return synthetic_label(self.synthetic)


def synthetic_label(count: int) -> str | None:
    """The warning every page and sheet of a report counting synthetic appeals carries."""
    if not count:
        return None
    return (f"注意: 本报表含合成(模拟)工单 {count} 件, 仅供演示和测试, 不是真实工单, "
            "不得用于考核")


def last_sync(db: sqlite3.Connection) -> str:
    return store.state(db, LAST_SYNC) or "尚未同步"


def build_bulletin(db: sqlite3.Connection, period: Period, config: AssessmentConfig,
                   directory: Directory, taxonomy: Taxonomy, details: bool = False) -> Bulletin:
    """The bulletin of `period` over the connection's report scope, as of the last sync; surges
    and the 未诉先办 list are those of its last week; `details`: the appeals of each figure."""
    last_week = week_start(period.end)
    names = Names(directory, taxonomy)
    as_of = last_sync(db)
    bulletin = Bulletin(
        title=f"萧县12345政务服务便民热线办理情况通报 ({period.label})",
        period=period, as_of=as_of,
        indicators=all_indicators(db, period, config, directory),
        problems=[names.fill(row) for row in top_problems(db, period)],
        surges=[names.fill(row) for row in surges(db, last_week, config.surge)],
        act_before=[names.fill(row) | {"reasons_text": "; ".join(row["reasons"])}
                    for row in act_before_list(db, last_week, config)],
        synthetic=store.synthetic_count(db, period.start.isoformat(), period.end.isoformat()),
        details={figure: figure_details(db, period, figure, config, directory, as_of)
                 for figure in FIGURE_NAMES} if details else {})
    if details:
        bulletin.table_details = table_details(db, bulletin, config, names)
    return bulletin


def table_details(db: sqlite3.Connection, bulletin: Bulletin, config: AssessmentConfig,
                  names: Names) -> dict[str, list[dict]]:
    """The rows of the 明细 sheets of the composite score (per group and unit, its components)
    and of the 突出问题 and 激增预警 tables (per row, its appeals under the count they add to)."""
    score = [component | {"group_name": GROUPS[group], "unit_name": row["unit_name"],
                          "score": row["score"]}
             for group in GROUP_SHEETS for row in bulletin.indicators[group]
             for component in score_components(row, config.indicator_weights)]
    period = bulletin.period
    problems = [{"category_name": row["category_name"], "part_name": part["name"]} | appeal
                for row in bulletin.problems
                for part in explain_problem(db, period, row["category_code"], names)["parts"]
                for appeal in part["appeals"]]
    surge_rows = [{"part_name": part["name"]} | appeal | {
                  "township_name": row["township_name"], "category_name": row["category_name"]}
                  for row in bulletin.surges
                  for part in explain_surge(db, period, row["township"], row["category_code"],
                                            config, names)["parts"]
                  for appeal in part["appeals"]]
    return {"score": score, "problems": problems, "surges": surge_rows}


def as_of_moment(as_of: str) -> dt.datetime:
    """The time open appeals are judged at: that of the last sync (now if none)."""
    try:
        return dt.datetime.fromisoformat(as_of)
    except ValueError:
        return dt.datetime.now().astimezone()


def figure_details(db: sqlite3.Connection, period: Period, figure: str, config: AssessmentConfig,
                   directory: Directory, as_of: str) -> list[dict]:
    """Every appeal behind a figure, over all units: what it adds to each part, and why."""
    moment = as_of_moment(as_of)
    rows = []
    for appeal in counted_appeals(db, period, figure, config):
        reasons = [detail(appeal, figure, count, appeal[f"part_{part}"], directory, moment)
                   for part, count in FIGURE_PARTS[figure] if appeal[f"part_{part}"]]
        rows.append(reasons[0] | {f"part_{part}": appeal[f"part_{part}"]
                                  for part, _ in FIGURE_PARTS[figure]}
                    | {"reason": "; ".join(dict.fromkeys(row["reason"] for row in reasons))})
    return rows


def _cell(value, kind: str):
    if value is None:
        return "—"
    if kind == PERCENT:
        return round(value, 4)
    if kind == SCORE:
        return round(value, 2) if value >= 0.01 or value == 0 else float(f"{value:.2g}")
    return value


def write_workbook(bulletin: Bulletin, stream: io.BufferedIOBase) -> None:
    """Sheets: 说明, one per group (乡镇(街道), 部门, 牵头单位, 全县), 突出问题, 激增预警, 未诉先办,
    then a 明细 sheet per figure when the bulletin has its details. A bulletin counting
    synthetic appeals says so in the first row of every sheet and in every printed page's
    header."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.hyperlink import Hyperlink

    workbook = Workbook()
    notes = workbook.active
    notes.title = "说明"
    for line in (bulletin.title, f"统计期间: {bulletin.period.label} (按受理日期)",
                 f"数据截至: {bulletin.as_of}",
                 "比率 = 分子 / 分母 (公式与示例见 docs/assessment.md); 无分母时记为 —",
                 SCORE_NOTE,
                 "明细表: 每项指标一张, 列出计入的每件工单及计入分子/分母的数量和原因; "
                 "按牵头单位或乡镇筛选即得各行的数",
                 "明细-综合得分: 每个单位的各项比率、权重、权重占比和得分贡献 (之和即综合得分); "
                 "明细-突出问题、明细-激增预警: 每行的数所计入的工单",
                 "本表不含来电人姓名、电话等个人信息"):
        notes.append([line])
    notes["A1"].font = Font(bold=True, size=14)
    notes.column_dimensions["A"].width = 90
    sheets = [(GROUPS[group], INDICATOR_COLUMNS, bulletin.indicators[group])
              for group in GROUP_SHEETS]
    sheets += [("突出问题", PROBLEM_COLUMNS, bulletin.problems),
               ("激增预警", SURGE_COLUMNS, bulletin.surges),
               ("未诉先办", ACT_BEFORE_COLUMNS, bulletin.act_before)]
    sheets += [(f"明细-{FIGURE_NAMES[figure]}", _detail_columns(figure), rows)
               for figure, rows in bulletin.details.items()]
    sheets += [(*TABLE_DETAILS[table], rows) for table, rows in bulletin.table_details.items()]
    sheet_titles = {title for title, _, _ in sheets}
    for title, columns, rows in sheets:
        sheet = workbook.create_sheet(title)
        if bulletin.synthetic_label:
            sheet.append([bulletin.synthetic_label])
            sheet.cell(row=1, column=1).font = Font(bold=True, color="C00000")
        sheet.append([header for _, header, _ in columns])
        header_row = sheet.max_row
        for cell in sheet[header_row]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center", wrap_text=True)
        for row in rows:
            sheet.append([_cell(row.get(key), kind) for key, _, kind in columns])
            for cell, (key, _, _) in zip(sheet[sheet.max_row], columns):  # to its 明细 sheet
                target = _detail_sheet(title, key, row)
                if target in sheet_titles:
                    cell.hyperlink = Hyperlink(ref=cell.coordinate, location=f"'{target}'!A1")
        for index, (key, _, kind) in enumerate(columns, start=1):
            letter = sheet.cell(row=header_row, column=index).column_letter
            sheet.column_dimensions[letter].width = 28 if kind == TEXT else 12
            if kind == PERCENT:
                for (cell,) in sheet.iter_rows(min_row=header_row + 1, min_col=index,
                                               max_col=index):
                    cell.number_format = "0.0%"
        sheet.freeze_panes = sheet.cell(row=header_row + 1, column=2)
    if bulletin.synthetic_label:
        notes.insert_rows(1)
        notes["A1"] = bulletin.synthetic_label
        notes["A1"].font = Font(bold=True, color="C00000")
        for sheet in workbook.worksheets:
            sheet.oddHeader.center.text = bulletin.synthetic_label
    workbook.save(stream)


#: 研判 sheet → its counts that have a 明细 sheet.
TABLE_COUNTS = {"突出问题": ("appeals", "previous", "unsatisfied"), "激增预警": ("count", "baseline")}


def _detail_sheet(title: str, key: str, row: dict) -> str | None:
    """The 明细 sheet a cell of sheet `title` links to (the caller checks that it exists)."""
    if title in GROUPS.values():
        return TABLE_DETAILS["score"][0] if key == "score" else f"明细-{FIGURE_NAMES.get(key)}"
    if key in TABLE_COUNTS.get(title, ()):
        return f"明细-{title}"
    if title == TABLE_DETAILS["score"][0] and key == "figure_name":
        return f"明细-{row['figure_name']}"
    return None


def _detail_columns(figure: str) -> tuple:
    parts = tuple((f"part_{part}", f"计入{PART_NAMES[part]}", NUMBER)
                  for part, _ in FIGURE_PARTS[figure])
    return tuple((key, header, TEXT) for key, header in DETAIL_COLUMNS) + parts + (
        ("reason", "原因", TEXT),)


def write_csv(rows: list[dict], stream: io.TextIOBase, label: str | None = None) -> None:
    """Indicator rows as CSV (UTF-8 with BOM when written by the console, so Excel reads it);
    `label` (the synthetic-data warning) first when given."""
    writer = csv.writer(stream)
    if label:
        writer.writerow([label])
    writer.writerow(["unit"] + [header for _, header, _ in INDICATOR_COLUMNS])
    for row in rows:
        writer.writerow([row["unit"]] + ["" if row.get(key) is None else _cell(row[key], kind)
                                         for key, _, kind in INDICATOR_COLUMNS])
