"""考核 and 研判 in the console: indicators, analysis and the monthly bulletin as JSON, CSV and
XLSX under /api/v1/assessment/, the sync from the engine, and two pages (/assessment and the
printable bulletin /assessment/bulletin, behind the console login) that read the same API with
the login session.

Every report is computed from the analytical store (assessment/store.py); `POST
/api/v1/assessment/sync` brings it up to date. No report carries a caller's name or phone.
Synthetic appeals count only when `include_synthetic` (by default in the demo profile, never in
production unless asked), and every report counting them carries `synthetic_label`.
"""
from __future__ import annotations

import datetime as dt
import functools
import io

from flask import Blueprint, Response, current_app, render_template, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from assessment import store
from assessment.analysis import (act_before_list, repeats, surges, top_problems, week_start,
                                 weekly_counts)
from assessment.bulletin import (as_of_moment, build_bulletin, last_sync, synthetic_label,
                                 write_csv, write_workbook)
from assessment.drilldown import SCORE, TABLES, Names, explain_score, explain_table
from assessment.explain import FIGURE_PARTS, explain
from admin_data.assessment import AssessmentConfigError, ASSESSMENT
from assessment.indicators import COUNTS, GROUPS, InputError, indicators, parse_period
from assessment.sync import sync
from console.admin import auth
from console.api import api, error_response, requires_scope_or_login, responds_with
from console.api_clients import ADMIN, ASSESSMENT_READ
from console.jobs import Job, JobKind
from admin_data.directory import DIRECTORY
from admin_data.environment import Settings
from external_tasks.camunda import EngineClient
from admin_data.taxonomy import TAXONOMY
from admin_data.workdays import SHANGHAI

pages = Blueprint("assessment_pages", __name__, url_prefix="/assessment",
                  template_folder="templates", static_folder="static")

TREND_MONTHS_MAX = 36



def _synced(report) -> list[str]:
    return [f"已同步: 办结 {report.closed} 件, 在办 {report.open} 件"]


#: One sync at a time, from the page or the API.
SYNC_JOB = JobKind("assessment-sync", "同步引擎数据", auth.STAFF, describe=_synced)
PERIOD_HELP = "统计期间: start+end (YYYY-MM-DD, 含两端)、month (2026-11)、quarter (2026-Q4) 或 year"


class SyntheticChoiceSchema(Schema):
    include_synthetic = fields.Boolean(load_default=None, metadata={
        "description": "是否计入合成(模拟)工单; 默认: 演示环境 (SUBAN_PROFILE=demo) 计入, "
                       "正式环境不计入。计入时报表带 synthetic_label 提示"})


class PeriodQuerySchema(SyntheticChoiceSchema):
    """Query parameters of every report; unknown ones are ignored."""
    class Meta:
        unknown = EXCLUDE

    start = fields.String(metadata={"description": "开始日期 YYYY-MM-DD", "example": "2026-11-01"})
    end = fields.String(metadata={"description": "结束日期 YYYY-MM-DD (含)",
                                  "example": "2026-11-30"})
    month = fields.String(metadata={"description": "月份 YYYY-MM", "example": "2026-11"})
    quarter = fields.String(metadata={"description": "季度 YYYY-Qn", "example": "2026-Q4"})
    year = fields.String(metadata={"description": "年份 YYYY", "example": "2026"})


class ReportQuerySchema(PeriodQuerySchema):
    group = fields.String(load_default="lead_unit", validate=validate.OneOf(
        list(GROUPS), error=f"「统计口径」应为 {' / '.join(GROUPS)} 之一"),
        metadata={"description": "统计口径 (默认 lead_unit)"})
    unit = fields.String(metadata={"description": "单位 id (目录中的)", "example": "yanji"})


class ExplainQuerySchema(ReportQuerySchema):
    group = fields.String(load_default="county", validate=validate.OneOf(
        list(GROUPS), error=f"「统计口径」应为 {' / '.join(GROUPS)} 之一"),
        metadata={"description": "统计口径 (默认 county)"})
    figure = fields.String(required=True, validate=validate.OneOf(
        [*FIGURE_PARTS, SCORE], error=f"「指标」应为 {' / '.join([*FIGURE_PARTS, SCORE])} 之一"),
        metadata={"description": "指标 (如 completion_on_time_rate; score: 综合得分的构成, "
                                 "各项比率及其工单)", "example": "completion_on_time_rate"})


