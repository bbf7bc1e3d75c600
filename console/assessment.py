"""考核 and 研判 in the console: indicators, analysis and the monthly bulletin as JSON, CSV and
XLSX under /api/v1/assessment/, the sync from the engine, and two pages (/assessment and the
printable bulletin /assessment/bulletin, behind the console login) that read the same API with
the login session.

Every report is computed from the analytical store (assessment/store.py); `POST
/api/v1/assessment/sync` brings it up to date. No report carries a caller's name or phone.
"""
from __future__ import annotations

import datetime as dt
import io
import threading

from flask import Blueprint, Response, current_app, render_template, request
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate
from werkzeug.exceptions import Conflict

from assessment import store
from assessment.analysis import (act_before_list, repeats, surges, top_problems, week_start,
                                 weekly_counts)
from assessment.bulletin import Names, build_bulletin, write_csv, write_workbook
from admin_data.assessment import AssessmentConfigError, ASSESSMENT
from assessment.indicators import COUNTS, GROUPS, InputError, indicators, parse_period
from assessment.sync import sync
from console.admin import auth
from console.api import api, error_response, requires_token_or_login, responds_with
from admin_data.directory import DIRECTORY
from admin_data.environment import Settings
from external_tasks.camunda import EngineClient
from admin_data.taxonomy import TAXONOMY
from admin_data.workdays import SHANGHAI

pages = Blueprint("assessment_pages", __name__, url_prefix="/assessment",
                  template_folder="templates", static_folder="static")

TREND_MONTHS_MAX = 36
SYNCING = threading.Lock()
PERIOD_HELP = "统计期间: start+end (YYYY-MM-DD, 含两端)、month (2026-11)、quarter (2026-Q4) 或 year"


class ReportQuerySchema(Schema):
    """Query parameters of every report; unknown ones are ignored."""
    class Meta:
        unknown = EXCLUDE

    start = fields.String(metadata={"description": "开始日期 YYYY-MM-DD", "example": "2026-11-01"})
    end = fields.String(metadata={"description": "结束日期 YYYY-MM-DD (含)",
                                  "example": "2026-11-30"})
    month = fields.String(metadata={"description": "月份 YYYY-MM", "example": "2026-11"})
    quarter = fields.String(metadata={"description": "季度 YYYY-Qn", "example": "2026-Q4"})
    year = fields.String(metadata={"description": "年份 YYYY", "example": "2026"})
    group = fields.String(load_default="lead_unit", validate=validate.OneOf(
        list(GROUPS), error=f"「统计口径」应为 {' / '.join(GROUPS)} 之一"),
        metadata={"description": "统计口径 (默认 lead_unit)"})
    unit = fields.String(metadata={"description": "单位 id (目录中的)", "example": "yanji"})


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


class IndicatorReportSchema(Schema):
    period = fields.Nested(PeriodSchema, required=True)
    group = fields.String(required=True)
    rows = fields.List(fields.Nested(IndicatorRowSchema), required=True)


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


class AnalysisSchema(Schema):
    period = fields.Nested(PeriodSchema, required=True)
    week = fields.Date(required=True, metadata={"description": "激增与未诉先办所看的一周 (周一)"})
    weekly = fields.List(fields.Nested(WeeklyCountSchema), required=True,
                         metadata={"description": "乡镇 × 分类 × 周 的件数"})
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    surges = fields.List(fields.Nested(SurgeSchema), required=True)
    repeats = fields.List(fields.Nested(RepeatSchema), required=True)
    act_before = fields.List(fields.Nested(IssueSchema), required=True)


class BulletinSchema(Schema):
    title = fields.String(required=True)
    period = fields.Nested(PeriodSchema, required=True)
    as_of = fields.String(required=True, metadata={"description": "数据截至 (最近一次同步)"})
    indicators = fields.Dict(keys=fields.String(), values=fields.List(
        fields.Nested(IndicatorRowSchema)), required=True)
    problems = fields.List(fields.Nested(ProblemSchema), required=True)
    surges = fields.List(fields.Nested(SurgeSchema), required=True)
    act_before = fields.List(fields.Nested(IssueSchema), required=True)


class TrendQuerySchema(Schema):
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


def _query() -> dict:
    query = _load_query(ReportQuerySchema())
    try:
        period = parse_period(query.get("start"), query.get("end"), query.get("month"),
                              query.get("quarter"), query.get("year"))
    except InputError as error:
        raise InputError(error.field, f"{error.message} ({PERIOD_HELP})") from None
    return query | {"period": period}


