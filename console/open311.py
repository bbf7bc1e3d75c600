"""Open311 GeoReport v2 (the open standard cities use for 311/12345-style requests), for other
apps — a WeChat mini-program, a city app, a partner platform — under /open311/v2:

- `GET services.json`: the taxonomy's category leaves (service_code = category code, group = top
  category), `GET services/{code}.json`: their attributes (the intake form's kind, title,
  urgency, confidentiality);
- `POST requests.json` (form-encoded, as the standard says) with the partner's `api_key` (an API
  client an admin registered with the scope open311:create): the same intake as every channel
  (the intake form's rules, outbox, scope check, routing) with channel=open311 and the partner
  recorded as `partner`; → `service_request_id` = the appeal number, or a `token` while the
  appeal waits in the outbox for the engine (`GET tokens/{token}.json` gives the number later);
- `GET requests.json` (status, service_code, start/end date, service_request_id; page and
  page_size) and `GET requests/{id}.json`: status open/closed, the stage as status_notes, the
  lead unit as agency_responsible, the times and the address. No caller data ever leaves
  through GET, nor the caller's text; a confidential appeal shows only its status.

Every answer also as XML (`.xml`, the standard's own format). Errors are the standard's list of
{code, description}, in Chinese, naming the field; bad input changes nothing.
"""
from __future__ import annotations

import datetime as dt
import json
import secrets
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from flask import Blueprint, Flask, Response, current_app, jsonify, request
from marshmallow import (RAISE, Schema, ValidationError, fields, pre_load, validate,
                         validates, validates_schema)
from werkzeug.exceptions import HTTPException

from admin_data.directory import DIRECTORY
from admin_data.taxonomy import TAXONOMY
from admin_data.workdays import SHANGHAI
from console.admin import csrf
from console.api import admin_engine, api_clients, build_spec, per_app
from console.api_clients import OPEN311_CREATE
from console.appeals import INTAKE_FORM, intake_outbox, take_appeal
from console.form_schema import FORMS_DIR, input_components
from console.self_query import QUEUED_STAGE, stage_of
from console.sqlite_file import SqliteFile
from external_tasks import appeal
from external_tasks.camunda import EngineError, from_typed_map
from external_tasks.intake import NUMBER_PATTERN

open311 = Blueprint("open311", __name__, url_prefix="/open311/v2")
#: The same endpoints answering in XML (…/services.xml): one blueprint each, so the OpenAPI
#: document lists the JSON ones.
open311_xml = Blueprint("open311_xml", __name__, url_prefix="/open311/v2")

CHANNEL = "open311"
#: The standard's longest description.
DESCRIPTION_MAX = 4000
#: A search spans at most this long (the standard's 90 days), the latest days when none given.
SEARCH_SPAN = dt.timedelta(days=90)
PAGE_SIZE, PAGE_SIZE_MAX = 50, 200
#: The attributes of every service: the intake form's fields an Open311 request has no field for.
ATTRIBUTES = ("kind", "title", "urgency", "confidential")
ATTRIBUTE_NOTES = {"kind": "不填为投诉 (complaint)", "title": "2 到 100 个字, 不填取诉求描述的开头",
                   "urgency": "不填为一般 (normal)", "confidential": "true: 诉求人要求保密"}
DEFAULT_KIND, TITLE_FROM_DESCRIPTION = "complaint", 30
#: Where an intake form field's error points in an Open311 request.
FIELD_OF = {"categoryCode": "service_code", "content": "description", "address": "address_string",
            "callerPhone": "phone", "callerName": "first_name"} | {
    key: f"attribute[{key}]" for key in ATTRIBUTES}

TOKENS_SCHEMA = """
CREATE TABLE IF NOT EXISTS token (
    token TEXT PRIMARY KEY,
    appeal_number TEXT NOT NULL,
    partner TEXT NOT NULL,
    created_at TEXT NOT NULL
);
"""


class Tokens(SqliteFile):
    """Tokens given for requests that waited in the outbox (<data>/console/open311.sqlite)."""

    def __init__(self, path: Path):
        super().__init__(path, TOKENS_SCHEMA)

    def give(self, number: str, partner: str) -> str:
        token = secrets.token_urlsafe(16)
        with self._connect() as db:
            db.execute("INSERT INTO token VALUES (?, ?, ?, ?)", (
                token, number, partner, dt.datetime.now(SHANGHAI).isoformat(timespec="seconds")))
        return token

    def number(self, token: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT appeal_number FROM token WHERE token = ?",
                             (token,)).fetchone()
        return row["appeal_number"] if row else None