class AnalysisExplainQuerySchema(PeriodQuerySchema):
    table = fields.String(required=True, validate=validate.OneOf(
        list(TABLES), error=f"「研判表」应为 {' / '.join(TABLES)} 之一"), metadata={
        "description": "研判表: problems 突出问题 (须 category), surges 激增预警 (本期最后一周; "
                       "须 township 和 category), weekly 乡镇 × 分类 × 周 (须 week; township、"
                       "category 不给即「无」)", "example": "problems"})
    township = fields.String(metadata={"description": "乡镇(街道) id", "example": "yanji"})
    category = fields.String(metadata={"description": "诉求分类代码",
                                       "example": "construction.propertyService"})
    week = fields.String(metadata={"description": "周一的日期 YYYY-MM-DD (weekly)",
                                   "example": "2026-11-23"})


class PeriodSchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)


#: Rate → its name in the bulletin (rates are 0–1, null when they have no denominator).
RATE_NAMES = {"sign_for_on_time_rate": "按时签收率", "feedback_on_time_rate": "按时反馈率",
              "completion_on_time_rate": "按时办结率", "solved_rate": "问题解决率",
              "satisfied_rate": "评价满意率", "redispatch_rate": "二次交办率"}

#: One unit's indicators: the counts of assessment.indicators.COUNTS, the rates and the score.
IndicatorRowSchema = Schema.from_dict(
    {"unit": fields.String(required=True), "unit_name": fields.String(required=True)}
    | {name: fields.Integer(required=True) for name in COUNTS}
    | {name: fields.Float(allow_none=True, metadata={"description": f"{label} (0–1; 无分母时 null)"})
       for name, label in RATE_NAMES.items()}
    | {"score": fields.Float(allow_none=True, metadata={"description": "综合得分 0–100"})},
    name="IndicatorRowSchema")


class ReportSchema(Schema):
    """What every report has: its period, and the warning when it counts synthetic appeals."""
    period = fields.Nested(PeriodSchema, required=True)
    synthetic_label = fields.String(allow_none=True, metadata={
        "description": "计入了合成(模拟)工单时的提示 (须显示在每页/每表上); 未计入时 null"})


class IndicatorReportSchema(ReportSchema):
    group = fields.String(required=True)
    rows = fields.List(fields.Nested(IndicatorRowSchema), required=True)


class ListedAppealSchema(Schema):
    """One appeal behind a number of a report (no caller data)."""
    appeal_number = fields.String(required=True)
    title = fields.String(required=True)
    lead_unit = fields.String(allow_none=True)
    lead_unit_name = fields.String(required=True)
    township_name = fields.String(required=True)
    received_at = fields.String(required=True, metadata={"description": "受理时间"})
    state = fields.String(required=True, metadata={"description": "在办 | 已办结"})
    reason = fields.String(required=True, metadata={"description": "为何如此计入, 如 签收超时 2 小时 13 分"})
    synthetic = fields.Boolean(required=True, metadata={"description": "合成(模拟)工单"})


class ExplainedAppealSchema(ListedAppealSchema):
    """One appeal behind a figure of the indicators."""
    step = fields.String(required=True, metadata={"description": "所示时限的环节: 签收/首次反馈/办结"})
    deadline = fields.String(allow_none=True, metadata={"description": "该环节的时限"})
    done_at = fields.String(allow_none=True, metadata={"description": "该环节完成时间 (未完成: null)"})
    adds = fields.Float(required=True, metadata={"description": "计入该部分的数量"})


def part_schema(name: str, parts: str, total: type[fields.Number], appeal: type[Schema]):
    """A part of a number (`parts`: its possible names) and the appeals listed for it."""
    return Schema.from_dict({
        "part": fields.String(required=True, metadata={"description": parts}),
        "name": fields.String(required=True),
        "total": total(required=True, metadata={"description": "所列工单计入数量之和 = 该部分的数"}),
        "appeals": fields.List(fields.Nested(appeal), required=True)}, name=name)


ExplainedPartSchema = part_schema("ExplainedPartSchema", "numerator | denominator | count",
                                  fields.Float, ExplainedAppealSchema)