def _settings() -> Settings:
    return current_app.config["SUBAN_SETTINGS"]


def _store():
    return store.connect(store.store_path(_settings()))


def _indicator_report() -> dict:
    query = _query()
    db = _store()
    try:
        rows = indicators(db, query["period"], ASSESSMENT.current(), DIRECTORY.current(),
                          query["group"], query.get("unit"))
    finally:
        db.close()
    return {"period": query["period"], "group": query["group"], "rows": rows}


REFUSALS = {400: "统计期间、口径或单位有误 (字段 → 问题)"}


@api.get("/assessment/indicators")
@requires_token_or_login
@responds_with(IndicatorReportSchema())
def assessment_indicators():
    """考核 indicators per unit for a period (group: lead_unit, township, department, county)."""
    return _indicator_report()


@api.get("/assessment/indicators.csv")
@requires_token_or_login
def assessment_indicators_csv():
    """The indicators as CSV (UTF-8 with BOM, for Excel)."""
    report = _indicator_report()
    text = io.StringIO()
    write_csv(report["rows"], text)
    period = report["period"]
    return Response("\ufeff" + text.getvalue(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=indicators-{report['group']}-"
                               f"{period.start}-{period.end}.csv"})


def _names(rows: list[dict]) -> list[dict]:
    names = Names(DIRECTORY.current(), TAXONOMY.current())
    return [names.fill(row) for row in rows]


@api.get("/assessment/analysis")
@requires_token_or_login
@responds_with(AnalysisSchema())
def assessment_analysis():
    """研判: counts by township × category × week, top problems and repeats of the period;
    surges and 未诉先办 of its last week."""
    query = _query()
    period, config = query["period"], ASSESSMENT.current()
    week = week_start(period.end)
    db = _store()
    try:
        return {"period": period, "week": week,
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
@requires_token_or_login
@responds_with(TrendSchema())
def assessment_trend():
    """The county's indicators month by month (the 12-month trend in one request)."""
    query = _load_query(TrendQuerySchema())
    months = _months_up_to(query["month"], query["months"])
    config, directory = ASSESSMENT.current(), DIRECTORY.current()
    db = _store()
    try:
        return {"months": [{"month": month, "county": indicators(
            db, parse_period(month=month), config, directory, "county")[0]} for month in months]}
    finally:
        db.close()


def _bulletin():
    query = _query()
    db = _store()
    try:
        return build_bulletin(db, query["period"], ASSESSMENT.current(), DIRECTORY.current(),
                              TAXONOMY.current())
    finally:
        db.close()


@api.get("/assessment/bulletin")
@requires_token_or_login
@responds_with(BulletinSchema())
def assessment_bulletin():
    """The 通报 bulletin's content (the printable page renders it)."""
    bulletin = _bulletin()
    return vars(bulletin)


@api.get("/assessment/bulletin.xlsx")
@requires_token_or_login
def assessment_bulletin_xlsx():
    """The 通报 bulletin as an XLSX workbook."""
    bulletin = _bulletin()
    stream = io.BytesIO()
    write_workbook(bulletin, stream)
    return Response(stream.getvalue(), headers={
        "Content-Disposition": f"attachment; filename=bulletin-{bulletin.period.start}-"
                               f"{bulletin.period.end}.xlsx"},
        mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@api.post("/assessment/sync")
@requires_token_or_login
@responds_with(SyncReportSchema())
def assessment_sync():
    """Bring the analytical store up to date with the engine's history (incremental); one sync
    at a time, a second one meanwhile is refused (409)."""
    settings = _settings()
    engine = EngineClient(settings.engine_rest_url, settings.admin_user, settings.admin_password)
    if not SYNCING.acquire(blocking=False):
        raise Conflict("另一次同步正在进行, 请等它结束后再试")
    try:
        return vars(sync(engine, store.store_path(settings)))
    finally:
        SYNCING.release()


for _view in (assessment_indicators, assessment_indicators_csv, assessment_analysis,
              assessment_bulletin, assessment_bulletin_xlsx):
    _view.refusals = REFUSALS
    _view.query_schema = ReportQuerySchema
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
                           months=_months_up_to(month, TREND_MONTHS_MAX)[::-1])


@pages.get("/bulletin")
def bulletin_page():
    """The printable monthly bulletin."""
    return render_template("assessment/bulletin.html",
                           month=request.args.get("month") or _this_month())


def _this_month() -> str:
    return dt.datetime.now(SHANGHAI).strftime("%Y-%m")
