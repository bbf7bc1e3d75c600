"""Citizen self-query (工单进度自助查询): a public page for phones and a JSON endpoint. Appeal
number + the last four digits of the caller's phone → status, stage, lead unit, deadlines, the
approved reply, and the evaluation link while the callback is due. Nothing else leaves: no caller
data, no internal notes, no co-unit opinions; a confidential appeal shows only its stage.

A wrong number and wrong digits get the same answer, so the page tells nobody which numbers
exist. Attempts are limited per IP address and per appeal number (a lockout after repeated
misses) and every attempt is logged, in <data>/console/self_query.sqlite and the console log.
"""
from __future__ import annotations

import datetime as dt
import hmac
from pathlib import Path

from flask import Blueprint, current_app, jsonify, render_template, request, url_for
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from admin_data.directory import DIRECTORY
from console.api import admin_engine, api, error_response, json_body, per_app
from console.appeals import intake_outbox
from external_tasks import appeal
from external_tasks.camunda import from_typed_map
from console.sqlite_file import SqliteFile
from external_tasks.intake import NUMBER_PATTERN

self_query = Blueprint("self_query", __name__, url_prefix="/query", template_folder="templates")

#: Misses of one appeal number before it is locked, within LOCK_WINDOW.
NUMBER_MISSES = 5
#: Misses from one IP address before it is locked, within LOCK_WINDOW.
IP_MISSES = 10
#: Attempts of one IP address, right or wrong, within LOCK_WINDOW.
IP_ATTEMPTS = 60
LOCK_WINDOW = dt.timedelta(minutes=30)

NOT_FOUND = "未查到与该工单编号和手机号后四位相符的工单, 请核对后重试"
LOCKED = "查询尝试次数过多, 请 30 分钟后再试"

#: The user task open now → the stage a caller is shown.
STAGES = {
    "Task_ReviewIntake": "受理审核中", "Task_ReviewDispatch": "派单中", "Task_ReviewReturn": "派单中",
    "Task_SignForAppeal": "待承办单位签收", "Task_HandleAppeal": "承办单位办理中",
    "Task_ReplyAppeal": "承办单位办理中", "Task_ReviewExtension": "承办单位办理中",
    "Task_AssistAppeal": "承办单位办理中", "Task_OpenConsultation": "承办单位办理中",
    "Task_GiveConsultationOpinion": "承办单位办理中", "Task_DecideConsultation": "承办单位办理中",
    "Task_ReviewReply": "答复审核中", "Task_CallbackCaller": "待回访评价",
}
CALLBACK_TASK = "Task_CallbackCaller"
#: The stage of an appeal still in the console's outbox, and of a closed one.
QUEUED_STAGE, CLOSED_STAGE = "已受理, 等待派单", "已办结"
#: The callback form's choices (forms/callback.form, evaluation).
EVALUATIONS = {"satisfied": "满意", "basically_satisfied": "基本满意", "unsatisfied": "不满意"}
DEADLINE_NAMES = {"signForDeadline": "签收时限", "feedbackDeadline": "首次反馈时限",
                  "completionDeadline": "办结时限"}
#: What the self-query reads of an appeal: the caller's phone only to compare its last digits.
READ = appeal.names(("callerPhone", "confidential", "leadUnit", "closedAs", "replyText",
                     "answer", "answeredOnCall", "evaluation"), appeal.DEADLINES)

SCHEMA = """
CREATE TABLE IF NOT EXISTS attempt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    ip TEXT NOT NULL,
    appeal_number TEXT NOT NULL,
    outcome TEXT NOT NULL        -- found | miss | locked
);
CREATE INDEX IF NOT EXISTS attempt_ip ON attempt (ip, at);
CREATE INDEX IF NOT EXISTS attempt_number ON attempt (appeal_number, at);
"""


class AttemptLog(SqliteFile):
    """Every attempt, and the limits counted from it."""

    def __init__(self, path: Path):
        super().__init__(path, SCHEMA)

    def locked(self, ip: str, number: str, now: dt.datetime) -> bool:
        since = (now - LOCK_WINDOW).isoformat()
        with self._connect() as db:
            count = lambda where, *params: db.execute(
                f"SELECT count(*) FROM attempt WHERE at >= ? AND {where}", (since, *params)
            ).fetchone()[0]
            return (count("appeal_number = ? AND outcome = 'miss'", number) >= NUMBER_MISSES
                    or count("ip = ? AND outcome = 'miss'", ip) >= IP_MISSES
                    or count("ip = ?", ip) >= IP_ATTEMPTS)

    def record(self, ip: str, number: str, outcome: str, now: dt.datetime) -> None:
        with self._connect() as db:
            db.execute("INSERT INTO attempt (at, ip, appeal_number, outcome) VALUES (?, ?, ?, ?)",
                       (now.isoformat(), ip, number[:40], outcome))