class ScoreComponentSchema(Schema):
    """One rate of the composite score, with its own drill-down."""
    figure = fields.String(required=True)
    figure_name = fields.String(required=True)
    value = fields.Float(allow_none=True, metadata={"description": "比率 0–1 (无分母: null, 不计)"})
    weight = fields.Float(required=True, metadata={"description": "权重 (assessment.yaml)"})
    share = fields.Float(required=True, metadata={
        "description": "在有分母的比率中所占权重比例 0–1 (不计: 0)"})
    points = fields.Float(allow_none=True, metadata={
        "description": "得分贡献 = 100 × share × value; 各项之和即综合得分"})
    counted = fields.Boolean(required=True, metadata={"description": "是否计入综合得分"})
    parts = fields.List(fields.Nested(ExplainedPartSchema), required=True,
                        metadata={"description": "该比率的分子、分母及其工单"})


class DrillDownSchema(ReportSchema):
    """What every drill-down has besides the report's frame."""
    as_of = fields.String(required=True, metadata={"description": "数据截至 (最近一次同步)"})
    title = fields.String(metadata={"description": "所查的行 (研判表)"})


class ExplanationSchema(DrillDownSchema):
    group = fields.String(required=True)
    unit = fields.String(required=True)
    unit_name = fields.String(required=True)
    figure = fields.String(required=True)
    figure_name = fields.String(required=True)
    value = fields.Float(allow_none=True, metadata={"description": "指标的数 (比率 0–1)"})
    parts = fields.List(fields.Nested(ExplainedPartSchema), required=True)
    components = fields.List(fields.Nested(ScoreComponentSchema), metadata={
        "description": "仅 figure=score: 综合得分的各项比率、权重及其工单"})
    notes = fields.List(fields.String(), metadata={"description": "仅 figure=score: 算法说明"})


class AnalysisAppealSchema(ListedAppealSchema):
    """One appeal behind a number of a 研判 table (reason: e.g. 本周 (… 起) 受理于 …)."""
    category_name = fields.String(required=True)
    adds = fields.Integer(required=True, metadata={"description": "计入该部分的件数 (1)"})


AnalysisPartSchema = part_schema(
    "AnalysisPartSchema", "problems: appeals | previous | unsatisfied; surges: count | baseline; "
    "weekly: appeals", fields.Integer, AnalysisAppealSchema)


class AnalysisExplanationSchema(DrillDownSchema):
    table = fields.String(required=True)
    table_name = fields.String(required=True)
    township = fields.String(allow_none=True)
    township_name = fields.String()
    category_code = fields.String(allow_none=True)
    category_name = fields.String(required=True)
    week = fields.Date(allow_none=True, metadata={"description": "所看的一周 (周一)"})
    value = fields.Integer(required=True, metadata={"description": "表中的数 (本期件数/本周件数/件数)"})
    parts = fields.List(fields.Nested(AnalysisPartSchema), required=True)
    notes = fields.List(fields.String(), required=True, metadata={
        "description": "该行其余的数 (环比、基线、偶然概率) 如何由各部分算出"})


class ProblemSchema(Schema):
    category_code = fields.String(required=True)
    category_name = fields.String(required=True)
    appeals = fields.Integer(required=True)
    previous = fields.Integer(required=True)
    change = fields.Float(allow_none=True)
    unsatisfied = fields.Integer(required=True)


class PlaceSchema(Schema):
    """Where and what: a township × category of the analysis."""
    township = fields.String(allow_none=True)
    township_name = fields.String(required=True)
    category_code = fields.String(allow_none=True)
    category_name = fields.String(required=True)


class SurgeSchema(PlaceSchema):
    count = fields.Integer(required=True)
    baseline = fields.Float(required=True)
    expected = fields.Float(required=True)
    p_value = fields.Float(required=True)


class RepeatSchema(PlaceSchema):
    basis = fields.String(required=True, metadata={"description": "同一来电人 | 同一地址同类诉求"})
    appeals = fields.Integer(required=True)
    first = fields.String(required=True)
    last = fields.String(required=True)
    appeal_numbers = fields.List(fields.String(), required=True)


class IssueSchema(PlaceSchema):
    this_week = fields.Integer(required=True)
    forecast = fields.Float(required=True)
    surge = fields.Boolean(required=True)
    repeat_groups = fields.Integer(required=True)
    unsatisfied = fields.Integer(required=True)
    reasons = fields.List(fields.String(), required=True)