def tokens() -> Tokens:
    return per_app("SUBAN_OPEN311_TOKENS", lambda settings: Tokens(
        settings.data_dir / "console" / "open311.sqlite"))


# -- errors --------------------------------------------------------------------------------------

class Open311ErrorSchema(Schema):
    code = fields.Integer(required=True, metadata={"description": "HTTP 状态码"})
    description = fields.String(required=True, metadata={
        "description": "出错的字段及原因", "example": "phone: 「联系电话」为必填项"})


class _Refused(Exception):
    def __init__(self, status: int, errors: dict[str, list[str]]):
        super().__init__(errors)
        self.status, self.errors = status, errors


def _field_errors(messages: dict) -> list[str]:
    """marshmallow's {field: [messages]} as "field: message" lines, by the standard's names
    (an attribute's problems under attribute[code])."""
    found = []
    for field, problem in messages.items():
        if field == "attributes" and isinstance(problem, dict):
            found += [f"attribute[{code}]: {message}" for code, nested in problem.items()
                      for message in _messages(nested)]
        else:
            found += [f"{FIELD_OF.get(field, field)}: {message}" for message in _messages(problem)]
    return found


def _messages(problem) -> list[str]:
    if isinstance(problem, dict):
        return [message for nested in problem.values() for message in _messages(nested)]
    return list(problem) if isinstance(problem, list) else [str(problem)]


def _refusal(status: int, descriptions: list[str]):
    return _answer(Open311ErrorSchema(many=True).dump(
        [{"code": status, "description": text} for text in descriptions]), "errors", status)


@open311.errorhandler(_Refused)
@open311_xml.errorhandler(_Refused)
def open311_refused(error: _Refused):
    return _refusal(error.status, _field_errors(error.errors))


@open311.errorhandler(EngineError)
@open311_xml.errorhandler(EngineError)
def open311_engine_unavailable(error: EngineError):
    current_app.logger.error("open311: engine call failed: %s", error)
    return _refusal(503, ["流程引擎暂不可用, 请稍后重试"])


@open311.errorhandler(HTTPException)
@open311_xml.errorhandler(HTTPException)
def open311_http_refusal(error: HTTPException):
    texts = {413: f"请求体过大, 上限 {current_app.config['MAX_CONTENT_LENGTH']} 字节",
             405: "该接口不支持此请求方法"}
    return _refusal(error.code, [texts.get(error.code, error.description)])


# -- answers in JSON or XML ----------------------------------------------------------------------

#: The XML element of one item of each list (the standard's names).
XML_ITEMS = {"services": "service", "service_requests": "request", "attributes": "attribute",
             "values": "value", "errors": "error"}


def _xml_element(tag: str, value) -> ElementTree.Element:
    element = ElementTree.Element(tag)
    if isinstance(value, dict):
        for key, item in value.items():
            element.append(_xml_element(key, item))
    elif isinstance(value, list):
        for item in value:
            element.append(_xml_element(XML_ITEMS[tag], item))
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)
    return element


def _answer(body, root: str, status: int = 200):
    """`body` as JSON, or as the standard's XML with `root` as its root element."""
    if request.blueprint == open311_xml.name:
        text = ElementTree.tostring(_xml_element(root, body), encoding="unicode")
        return Response('<?xml version="1.0" encoding="utf-8"?>' + text, status,
                        content_type="text/xml; charset=utf-8")
    return jsonify(body), status


def _route(path: str, endpoint: str, **options):
    """Register the view at `path`.json and `path`.xml."""
    def wrap(view):
        open311.add_url_rule(path + ".json", endpoint, view, **options)
        open311_xml.add_url_rule(path + ".xml", endpoint, view, **options)
        return view
    return wrap


# -- services ------------------------------------------------------------------------------------

