"""Version 1 of the console's JSON API; every response body passes a marshmallow schema."""
from __future__ import annotations

import functools
import hmac
import re
import typing

import flask_login
from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Blueprint, Flask, current_app, g, jsonify, request, url_for
from flask_wtf.csrf import validate_csrf
from marshmallow import Schema, ValidationError, fields
from werkzeug.exceptions import BadRequest, HTTPException
from wtforms.validators import ValidationError as WTFormsValidationError

import datetime as dt

from admin_data.directory import UNIT_KINDS, DIRECTORY
from admin_data.environment import Settings
from console.errors import error_page, own_description
from console.api_clients import (ADMIN, ANY_SCOPE, BOOTSTRAP_CLIENT, SCOPE_NAMES, ApiClient,
                                 ApiClientStore)
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
    409: ("_request", "操作正在进行, 不能同时再做一次 (already running)"),
    413: ("_body", f"请求体过大, 上限 {MAX_BODY_BYTES} 字节 (request body too large)"),
    415: ("_body", "请求体应为 JSON (Content-Type: application/json)"),
    500: ("_server", "服务器内部错误, 详情已记入控制台日志 (internal error)"),
}


@api.app_errorhandler(HTTPException)
def http_refusal(error: HTTPException):
    """Under /api/ every refusal carries the error schema, with the refusal's own detail;
    elsewhere the console's error page (console/errors.py)."""
    if not request.path.startswith(api.url_prefix + "/"):
        return error_page(error)
    field, message = HTTP_REFUSALS.get(error.code, ("_request", "请求未能完成"))
    detail = own_description(error)
    response = error.get_response()  # keeps headers such as Allow on a 405
    response.set_data(ErrorSchema().dumps({"errors": {field: [
        f"{message}: {detail}" if detail else message]}}, ensure_ascii=False))
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


def per_app(key: str, make: typing.Callable[[Settings], typing.Any]):
    """One object per app (a store, a client), made from the settings on first use."""
    if key not in current_app.config:
        current_app.config[key] = make(_settings())
    return current_app.config[key]


def admin_engine() -> EngineClient:
    """The engine as its administrator, one client (and connection pool) per app."""
    if "SUBAN_ENGINE" not in current_app.config:
        settings = _settings()
        current_app.config["SUBAN_ENGINE"] = EngineClient(
            settings.engine_rest_url, settings.admin_user, settings.admin_password)
    return current_app.config["SUBAN_ENGINE"]


def api_clients() -> ApiClientStore:
    if "SUBAN_API_CLIENTS" not in current_app.config:
        current_app.config["SUBAN_API_CLIENTS"] = ApiClientStore(
            _settings().data_dir / "console" / "api_clients.sqlite")
    return current_app.config["SUBAN_API_CLIENTS"]


def calling_client() -> ApiClient:
    """The client of this request (requires_scope has let it in)."""
    return g.api_client


def _client_of(supplied: str) -> ApiClient | None:
    """A registered client's key; SUBAN_API_TOKEN only while no client is registered."""
    key = supplied.removeprefix("Bearer ")
    if not supplied.startswith("Bearer ") or not key:
        return None
    if registered := api_clients().authenticate(key):
        return registered
    settings = _settings()
    if hmac.compare_digest(key.encode(), settings.api_token.encode()) and \
            not api_clients().any_registered():
        if settings.profile == "production":
            current_app.logger.warning(
                "SUBAN_API_TOKEN is in use as the bootstrap admin key: register the API "
                "clients in the console (/admin/api-clients), which ends it")
        return ApiClient(BOOTSTRAP_CLIENT, frozenset({ADMIN}))
    return None


def requires_scope(*scopes: str):
    """Every call but health and the OpenAPI document carries `Authorization: Bearer <key>` of
    a client holding one of `scopes` (or `admin`); each call is logged with the client's name."""
    def wrap(view):
        @functools.wraps(view)
        def checked(*args, **kwargs):
            client = _client_of(request.headers.get("Authorization", ""))
            if client is None:
                current_app.logger.info("api %s %s refused: no valid key", request.method,
                                        request.path)
                return error_response({"Authorization": [
                    "缺少或错误的访问密钥 (send 'Authorization: Bearer <key>')"]}, 401)
            current_app.logger.info("api %s %s by client %s", request.method, request.path,
                                    client.name)
            if not client.may(scopes):
                return error_response({"Authorization": [
                    f"客户端「{client.name}」没有此接口的权限, 需要: "
                    f"{'、'.join(SCOPE_NAMES[scope] for scope in scopes)}"]}, 403)
            g.api_client = client
            return view(*args, **kwargs)
        checked.scopes = scopes
        return checked
    return wrap