class WeeklyCountSchema(PlaceSchema):
    week = fields.String(required=True, metadata={"description": "周一的日期"})
    appeals = fields.Integer(required=True)


class AnalysisSchema(ReportSchema):
    week = fields.Date(required=True, metadata={"description": "激增与未诉先办所看的一周 (周一)"})
    weekly = fields.List(fields.Nested(WeeklyCountSchema), required=True,
                         metadata={"description": "乡镇 × 分类 × 周 的件数"})
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    surges = fields.List(fields.Nested(SurgeSchema), required=True)
    repeats = fields.List(fields.Nested(RepeatSchema), required=True)
    act_before = fields.List(fields.Nested(IssueSchema), required=True)


class BulletinSchema(ReportSchema):
    title = fields.String(required=True)
    as_of = fields.String(required=True, metadata={"description": "数据截至 (最近一次同步)"})
    indicators = fields.Dict(keys=fields.String(), values=fields.List(
        fields.Nested(IndicatorRowSchema)), required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    surges = fields.List(fields.Nested(SurgeSchema), required=True)
    act_before = fields.List(fields.Nested(IssueSchema), required=True)


class TrendQuerySchema(SyntheticChoiceSchema):
    class Meta:
        unknown = EXCLUDE

    month = fields.String(required=True, metadata={"description": "最后一个月 YYYY-MM",
                                                   "example": "2026-11"},
                          error_messages={"required": "请给出「月份」(YYYY-MM)"})
    months = fields.Integer(load_default=12, validate=validate.Range(
        min=1, max=TREND_MONTHS_MAX, error=f"「月数」应为 1 到 {TREND_MONTHS_MAX}"),
        metadata={"description": "月数 (默认 12)"})


class TrendMonthSchema(Schema):
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    county = fields.Nested(IndicatorRowSchema, required=True, metadata={"description": "全县指标"})


class TrendSchema(Schema):
    months = fields.List(fields.Nested(TrendMonthSchema), required=True)


class SyncReportSchema(Schema):
    closed = fields.Integer(required=True, metadata={"description": "已办结工单 (本次读取)"})
    open = fields.Integer(required=True, metadata={"description": "在办工单 (本次刷新)"})
    removed = fields.Integer(required=True)
    pages = fields.Integer(required=True)
    watermark = fields.String(allow_none=True)


@api.errorhandler(InputError)
def _bad_input(error: InputError):
    return error_response({error.field: [error.message]})


@api.errorhandler(AssessmentConfigError)
def _bad_settings(error: AssessmentConfigError):
    current_app.logger.error("%s", error)
    return error_response({"assessment.yaml": [str(error)]}, 500)


def _load_query(schema: Schema) -> dict:
    try:
        return schema.load(request.args.to_dict())
    except ValidationError as error:
        field, messages = next(iter(error.messages.items()))
        raise InputError(field, messages[0]) from None


def _query(schema: Schema = ReportQuerySchema()) -> dict:
    query = _load_query(schema)
    try:
        period = parse_period(query.get("start"), query.get("end"), query.get("month"),
                              query.get("quarter"), query.get("year"))
    except InputError as error:
        raise InputError(error.field, f"{error.message} ({PERIOD_HELP})") from None
    return query | {"period": period, "include_synthetic": _include_synthetic(query)}


def _include_synthetic(query: dict) -> bool:
    """As asked; when not asked, the demo profile counts synthetic appeals (labelled)."""
    asked = query.get("include_synthetic")
    return _settings().profile == "demo" if asked is None else asked


def _settings() -> Settings:
    return current_app.config["SUBAN_SETTINGS"]


def _store(query: dict):
    """The store, its reports counting what the query asks for (synthetic appeals or not)."""
    db = store.connect(store.store_path(_settings()))
    store.report_scope(db, query["include_synthetic"])
    return db


def _synthetic_label(db, period) -> str | None:
    return synthetic_label(store.synthetic_count(db, period.start.isoformat(),
                                                 period.end.isoformat()))


def _indicator_report() -> dict:
    query = _query()
    db = _store(query)
    try:
        rows = indicators(db, query["period"], ASSESSMENT.current(), DIRECTORY.current(),
                          query["group"], query.get("unit"))
        label = _synthetic_label(db, query["period"])
    finally:
        db.close()
    return {"period": query["period"], "group": query["group"], "rows": rows,
            "synthetic_label": label}


REFUSALS = {400: "统计期间、口径或单位有误 (字段 → 问题)"}


@api.get("/assessment/indicators")
@requires_scope_or_login(ASSESSMENT_READ)
@responds_with(IndicatorReportSchema())
def assessment_indicators():
    """考核 indicators per unit for a period (group: lead_unit, township, department, county)."""
    return _indicator_report()


@api.get("/assessment/indicators.csv")
@requires_scope_or_login(ASSESSMENT_READ)
def assessment_indicators_csv():
    """The indicators as CSV (UTF-8 with BOM, for Excel)."""
    report = _indicator_report()
    text = io.StringIO()
    write_csv(report["rows"], text, report["synthetic_label"])
    period = report["period"]
    return Response("\ufeff" + text.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=indicators-{report['group']}-"
                               f"{period.start}-{period.end}.csv"})