def attempt_log() -> AttemptLog:
    return per_app("SUBAN_SELF_QUERY_LOG", lambda settings: AttemptLog(
        settings.data_dir / "console" / "self_query.sqlite"))


class PhoneDigitsSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the page's CSRF token

    phoneLast4 = fields.String(required=True, validate=validate.Regexp(
        r"^\d{4}$", error="「手机号后四位」应为 4 位数字"),
        error_messages={"required": "请填写「手机号后四位」"})


class SelfQuerySchema(PhoneDigitsSchema):
    appealNumber = fields.String(required=True, validate=validate.Regexp(
        NUMBER_PATTERN, error="「工单编号」格式应如 XS20261127-0001"),
        error_messages={"required": "请填写「工单编号」"},
        metadata={"example": "XS20261127-0001"})


class DeadlineOutSchema(Schema):
    name = fields.String(required=True, metadata={"description": "时限名称"})
    due = fields.String(required=True)


class SelfQueryResultSchema(Schema):
    appealNumber = fields.String(required=True)
    stage = fields.String(required=True, metadata={"description": "当前环节"})
    confidential = fields.Boolean(required=True, metadata={
        "description": "保密件: 只显示当前环节"})
    status = fields.String(allow_none=True, metadata={"description": "处理中 | 已办结"})
    leadUnitName = fields.String(allow_none=True, metadata={"description": "承办单位"})
    deadlines = fields.List(fields.Nested(DeadlineOutSchema), required=True)
    reply = fields.String(allow_none=True, metadata={"description": "审核通过的答复"})
    evaluationUrl = fields.String(allow_none=True, metadata={
        "description": "回访评价页面 (待回访时)"})


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def _now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def look_up(number: str, last4: str, ip: str) -> dict:
    """The public view of the appeal, counted against the limits and logged; _Refused with the
    one generic answer (404) or the lockout (429)."""
    log, now = attempt_log(), _now()
    if log.locked(ip, number, now):
        log.record(ip, number, "locked", now)
        current_app.logger.warning("self-query locked: appeal %s from %s", number, ip)
        raise _Refused(429, LOCKED)
    found = _public_view(number, last4)
    log.record(ip, number, "found" if found else "miss", now)
    current_app.logger.info("self-query %s: appeal %s from %s", "found" if found else "miss",
                            number, ip)
    if found is None:
        raise _Refused(404, NOT_FOUND)
    return found


def _public_view(number: str, last4: str) -> dict | None:
    queued = intake_outbox().entry(number)
    if queued and queued["status"] == "queued":
        values = from_typed_map(queued["variables"])
        if not _phone_matches(values.get("callerPhone"), last4):
            return None
        return _shown(number, values, QUEUED_STAGE, closed=False, callback_due=False)
    engine = admin_engine()
    family = appeal.family(engine, number)
    if not family or family[0]["processDefinitionKey"] != appeal.APPEAL_PROCESS:
        return None
    root = family[0]
    # The main process's own variables: its replyText is the reply the centre approved.
    values = appeal.variables_by_instance(engine, [root["id"]], READ)[root["id"]]
    if not _phone_matches(values.get("callerPhone"), last4):
        return None
    closed = root["state"] == "COMPLETED"
    keys = [task["taskDefinitionKey"] for task in appeal.open_tasks(engine, number)]
    return _shown(number, values, stage_of(keys, closed), closed,
                  callback_due=CALLBACK_TASK in keys)


def stage_of(open_task_keys: list[str], closed: bool) -> str:
    """The stage a caller is shown, from the appeal's open user tasks (oldest first)."""
    if closed:
        return CLOSED_STAGE
    return next((STAGES[key] for key in reversed(open_task_keys) if key in STAGES), "处理中")


def _phone_matches(phone: str | None, last4: str) -> bool:
    digits = "".join(filter(str.isdigit, phone or ""))
    return len(digits) >= 4 and hmac.compare_digest(digits[-4:], last4)