class ServiceSchema(Schema):
    service_code = fields.String(required=True, metadata={"example": "construction.propertyService"})
    service_name = fields.String(required=True, metadata={"example": "物业服务"})
    description = fields.String(required=True)
    metadata = fields.Boolean(required=True, metadata={
        "description": "true: 有属性 (attributes), 见 services/{service_code}.json"})
    type = fields.String(required=True, metadata={"description": "realtime: 提交即得工单编号"})
    keywords = fields.String(required=True, metadata={"description": "逗号分隔"})
    group = fields.String(required=True, metadata={"description": "一级分类"})


class AttributeValueSchema(Schema):
    key = fields.String(required=True, metadata={"description": "提交时写的值", "example": "inquiry"})
    name = fields.String(required=True, metadata={"description": "中文名", "example": "咨询"})


class AttributeSchema(Schema):
    """One attribute of a service, as the standard names its parts."""
    variable = fields.Boolean(required=True, metadata={"description": "true: 由提交者填写"})
    code = fields.String(required=True, metadata={
        "description": "提交时的字段名为 attribute[code]", "example": "kind"})
    datatype = fields.String(required=True, metadata={"description": "string | singlevaluelist"})
    required = fields.Boolean(required=True, metadata={"description": "是否必填"})
    datatype_description = fields.String(required=True, metadata={"description": "填写说明"})
    order = fields.Integer(required=True, metadata={"description": "显示顺序"})
    description = fields.String(required=True, metadata={"description": "属性的中文名"})
    values = fields.List(fields.Nested(AttributeValueSchema), required=True, metadata={
        "description": "可选的值 (singlevaluelist)"})


class ServiceDefinitionSchema(Schema):
    service_code = fields.String(required=True)
    attributes = fields.List(fields.Nested(AttributeSchema), required=True)


def _service(leaf) -> dict:
    examples = "; ".join(leaf.examples)
    return {"service_code": leaf.code, "service_name": leaf.name,
            "description": f"{leaf.full_name}" + (f"。例如: {examples}" if examples else ""),
            "metadata": True, "type": "realtime", "keywords": ",".join(leaf.keywords),
            "group": leaf.category_name}


@_route("/services", "services", methods=["GET"])
def services():
    """The services: our category leaves (诉求分类)."""
    return _answer(ServiceSchema(many=True).dump(
        [_service(leaf) for leaf in TAXONOMY.current().leaves]), "services")


def _intake_components() -> dict[str, dict]:
    form = json.loads((FORMS_DIR / f"{INTAKE_FORM}.form").read_text("utf-8"))
    return {component["key"]: component for component in input_components(form)}


def _attribute(order: int, component: dict) -> dict:
    key = component["key"]
    values = [{"key": str(choice["value"]), "name": choice["label"]}
              for choice in component.get("values", [])]
    if component["type"] == "checkbox":
        values = [{"key": "true", "name": "是"}, {"key": "false", "name": "否"}]
    return {"variable": True, "code": key, "required": False, "order": order,
            "datatype": "singlevaluelist" if values else "string",
            "datatype_description": ATTRIBUTE_NOTES[key],
            "description": component["label"], "values": values}


@_route("/services/<code>", "service_definition", methods=["GET"])
def service_definition(code: str):
    """A service's attributes (诉求类型, 标题, 紧急程度, 保密)."""
    _known_service(code)
    components = _intake_components()
    return _answer(ServiceDefinitionSchema().dump({"service_code": code, "attributes": [
        _attribute(order, components[key]) for order, key in enumerate(ATTRIBUTES, 1)]}),
        "service_definition")


def _known_service(code: str) -> None:
    if TAXONOMY.current().leaf(code) is None:
        raise _Refused(404, {"service_code": [
            f"没有这个诉求分类编码 {code[:60]}, 可用的编码见 services.json"]})


# -- submitting a request ------------------------------------------------------------------------

def _text(label: str, maximum: int, minimum: int = 0, required: bool = False):
    return fields.String(required=required, validate=validate.Length(
        min=minimum, max=maximum, error=f"「{label}」应为 {minimum} 到 {maximum} 个字"),
        error_messages={"required": f"「{label}」为必填项", "invalid": f"「{label}」应为文字"},
        metadata={"description": label})


def _degrees(label: str, limit: float):
    return fields.Float(allow_nan=False, validate=validate.Range(
        min=-limit, max=limit, error=f"「{label}」应在 -{limit:g} 到 {limit:g} 之间"),
        error_messages={"invalid": f"「{label}」应为数字 (十进制度数)"}, metadata={
            "description": f"{label} (WGS84 十进制度数)"})