def _names(rows: list[dict]) -> list[dict]:
    names = Names(DIRECTORY.current(), TAXONOMY.current())
    return [names.fill(row) for row in rows]


@api.get("/assessment/analysis")
@requires_scope_or_login(ASSESSMENT_READ)
@responds_with(AnalysisSchema())
def assessment_analysis():
    """研判: counts by township × category × week, top problems and repeats of the period;
    surges and 未诉先办 of its last week."""
    query = _query()
    period, config = query["period"], ASSESSMENT.current()
    week = week_start(period.end)
    db = _store(query)
    try:
        return {"period": period, "week": week, "synthetic_label": _synthetic_label(db, period),
                "weekly": _names(weekly_counts(db, period)),
                "problems": _names(top_problems(db, period)),
                "surges": _names(surges(db, week, config.surge)),
                "repeats": _names(repeats(db, period, config.repeat_window_days)),
                "act_before": _names(act_before_list(db, week, config))}
    finally:
        db.close()


def _months_up_to(last: str, count: int) -> list[str]:
    """`count` months ending with `last` (YYYY-MM), oldest first."""
    end = parse_period(month=last).start
    index = end.year * 12 + end.month - 1
    return [f"{(index - back) // 12}-{(index - back) % 12 + 1:02d}"
            for back in range(count - 1, -1, -1)]


@api.get("/assessment/trend")
@requires_scope_or_login(ASSESSMENT_READ)
@responds_with(TrendSchema())
def assessment_trend():
    """The county's indicators month by month (the 12-month trend in one request)."""
    query = _load_query(TrendQuerySchema())
    months = _months_up_to(query["month"], query["months"])
    config, directory = ASSESSMENT.current(), DIRECTORY.current()
    db = _store(query | {"include_synthetic": _include_synthetic(query)})
    try:
        return {"months": [{"month": month, "county": indicators(
            db, parse_period(month=month), config, directory, "county")[0]} for month in months]}
    finally:
        db.close()


def _bulletin(details: bool = False):
    query = _query()
    db = _store(query)
    try:
        return build_bulletin(db, query["period"], ASSESSMENT.current(), DIRECTORY.current(),
                              TAXONOMY.current(), details)
    finally:
        db.close()


@api.get("/assessment/bulletin")
@requires_scope_or_login(ASSESSMENT_READ)
@responds_with(BulletinSchema())
def assessment_bulletin():
    """The 通报 bulletin's content (the printable page renders it)."""
    bulletin = _bulletin()
    return vars(bulletin) | {"synthetic_label": bulletin.synthetic_label}


@api.get("/assessment/indicators/explain")
@requires_scope_or_login(ASSESSMENT_READ)
@responds_with(ExplanationSchema())
def assessment_explain():
    """The appeals behind one figure of one unit (numerator and denominator of a rate), with
    the deadline, when the step was done and why each counts; no caller data."""
    query = _query(ExplainQuerySchema())
    figure = explain_score if query["figure"] == SCORE else functools.partial(
        explain, figure=query["figure"])
    return _explained(query, lambda db, period, as_of: figure(
        db, period, config=ASSESSMENT.current(), directory=DIRECTORY.current(),
        as_of=as_of_moment(as_of), group=query["group"], unit=query.get("unit")))