#: Config key: the roles whose console login may read the endpoints of requires_scope_or_login
#: (set by the login, console.admin.auth.init_login).
SESSION_ROLES = "SUBAN_API_SESSION_ROLES"


def requires_scope_or_login(*scopes: str):
    """For the endpoints the console's own pages call: a client key holding one of `scopes`
    (machine clients, as `requires_scope`), or the console login of a user with one of the
    SESSION_ROLES; a browser request that changes something also carries the page's CSRF token
    (header X-CSRFToken)."""
    def wrap(view):
        scoped = requires_scope(*scopes)(view)

        @functools.wraps(view)
        def checked(*args, **kwargs):
            user = flask_login.current_user
            if not (user.is_authenticated
                    and set(user.roles) & set(current_app.config[SESSION_ROLES])):
                return scoped(*args, **kwargs)
            if request.method not in ("GET", "HEAD", "OPTIONS"):
                try:
                    validate_csrf(request.headers.get("X-CSRFToken"))
                except WTFormsValidationError:
                    return error_response({"X-CSRFToken": [
                        "缺少或无效的 CSRF 令牌, 请刷新页面后重试"]})
            return view(*args, **kwargs)
        checked.scopes = scopes
        return checked
    return wrap


def today() -> dt.date:
    """Today in Shanghai; a test sets the console's clock with app.config["SUBAN_TODAY"]."""
    clock = current_app.config.get("SUBAN_TODAY")
    return clock() if clock else dt.datetime.now(SHANGHAI).date()


def missing_calendar() -> MissingYear | None:
    """The year the working-day calendar lacks, for the home page and the health check."""
    return missing_calendar_year(admin_engine(), today(), _settings().config_dir)


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
@requires_scope(*ANY_SCOPE)
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


def _content_schema(schema: Schema):
    """A list answer (many=True) as an array of the schema, other answers by the schema's class."""
    return schema if schema.many else type(schema)


def build_spec(app: Flask, blueprint: Blueprint = api, title: str = "宿事速办 API") -> dict:
    """The OpenAPI document of `blueprint`'s endpoints, from the schemas their views declare."""
    spec = APISpec(title=title, version="1.0.0", openapi_version="3.0.3",
                   plugins=[MarshmallowPlugin()])
    spec.components.security_scheme("token", {"type": "http", "scheme": "bearer"})
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(blueprint.name + "."):
            continue
        view = app.view_functions[rule.endpoint]
        schema = getattr(view, "response_schema", None)
        status = str(getattr(view, "response_status", 200))
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)  # <int:id> → {id}
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            operation = {"summary": (view.__doc__ or "").strip().splitlines()[0] if view.__doc__
                         else rule.endpoint, "responses": {status: {"description": "OK"}}}
            if schema is not None:
                operation["responses"][status]["content"] = {
                    "application/json": {"schema": _content_schema(schema)}}
            refusals = dict(getattr(view, "refusals", {}))
            if getattr(view, "request_schema", None) is not None:
                media_type = getattr(view, "request_media_type", "application/json")
                operation["requestBody"] = {"required": True, "content": {
                    media_type: {"schema": view.request_schema}}}
                if media_type == "application/json":
                    refusals |= {400: "字段错误或 JSON 格式错误", 413: "请求体过大",
                                 415: "请求体不是 JSON"}
            if hasattr(view, "scopes"):
                operation["security"] = [{"token": list(view.scopes)}]
                operation["description"] = "所需权限 (或 admin): " + "、".join(view.scopes)
                refusals |= {401: "缺少或错误的访问密钥", 403: "客户端没有此接口的权限"}
            for code, description in refusals.items():
                operation["responses"][str(code)] = {"description": description, "content": {
                    "application/json": {"schema": "ErrorSchema"}}}
            for code, (description, other_schema) in getattr(view, "other_responses", {}).items():
                operation["responses"][str(code)] = {"description": description, "content": {
                    "application/json": {"schema": _content_schema(other_schema)}}}
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
