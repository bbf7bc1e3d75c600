"""Version 1 of the console's JSON API; every response body passes a marshmallow schema."""
from __future__ import annotations

import functools
import hmac

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, jsonify, request, url_for
from marshmallow import Schema, ValidationError, fields
from werkzeug.exceptions import BadRequest, HTTPException

import datetime as dt

from admin_data.directory import UNIT_KINDS, DIRECTORY
from admin_data.environment import Settings
from admin_data.workdays import SHANGHAI, MissingYear
from deploy.stack import engine_healthy
from external_tasks.calendar_check import missing_calendar_year
from external_tasks.camunda import EngineClient, EngineError

api = Blueprint("api_v1", __name__, url_prefix="/api/v1")

#: Largest request body the API reads (an appeal's text fields together stay far below it).
MAX_BODY_BYTES = 128 * 1024


class ErrorSchema(Schema):
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         required=True, metadata={"description": "字段 → 问题"})


def error_response(errors: dict, status: int = 400):
    # A JSON key may be empty; the error still needs a name to point at.
    named = {key or "_body": value for key, value in errors.items()}
    return jsonify(ErrorSchema().dump({"errors": named})), status


#: HTTP refusals outside the views, as (the part of the request at fault, what to tell the user).
HTTP_REFUSALS = {
    400: ("_body", "请求体不是有效的 JSON (malformed JSON)"),
    404: ("_path", "没有这个接口 (no such API path)"),
    405: ("_method", "该接口不支持此请求方法 (method not allowed)"),
    413: ("_body", f"请求体过大, 上限 {MAX_BODY_BYTES} 字节 (request body too large)"),
    415: ("_body", "请求体应为 JSON (Content-Type: application/json)"),
}


@api.app_errorhandler(HTTPException)
def http_refusal(error: HTTPException):
    """Under /api/ every refusal carries the error schema; the werkzeug detail is kept."""
    if not request.path.startswith(api.url_prefix + "/"):
        return error
    field, message = HTTP_REFUSALS.get(error.code, ("_request", error.name))
    response = error.get_response()  # keeps headers such as Allow on a 405
    response.set_data(ErrorSchema().dumps({"errors": {field: [f"{message}: {error.description}"]}},
                                          ensure_ascii=False))
    response.content_type = "application/json"
    return response


@api.errorhandler(EngineError)
def engine_unavailable(error: EngineError):
    current_app.logger.error("engine call failed: %s", error)
    return error_response({"_engine": ["流程引擎暂不可用, 请稍后重试 (engine unavailable)"]}, 503)


@api.errorhandler(ValidationError)
def invalid_fields(error: ValidationError):
    return error_response(error.messages)


def json_body():
    """The request's JSON body; a wrong content type or malformed JSON is an HTTP refusal, text
    that is not Unicode a ValidationError naming its fields."""
    try:
        payload = request.get_json()
    except RecursionError:  # json gives up on deep nesting with this, not a ValueError
        raise BadRequest("JSON 嵌套过深 (nested too deeply)") from None
    if broken := _broken_text(payload, "_body"):
        raise ValidationError({field: ["文字含无效的 Unicode 字符 (lone UTF-16 surrogate)"]
                               for field in broken})
    return payload


def _broken_text(value, field: str) -> list[str]:
    """Fields holding a lone surrogate: a JSON \\u escape allows it, UTF-8 cannot carry it."""
    if isinstance(value, str):
        return [] if _is_unicode(value) else [field]
    if isinstance(value, dict):
        return [name for key, item in value.items()
                for name in (_broken_text(item, key) if _is_unicode(key) else [field])]
    if isinstance(value, list):
        return [name for item in value for name in _broken_text(item, field)]
    return []


def _is_unicode(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class CalendarHealthSchema(Schema):
    ready = fields.Boolean(required=True, metadata={
        "description": "工作日日历已含今年, 以及 (自提醒日起) 次年的节假日安排"})
    missingYear = fields.Integer(allow_none=True, metadata={"description": "缺少的年份"})
    stopsFrom = fields.Date(allow_none=True, metadata={
        "description": "自这天起受理或起算的工作日时限无法计算"})
    message = fields.String(required=True, metadata={"description": "给管理员的说明"})
    editor = fields.String(required=True, metadata={"description": "节假日编辑页的地址"})


class HealthSchema(Schema):
    status = fields.String(required=True, metadata={"description": "ok while the console runs"})
    engine = fields.String(required=True, metadata={"description": "up or down"})
    calendar = fields.Nested(CalendarHealthSchema, required=True)


class UnitOutSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True)
    kind_name = fields.String(required=True, metadata={"description": "单位类型中文名"})
    territorial = fields.Boolean(required=True, metadata={"description": "属地单位 (乡镇/街道/经开区)"})


class UnitListSchema(Schema):
    units = fields.List(fields.Nested(UnitOutSchema), required=True)