class ServiceRequestSchema(Schema):
    """A request as the standard's form fields; attribute[code] fields as `attributes`."""
    error_messages = {"unknown": "GeoReport v2 没有这个字段"}

    class Meta:
        unknown = RAISE

    api_key = _text("接入密钥", 200, required=True)
    service_code = _text("诉求分类编码", 80, required=True)
    jurisdiction_id = _text("辖区", 100)
    lat = _degrees("纬度", 90)
    long = _degrees("经度", 180)
    address_string = _text("地址", 200)
    address_id = _text("地址编号", 100)
    email = fields.Email(validate=validate.Length(max=100, error="「电子邮箱」最长 100 个字"),
                         error_messages={"invalid": "「电子邮箱」格式不正确"},
                         metadata={"description": "电子邮箱"})
    device_id = _text("设备编号", 100)
    account_id = _text("账号", 100)
    first_name = _text("名", 25)
    last_name = _text("姓", 25)
    phone = _text("联系电话", 20, required=True)
    description = _text("诉求描述", DESCRIPTION_MAX, minimum=5, required=True)
    media_url = fields.Url(validate=validate.Length(max=500, error="「图片地址」最长 500 个字"),
                           error_messages={"invalid": "「图片地址」不是有效的网址"},
                           metadata={"description": "图片地址"})
    attributes = fields.Dict(keys=fields.String(validate=validate.OneOf(
        ATTRIBUTES, error="没有这个属性, 可用的属性见该分类的 services/<service_code>.json")),
        values=fields.String(validate=validate.Length(max=100, error="属性值最长 100 个字")),
        load_default=dict, metadata={"description": "attribute[属性代码]=值"})

    @pre_load
    def gather_attributes(self, data, **_):
        """attribute[kind]=inquiry … → attributes {kind: inquiry}."""
        found = {key[len("attribute["):-1]: value for key, value in data.items()
                 if key.startswith("attribute[") and key.endswith("]")}
        return {key: value for key, value in data.items() if not key.startswith("attribute[")
                } | ({"attributes": found} if found else {})

    @validates("attributes")
    def yes_or_no(self, attributes: dict, **_):
        if attributes.get("confidential", "false") not in ("true", "false"):
            raise ValidationError({"confidential": ["「诉求人要求保密」应为 true 或 false"]})

    @validates("service_code")
    def known_service(self, code: str, **_):
        if TAXONOMY.current().leaf(code) is None:
            raise ValidationError(f"没有这个诉求分类编码 {code}, 可用的编码见 services.json")

    @validates_schema
    def located(self, data, **_):
        if not data.get("address_string") and ("lat" not in data or "long" not in data):
            raise ValidationError("请填写「地址」(address_string), 或同时填写经纬度 lat 和 long",
                                  "address_string")


class ServiceRequestCreatedSchema(Schema):
    service_request_id = fields.String(metadata={
        "description": "工单编号 (已进入流程引擎时)", "example": "XS20261127-0001"})
    token = fields.String(metadata={
        "description": "令牌 (流程引擎暂不可用, 诉求已保存时): 以 tokens/{token}.json 换取工单编号"})
    service_notice = fields.String(required=True)
    account_id = fields.String(allow_none=True)


def _partner() -> str:
    """The partner whose api_key came with the request (403 for no or a wrong key)."""
    key = request.form.get("api_key", "")
    client = api_clients().authenticate(key) if key else None
    if client is None or not client.may((OPEN311_CREATE,)):
        current_app.logger.info("open311 request refused: %s api_key",
                                "a wrong" if key else "no")
        raise _Refused(403, {"api_key": [
            "缺少或无效的接入密钥, 或该密钥没有 Open311 提交权限 (请向热线中心申请)"]})
    return client.name


def _intake_payload(values: dict) -> dict:
    attributes = values["attributes"]
    name = "".join(values.get(part, "") for part in ("last_name", "first_name"))
    address = values.get("address_string") or f"经纬度 {values['lat']:.6f},{values['long']:.6f}"
    payload = {"kind": attributes.get("kind", DEFAULT_KIND), "categoryCode": values["service_code"],
               "title": attributes.get("title") or values["description"][:TITLE_FROM_DESCRIPTION],
               "content": values["description"], "address": address,
               "urgency": attributes.get("urgency", "normal"), "callerPhone": values["phone"],
               "confidential": attributes.get("confidential") == "true", "channel": CHANNEL}
    return payload | ({"callerName": name} if name else {})