def _explained(query: dict, drill) -> dict:
    """`drill(db, period, as_of)` on the store the query asks for, with the report's frame."""
    db = _store(query)
    try:
        as_of = last_sync(db)
        explained = drill(db, query["period"], as_of)
        label = _synthetic_label(db, query["period"])
    finally:
        db.close()
    return explained | {"period": query["period"], "as_of": as_of, "synthetic_label": label}


@api.get("/assessment/analysis/explain")
@requires_scope_or_login(ASSESSMENT_READ)
@responds_with(AnalysisExplanationSchema())
def assessment_analysis_explain():
    """The appeals behind one row of a 研判 table (突出问题, 激增预警, weekly counts), under the
    count each adds to, with why; and how the row's other numbers follow; no caller data."""
    query = _query(AnalysisExplainQuerySchema())
    names = Names(DIRECTORY.current(), TAXONOMY.current())
    return _explained(query, lambda db, period, _: explain_table(
        db, period, query["table"], ASSESSMENT.current(), names, query.get("township"),
        query.get("category"), query.get("week")))


@api.get("/assessment/bulletin.xlsx")
@requires_scope_or_login(ASSESSMENT_READ)
def assessment_bulletin_xlsx():
    """The 通报 bulletin as an XLSX workbook, with a 明细 sheet of appeals per figure."""
    bulletin = _bulletin(details=True)
    stream = io.BytesIO()
    write_workbook(bulletin, stream)
    return Response(stream.getvalue(), headers={
        "Content-Disposition": f"attachment; filename=bulletin-{bulletin.period.start}-"
                               f"{bulletin.period.end}.xlsx"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@api.post("/assessment/sync")
@requires_scope_or_login(ADMIN)
@responds_with(SyncReportSchema())
def assessment_sync():
    """Bring the analytical store up to date with the engine's history (incremental) and answer
    with what changed; one sync at a time (with the page's), a second one meanwhile is refused
    (409)."""
    return vars(SYNC_JOB.run(_sync_work(_settings())))


def _sync_work(settings: Settings):
    def work(job: Job):
        engine = EngineClient(settings.engine_rest_url, settings.admin_user,
                              settings.admin_password)

        def page_done(appeals: int) -> None:
            job.progress(job.done + appeals, None, f"已读取 {job.done + appeals} 件工单")
        return sync(engine, store.store_path(settings), on_page=page_done)
    return work


for _view in (assessment_indicators, assessment_indicators_csv, assessment_analysis,
              assessment_bulletin, assessment_bulletin_xlsx):
    _view.refusals = REFUSALS
    _view.query_schema = ReportQuerySchema
assessment_explain.refusals = REFUSALS
assessment_explain.query_schema = ExplainQuerySchema
assessment_analysis_explain.refusals = REFUSALS
assessment_analysis_explain.query_schema = AnalysisExplainQuerySchema
assessment_sync.refusals = {409: "另一次同步正在进行", 503: "流程引擎暂不可用"}
assessment_trend.refusals = {400: "月份或月数有误 (字段 → 问题)"}
assessment_trend.query_schema = TrendQuerySchema


@pages.before_request
def staff_only():
    return auth.refuse_unless(*auth.STAFF)


@pages.get("")
def overview_page():
    """Tables and charts per unit and over time (data from the API, with the console login);
    the months to choose from are the last TREND_MONTHS_MAX, newest first."""
    month = _this_month()
    return render_template("assessment/overview.html", groups=GROUPS, month=month,
                           months=_months_up_to(month, TREND_MONTHS_MAX)[::-1],
                           include_synthetic=_settings().profile == "demo")


@pages.post("/sync")
def sync_page_action():
    """The page's 同步引擎数据 as a job (202); its progress at /jobs/assessment-sync."""
    return SYNC_JOB.started(_sync_work(_settings()))


@pages.get("/bulletin")
def bulletin_page():
    """The printable monthly bulletin."""
    return render_template("assessment/bulletin.html",
                           month=request.args.get("month") or _this_month())


def _this_month() -> str:
    return dt.datetime.now(SHANGHAI).strftime("%Y-%m")


@pages.get("/explain")
def explain_page():
    """The appeals behind one figure (the query string is the API's, passed on as is)."""
    return render_template("assessment/explain.html")