def _settings() -> Settings:
    return current_app.config["SUBAN_SETTINGS"]


def admin_engine() -> EngineClient:
    """The engine as its administrator, one client (and connection pool) per app."""
    if "SUBAN_ENGINE" not in current_app.config:
        settings = _settings()
        current_app.config["SUBAN_ENGINE"] = EngineClient(
            settings.engine_rest_url, settings.admin_user, settings.admin_password)
    return current_app.config["SUBAN_ENGINE"]


def today() -> dt.date:
    """Today in Shanghai; a test sets the console's clock with app.config["SUBAN_TODAY"]."""
    clock = current_app.config.get("SUBAN_TODAY")
    return clock() if clock else dt.datetime.now(SHANGHAI).date()


def missing_calendar() -> MissingYear | None:
    """The year the working-day calendar lacks, for the home page and the health check."""
    return missing_calendar_year(admin_engine(), today(), _settings().config_dir)


def requires_token(view):
    """Every call but health and the OpenAPI document carries `Authorization: Bearer <token>`."""
    @functools.wraps(view)
    def checked(*args, **kwargs):
        supplied = request.headers.get("Authorization", "")
        expected = f"Bearer {_settings().api_token}"
        if not hmac.compare_digest(supplied.encode(), expected.encode()):
            return jsonify({"errors": {"Authorization": [
                "缺少或错误的访问令牌 (send 'Authorization: Bearer <token>')"]}}), 401
        return view(*args, **kwargs)
    checked.requires_token = True
    return checked


def responds_with(schema: Schema):
    """Serialize the view's return value with `schema`, so no field leaves unchecked."""
    def wrap(view):
        @functools.wraps(view)
        def serialized(*args, **kwargs):
            return jsonify(schema.dump(view(*args, **kwargs)))
        serialized.response_schema = schema
        return serialized
    return wrap


@api.get("/health")
@responds_with(HealthSchema())
def health():
    """Console health, whether the engine answers, and whether the working-day calendar holds
    the years deadlines reach into."""
    engine_up = engine_healthy(_settings())
    missing = missing_calendar()
    return {"status": "ok", "engine": "up" if engine_up else "down", "calendar": {
        "ready": missing is None, "missingYear": missing and missing.year,
        "stopsFrom": missing and missing.stops_from,
        "message": missing.describe() if missing else "工作日日历齐全",
        "editor": url_for("admin.edit_file", name="holidays", year=missing and missing.year)}}


@api.get("/units")
@requires_token
@responds_with(UnitListSchema())
def units():
    """The directory of units (townships, departments, offices)."""
    directory = DIRECTORY.current()
    return {"units": [{"id": unit.id, "name": unit.name, "kind": unit.kind,
                       "kind_name": UNIT_KINDS[unit.kind], "territorial": unit.territorial}
                      for unit in directory.units]}


@api.get("/openapi.json")
def openapi():
    """This API's OpenAPI document, generated from its marshmallow schemas."""
    return jsonify(current_app.config["OPENAPI_SPEC"])


def build_spec(app: Flask) -> dict:
    spec = APISpec(title="宿事速办 API", version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(api.name + "."):
            continue
        view = app.view_functions[rule.endpoint]
        schema = getattr(view, "response_schema", None)
        status = str(getattr(view, "response_status", 200))
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = {"summary": (view.__doc__ or "").strip().splitlines()[0] if view.__doc__
                         else rule.endpoint, "responses": {status: {"description": "OK"}}}
            if schema is not None:
                operation["responses"][status]["content"] = {
                    "application/json": {"schema": type(schema)}}
            refusals = dict(getattr(view, "refusals", {}))
            if getattr(view, "request_schema", None) is not None:
                operation["requestBody"] = {"required": True, "content": {
                    "application/json": {"schema": view.request_schema}}}
                refusals |= {400: "字段错误或 JSON 格式错误", 413: "请求体过大",
                             415: "请求体不是 JSON"}
            if getattr(view, "requires_token", False):
                operation["security"] = [{"token": []}]
                refusals[401] = "缺少或错误的访问令牌"
            for code, description in refusals.items():
                operation["responses"][str(code)] = {"description": description, "content": {
                    "application/json": {"schema": "ErrorSchema"}}}
            for code, (description, other_schema) in getattr(view, "other_responses", {}).items():
                operation["responses"][str(code)] = {"description": description, "content": {
                    "application/json": {"schema": type(other_schema)}}}
            if getattr(view, "query_schema", None) is not None:  # one parameter per field
                operation.setdefault("parameters", []).append(
                    {"in": "query", "schema": view.query_schema})
            for argument in rule.arguments:
                operation.setdefault("parameters", []).append(
                    {"in": "path", "name": argument, "required": True,
                     "schema": getattr(view, "path_schemas", {}).get(argument,
                                                                     {"type": "string"})})
            spec.path(path=path, operations={method.lower(): operation})
    return spec.to_dict()