@open311.post("/requests.json", endpoint="create_request")
@open311_xml.post("/requests.xml", endpoint="create_request")
def create_request():
    """Submit a request (受理): form-encoded, with the partner's api_key."""
    partner = _partner()
    try:
        values = ServiceRequestSchema().load(request.form.to_dict())
        recorded = {"partner": partner, "callerEmail": values.get("email"),
                    "mediaUrl": values.get("media_url"), "latitude": values.get("lat"),
                    "longitude": values.get("long")}
        taken = take_appeal(_intake_payload(values), recorded=lambda _: {
            name: value for name, value in recorded.items() if value is not None})
    except ValidationError as error:
        raise _Refused(400, error.messages) from None
    current_app.logger.info("open311 request from %s: appeal %s", partner, taken.number)
    if taken.instance_id is None:
        return _answer(ServiceRequestCreatedSchema(many=True).dump([{
            "token": tokens().give(taken.number, partner), "account_id": None,
            "service_notice": "已受理并保存, 稍后以 token 查询工单编号"}]), "service_requests", 202)
    return _answer(ServiceRequestCreatedSchema(many=True).dump([{
        "service_request_id": taken.number, "account_id": None,
        "service_notice": f"已受理, 工单编号 {taken.number}"}]), "service_requests", 201)


create_request.request_schema = ServiceRequestSchema
create_request.request_media_type = "application/x-www-form-urlencoded"
create_request.response_schema = ServiceRequestCreatedSchema(many=True)
create_request.response_status = 201


class TokenOutSchema(Schema):
    token = fields.String(required=True)
    service_request_id = fields.String(metadata={"description": "工单编号 (诉求已进入流程引擎时)"})


@_route("/tokens/<token>", "token", methods=["GET"])
def token(token: str):
    """The appeal number of a token, once the appeal is in the engine."""
    number = tokens().number(token[:100])
    if number is None:
        raise _Refused(404, {"token": ["没有这个令牌"]})
    queued = intake_outbox().entry(number)
    started = {} if queued and queued["status"] == "queued" else {"service_request_id": number}
    return _answer(TokenOutSchema(many=True).dump([{"token": token} | started]),
                   "service_requests")


# -- reading requests ----------------------------------------------------------------------------

class ServiceRequestOutSchema(Schema):
    service_request_id = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "open | closed"})
    status_notes = fields.String(metadata={"description": "当前环节"})
    service_name = fields.String()
    service_code = fields.String()
    agency_responsible = fields.String(allow_none=True, metadata={"description": "承办单位"})
    requested_datetime = fields.String(metadata={"description": "受理时间 (ISO 8601)"})
    updated_datetime = fields.String(metadata={"description": "最近一次变化的时间"})
    expected_datetime = fields.String(allow_none=True, metadata={"description": "办结时限"})
    address = fields.String(allow_none=True)
    lat = fields.Float(allow_none=True)
    long = fields.Float(allow_none=True)


#: What a request's answer reads of an appeal: never the caller, nor the caller's text.
READ = ("categoryCode", "confidential", "leadUnit", "receivedAt", "address", "latitude",
        "longitude", "completionDeadline")


def _iso(value: str | None) -> str | None:
    """An engine or variable timestamp as ISO 8601 in Beijing time."""
    if not value:
        return None
    return dt.datetime.fromisoformat(value).astimezone(SHANGHAI).isoformat(timespec="seconds")


def _request_out(number: str, values: dict, closed: bool, stage: str, updated: str) -> dict:
    status = "closed" if closed else "open"
    if values.get("confidential"):
        return {"service_request_id": number, "status": status}
    leaf = TAXONOMY.current().leaf(values.get("categoryCode"))
    lead = DIRECTORY.current().unit(values.get("leadUnit") or "")
    return {"service_request_id": number, "status": status, "status_notes": stage,
            "service_code": values.get("categoryCode"), "service_name": leaf and leaf.name,
            "agency_responsible": lead.name if lead else None,
            "requested_datetime": _iso(values.get("receivedAt")), "updated_datetime": updated,
            "expected_datetime": _iso(values.get("completionDeadline")),
            "address": values.get("address"), "lat": values.get("latitude"),
            "long": values.get("longitude")}