def _shown(number: str, values: dict, stage: str, closed: bool, callback_due: bool) -> dict:
    if values.get("confidential"):
        return {"appealNumber": number, "stage": stage, "confidential": True, "status": None,
                "leadUnitName": None, "deadlines": [], "reply": None, "evaluationUrl": None}
    lead = DIRECTORY.current().unit(values.get("leadUnit") or "")
    reply = values.get("replyText") or (values.get("answer") if values.get("answeredOnCall")
                                        else None)
    return {"appealNumber": number, "stage": stage, "confidential": False,
            "status": "已办结" if closed else "处理中", "leadUnitName": lead.name if lead else None,
            "deadlines": [{"name": name, "due": _local(values[key])}
                          for key, name in DEADLINE_NAMES.items() if values.get(key)],
            "reply": reply or None,
            "evaluationUrl": url_for("self_query.evaluation_page", number=number,
                                     _external=True) if callback_due else None}


def _local(timestamp: str) -> str:
    """2026-12-04T17:30:00+08:00 → 2026-12-04 17:30."""
    return timestamp[:16].replace("T", " ")


def _client_ip() -> str:
    return request.remote_addr or "unknown"


@api.post("/self-query")
def self_query_api():
    """Citizen self-query: appeal number + last four phone digits → its public progress."""
    try:
        values = SelfQuerySchema().load(json_body())
        found = look_up(values["appealNumber"], values["phoneLast4"], _client_ip())
    except ValidationError as error:
        return error_response(error.messages)
    except _Refused as refusal:
        return error_response({"appealNumber": [str(refusal)]}, refusal.status)
    return jsonify(SelfQueryResultSchema().dump(found))


self_query_api.request_schema = SelfQuerySchema
self_query_api.response_schema = SelfQueryResultSchema()
self_query_api.refusals = {404: NOT_FOUND, 429: LOCKED, 503: "流程引擎暂不可用"}


@self_query.route("", methods=["GET", "POST"])
def query_page():
    if request.method == "GET":
        return render_template("self_query/query.html", form={}, errors={}, found=None)
    form = request.form.to_dict()
    try:
        values = SelfQuerySchema().load(form)
        found = look_up(values["appealNumber"], values["phoneLast4"], _client_ip())
    except ValidationError as error:
        return render_template("self_query/query.html", form=form, errors=error.messages,
                               found=None), 400
    except _Refused as refusal:
        return render_template("self_query/query.html", form=form, found=None,
                               errors={"appealNumber": [str(refusal)]}), refusal.status
    return render_template("self_query/query.html", form={}, errors={}, found=found)


class EvaluationSchema(PhoneDigitsSchema):
    evaluation = fields.String(required=True, validate=validate.OneOf(
        list(EVALUATIONS), error="「评价」应为: 满意、基本满意或不满意"),
        error_messages={"required": "请选择「评价」"})


@self_query.route("/evaluate/<number>", methods=["GET", "POST"])
def evaluation_page(number: str):
    """The caller's own evaluation while the callback is due, kept on the appeal as
    citizenEvaluation for the centre's 回访."""
    page = {"number": number, "errors": {}, "done": False}
    if request.method == "GET":
        return render_template("self_query/evaluate.html", **page)
    try:
        values = EvaluationSchema().load(request.form.to_dict())
        found = look_up(number, values["phoneLast4"], _client_ip())
    except ValidationError as error:
        return render_template("self_query/evaluate.html", **page | {
            "errors": error.messages}), 400
    except _Refused as refusal:
        return render_template("self_query/evaluate.html", **page | {
            "errors": {"phoneLast4": [str(refusal)]}}), refusal.status
    if found["evaluationUrl"] is None:
        return render_template("self_query/evaluate.html", **page | {"errors": {
            "evaluation": ["该工单当前不在回访评价环节, 无需评价"]}}), 409
    engine = admin_engine()
    root = appeal.family(engine, number)[0]
    engine.rest("PUT", f"/process-instance/{root['id']}/variables/citizenEvaluation",
                expect_json=False, json={"value": values["evaluation"], "type": "String"})
    current_app.logger.info("self-query evaluation of appeal %s: %s", number,
                            values["evaluation"])
    return render_template("self_query/evaluate.html", **page | {"done": True})