def _requests_out(roots: list[dict]) -> list[dict]:
    """The answers for these appeals (history instances of the main process), in their order."""
    if not roots:
        return []
    engine = admin_engine()
    values = appeal.variables_by_instance(engine, [root["id"] for root in roots], READ)
    answers = []
    for root in roots:
        number, closed = root["businessKey"], root["state"] == "COMPLETED"
        open_tasks = [] if closed else appeal.open_tasks(engine, number)
        updated = root.get("endTime") or (open_tasks[-1]["created"] if open_tasks
                                          else root["startTime"])
        answers.append(_request_out(number, values[root["id"]], closed, stage_of(
            [task["taskDefinitionKey"] for task in open_tasks], closed), _iso(updated)))
    return answers


def _queued_request(number: str) -> dict | None:
    """An appeal still waiting in the outbox: received, no stage yet."""
    queued = intake_outbox().entry(number)
    if not (queued and queued["status"] == "queued"):
        return None
    values = from_typed_map(queued["variables"])
    return _request_out(number, values, False, QUEUED_STAGE, _iso(values.get("receivedAt")))


def _roots(**query) -> list[dict]:
    return admin_engine().get("/history/process-instance", processDefinitionKey=
                              appeal.APPEAL_PROCESS, **query)


@_route("/requests/<service_request_id>", "request_status", methods=["GET"])
def request_status(service_request_id: str):
    """One request: status, stage, lead unit, times, address."""
    number = service_request_id
    if not NUMBER_PATTERN.match(number):
        raise _Refused(404, {"service_request_id": [f"没有编号为 {number[:40]} 的工单"]})
    found = _queued_request(number)
    if found is None:
        found, = _requests_out(_roots(processInstanceBusinessKey=number)) or [None]
    if found is None:
        raise _Refused(404, {"service_request_id": [f"没有编号为 {number} 的工单"]})
    return _answer(ServiceRequestOutSchema(many=True).dump([found]), "service_requests")


def _comma_list(label: str, pattern: str, limit: int):
    return fields.String(validate=[validate.Regexp(
        rf"^{pattern}(,{pattern})*$", error=f"「{label}」应为逗号分隔的值"), validate.Length(
        max=limit, error=f"「{label}」最长 {limit} 个字")], metadata={"description": label})


class RequestSearchSchema(Schema):
    error_messages = {"unknown": "GeoReport v2 没有这个查询参数"}

    class Meta:
        unknown = RAISE

    service_request_id = _comma_list("工单编号 (逗号分隔, 忽略其他条件)",
                                     NUMBER_PATTERN.pattern.strip("^$"), 2000)
    service_code = _comma_list("诉求分类编码 (逗号分隔)", r"[A-Za-z0-9.]+", 2000)
    status = fields.String(validate=validate.Regexp(
        r"^(open|closed)(,(open|closed))*$", error="「状态」应为 open、closed 或 open,closed"),
        metadata={"description": "open | closed (逗号分隔)"})
    start_date = fields.AwareDateTime(error_messages={
        "invalid": "「开始时间」应为带时区的 ISO 8601 时间, 如 2026-12-01T00:00:00+08:00",
        "invalid_awareness": "「开始时间」须带时区, 如 +08:00 或 Z"})
    end_date = fields.AwareDateTime(error_messages={
        "invalid": "「结束时间」应为带时区的 ISO 8601 时间, 如 2026-12-31T23:59:59+08:00",
        "invalid_awareness": "「结束时间」须带时区, 如 +08:00 或 Z"})
    jurisdiction_id = _text("辖区", 100)
    page = fields.Integer(load_default=1, validate=validate.Range(
        min=1, max=10_000, error="「页码」应为 1 到 10000"), error_messages={
        "invalid": "「页码」应为整数"})
    page_size = fields.Integer(load_default=PAGE_SIZE, validate=validate.Range(
        min=1, max=PAGE_SIZE_MAX, error=f"「每页条数」应为 1 到 {PAGE_SIZE_MAX}"),
        error_messages={"invalid": "「每页条数」应为整数"})

    @validates_schema
    def span(self, data, **_):
        if data.get("start_date") and data.get("end_date") and \
                not dt.timedelta(0) <= data["end_date"] - data["start_date"] <= SEARCH_SPAN:
            raise ValidationError(f"开始到结束时间应在 {SEARCH_SPAN.days} 天之内且不倒置",
                                  "end_date")


def _engine_moment(moment: dt.datetime) -> str:
    return moment.astimezone(SHANGHAI).strftime("%Y-%m-%dT%H:%M:%S.000%z")


@_route("/requests", "search_requests", methods=["GET"])
def search_requests():
    """Requests by status, service code and time (the latest 90 days when none given), newest
    first, a page at a time."""
    try:
        query = RequestSearchSchema().load(request.args.to_dict())
    except ValidationError as error:
        raise _Refused(400, error.messages) from None
    if query.get("service_request_id"):
        numbers = query["service_request_id"].split(",")[:PAGE_SIZE_MAX]
        found = [_queued_request(number) for number in numbers]
        started = [number for number, queued in zip(numbers, found) if queued is None]
        roots = _roots(processInstanceBusinessKeyIn=",".join(started)) if started else []
        answers = [item for item in found if item] + _requests_out(roots)
        return _answer(ServiceRequestOutSchema(many=True).dump(answers), "service_requests")
    end = query.get("end_date") or (query["start_date"] + SEARCH_SPAN if "start_date" in query
                                    else dt.datetime.now(SHANGHAI))
    start = query.get("start_date") or end - SEARCH_SPAN
    states = set((query.get("status") or "open,closed").split(","))
    filters = {"startedAfter": _engine_moment(start), "startedBefore": _engine_moment(end),
               "sortBy": "startTime", "sortOrder": "desc"} | (
        {"finished": "true"} if states == {"closed"} else
        {"unfinished": "true"} if states == {"open"} else {})
    first, size = (query["page"] - 1) * query["page_size"], query["page_size"]
    codes = query["service_code"].split(",") if query.get("service_code") else [None]
    roots = []
    for code in dict.fromkeys(codes):  # the engine filters one value at a time
        roots += _roots(firstResult=0, maxResults=first + size, **filters, **(
            {"variables": f"categoryCode_eq_{code}"} if code else {}))
    roots = sorted(roots, key=lambda root: root["startTime"], reverse=True)[first:first + size]
    return _answer(ServiceRequestOutSchema(many=True).dump(_requests_out(roots)),
                   "service_requests")


search_requests.query_schema = RequestSearchSchema
search_requests.response_schema = ServiceRequestOutSchema(many=True)
request_status.response_schema = ServiceRequestOutSchema(many=True)
token.response_schema = TokenOutSchema(many=True)
services.response_schema = ServiceSchema(many=True)
service_definition.response_schema = ServiceDefinitionSchema()
for _view, _refusals in ((create_request, {
        400: "字段错误 (description 写明字段)", 403: "缺少或无效的 api_key", 413: "请求体过大",
        503: "流程引擎暂不可用, 且本控制台尚未取得离线编号段"}),
        (service_definition, {404: "没有这个诉求分类编码"}), (token, {404: "没有这个令牌"}),
        (request_status, {404: "没有这个编号的工单", 503: "流程引擎暂不可用"}),
        (search_requests, {400: "查询参数错误", 503: "流程引擎暂不可用"})):
    _view.other_responses = {code: (text, Open311ErrorSchema(many=True))
                             for code, text in _refusals.items()}
    _view.refusals = {}
create_request.other_responses[202] = (
    "已受理并保存, 流程引擎暂不可用: 以 token 换取工单编号", ServiceRequestCreatedSchema(many=True))


@open311.get("/openapi.json")
def open311_openapi():
    """The OpenAPI document of the Open311 endpoints."""
    return jsonify(current_app.config["OPEN311_SPEC"])


def init_open311(app: Flask) -> None:
    """The endpoints and their OpenAPI document; no CSRF token: the partner's api_key is the
    proof (the page's token is for the console's own forms)."""
    csrf.exempt(open311)
    csrf.exempt(open311_xml)
    app.register_blueprint(open311)
    app.register_blueprint(open311_xml)
    spec = build_spec(app, open311, "宿事速办 Open311 GeoReport v2")
    spec["paths"].pop(open311.url_prefix + "/openapi.json", None)
    app.config["OPEN311_SPEC"] = spec
