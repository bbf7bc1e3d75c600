"""The intake API: register an appeal, read its status. Every call needs the API token."""
from __future__ import annotations

import datetime as dt
import typing

from flask import current_app, jsonify
from marshmallow import Schema, ValidationError, fields

from console.api import (api, admin_engine, calling_client, error_response, json_body,
                         requires_scope, responds_with)
from console.api_clients import APPEALS_CREATE, APPEALS_READ, APPEALS_READ_CALLER
from console.form_schema import form_schema
from console.knowledge import answered_from_knowledge
from console.supervision import SupervisionOutSchema, supervision_summaries
from admin_data.environment import Settings
from console.outbox import IntakeOutbox, deliver, outbox_path
from external_tasks import appeal
from external_tasks.camunda import EngineClient, EngineError, from_typed_map, to_typed_map
from external_tasks.intake import NUMBER_PATTERN, NUMBER_PREFIX, now_in_shanghai, take_appeal_number

INTAKE_FORM = "appeal_intake"
#: How long a caller of the intake API waits for the engine before the appeal is queued.
INTAKE_WAIT_S = 5

#: What the status shows; the caller's name and phone only masked.
STATUS_VARIABLES = appeal.WITHOUT_CALLER
TIMELINE_TYPES = {"startEvent", "noneEndEvent", "userTask", "serviceTask", "callActivity",
                  "boundaryTimer", "intermediateTimer", "subProcess", "multiInstanceBody"}


def _intake_engine() -> EngineClient:
    """The engine for starting appeals: a caller waits at most `INTAKE_WAIT_S` per call."""
    settings: Settings = current_app.config["SUBAN_SETTINGS"]
    if "SUBAN_INTAKE_ENGINE" not in current_app.config:
        current_app.config["SUBAN_INTAKE_ENGINE"] = EngineClient(
            settings.engine_rest_url, settings.admin_user, settings.admin_password,
            timeout_s=INTAKE_WAIT_S)
    return current_app.config["SUBAN_INTAKE_ENGINE"]


def intake_outbox() -> IntakeOutbox:
    if "SUBAN_INTAKE_OUTBOX" not in current_app.config:
        current_app.config["SUBAN_INTAKE_OUTBOX"] = IntakeOutbox(
            outbox_path(current_app.config["SUBAN_SETTINGS"]))
    return current_app.config["SUBAN_INTAKE_OUTBOX"]


class AppealCreatedSchema(Schema):
    appealNumber = fields.String(required=True, metadata={"example": "XS20261127-0001"})
    processInstanceId = fields.String(required=True)


class AppealQueuedSchema(Schema):
    appealNumber = fields.String(required=True, metadata={"example": "XS20261127-0001"})
    status = fields.String(required=True, metadata={
        "description": "queued: 已受理, 等待流程引擎 (received, waiting for the engine)"})


class TaskOutSchema(Schema):
    name = fields.String(required=True)
    unit = fields.String(allow_none=True, metadata={"description": "候选单位"})
    created = fields.String(required=True)
    due = fields.String(allow_none=True)


class TimelineEntrySchema(Schema):
    step = fields.String(required=True)
    type = fields.String(required=True)
    started = fields.String(required=True)
    ended = fields.String(allow_none=True)
    process = fields.String(required=True)


class AppealStatusSchema(Schema):
    appealNumber = fields.String(required=True)
    status = fields.String(required=True, metadata={
        "description": "queued (已受理, 等待流程引擎) | open | closed"})
    closedAs = fields.String(allow_none=True)
    currentSteps = fields.List(fields.Nested(TaskOutSchema), required=True)
    leadUnit = fields.String(allow_none=True)
    coUnits = fields.List(fields.String(), required=True)
    deadlines = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    overdue = fields.Boolean(required=True)
    evaluation = fields.String(allow_none=True)
    variables = fields.Dict(required=True, metadata={"description": "工单信息 (诉求人已脱敏)"})
    timeline = fields.List(fields.Nested(TimelineEntrySchema), required=True)
    supervisions = fields.List(fields.Nested(SupervisionOutSchema), required=True,
                               metadata={"description": "三级督办"})


def _queued(number: str):
    return jsonify(AppealQueuedSchema().dump({"appealNumber": number, "status": "queued"})), 202


@api.post("/appeals")
@requires_scope(APPEALS_CREATE)
def create_appeal():
    """Register an appeal (受理): validated by the intake form's rules, stored, then started."""
    return take_in(json_body())


class Taken(typing.NamedTuple):
    """An appeal taken in: its number, and its process instance (None while it waits in the
    outbox for the engine)."""
    number: str
    instance_id: str | None


def take_appeal(payload, recorded: typing.Callable[[dict], dict] | None = None) -> Taken:
    """The intake every channel shares: validate by the intake form's rules (ValidationError
    naming the fields), take a number, store in the outbox, start or leave to the relay.
    `recorded` gives variables the channel keeps beside the form's (e.g. the desk's suggested
    category)."""
    values = form_schema(INTAKE_FORM).load(payload)
    values |= answered_from_knowledge(values)
    now = now_in_shanghai()
    if values.get("receivedAt") and dt.datetime.fromisoformat(values["receivedAt"]) > now:
        # The register-appeal worker would stop this appeal with an incident.
        raise ValidationError({"receivedAt": [
            "「受理时间」不能晚于现在 (receipt time in the future)"]})
    outbox = intake_outbox()
    try:
        number, engine_error = take_appeal_number(_intake_engine()), None
    except EngineError as error:  # the engine is away: a number of this console's own series
        number, engine_error = outbox.next_offline_number(now.date(), error), error
    # Received now, however late the engine starts it: deadlines count from here.
    variables = to_typed_map({"receivedAt": now.isoformat()} | values
                             | (recorded(values) if recorded else {}) | {"appealNumber": number})
    outbox.add(number, variables, engine_error)
    try:
        if engine_error:  # no second wait for an engine that just failed: the relay starts it
            raise engine_error
        return Taken(number, deliver(outbox, _intake_engine(), number, variables))
    except EngineError as error:
        current_app.logger.warning("appeal %s queued for the engine: %s", number, error)
        return Taken(number, None)


def take_in(payload, recorded: typing.Callable[[dict], dict] | None = None):
    """`take_appeal` as the JSON API answers: 201 started, 202 queued, 400 naming the fields."""
    try:
        taken = take_appeal(payload, recorded)
    except ValidationError as error:
        return error_response(error.messages)
    if taken.instance_id is None:
        return _queued(taken.number)
    return jsonify(AppealCreatedSchema().dump(
        {"appealNumber": taken.number, "processInstanceId": taken.instance_id})), 201


create_appeal.request_schema = form_schema(INTAKE_FORM).__class__
create_appeal.response_schema = AppealCreatedSchema()
create_appeal.response_status = 201
create_appeal.refusals = {503: "流程引擎暂不可用, 且本控制台尚未取得离线编号段"}
create_appeal.other_responses = {
    202: ("已受理并保存, 流程引擎暂不可用: 引擎恢复后自动启动", AppealQueuedSchema())}


@api.get("/appeals/<number>")
@requires_scope(APPEALS_READ, APPEALS_READ_CALLER)
@responds_with(AppealStatusSchema())
def appeal_status(number: str):
    """Status of an appeal: step, units, deadlines, overdue, evaluation and timeline."""
    if not NUMBER_PATTERN.match(number):
        raise _NotFound(number)
    queued = intake_outbox().entry(number)
    if queued and queued["status"] == "queued":
        return _queued_status(number, from_typed_map(queued["variables"]))
    engine = admin_engine()
    family = appeal.family(engine, number)
    if not family or family[0]["processDefinitionKey"] != appeal.APPEAL_PROCESS:
        raise _NotFound(number)
    root = family[0]
    instance_ids = [instance["id"] for instance in family]
    names = {item["id"]: item.get("processDefinitionName") or item["processDefinitionKey"]
             for item in family}
    # Child processes carry the live overdue flags; the main process wins for everything else.
    values = appeal.appeal_variables(engine, instance_ids, STATUS_VARIABLES)
    overdue = appeal.any_overdue(engine, instance_ids)
    activities = appeal.activities(engine, instance_ids)
    tasks = engine.get("/task", processInstanceBusinessKey=number)
    return {
        "appealNumber": number,
        "status": "closed" if root["state"] == "COMPLETED" else "open",
        "closedAs": values.get("closedAs"),
        "currentSteps": [{"name": task["name"], "unit": _candidate_group(engine, task["id"]),
                          "created": task["created"], "due": task.get("due")} for task in tasks],
        "leadUnit": values.get("leadUnit"),
        "coUnits": values.get("coUnits") or [],
        "deadlines": {key: values.get(f"{key}Deadline") for key in ("signFor", "feedback",
                                                                   "completion")},
        "overdue": overdue,
        "evaluation": values.get("evaluation"),
        "variables": {key: values[key] for key in _shown_variables() if key in values},
        "timeline": [{"step": activity.get("activityName") or activity["activityId"],
                      "type": activity["activityType"], "started": activity["startTime"],
                      "ended": activity.get("endTime"),
                      "process": names.get(activity["processInstanceId"], "")}
                     for activity in activities if activity["activityType"] in TIMELINE_TYPES],
        "supervisions": supervision_summaries(engine, family),
    }


def _shown_variables() -> tuple[str, ...]:
    """The caller, masked, only to clients allowed the caller's data."""
    if calling_client().may((APPEALS_READ_CALLER,)):
        return STATUS_VARIABLES
    return tuple(name for name in STATUS_VARIABLES if name not in appeal.CALLER_MASKED)


def _queued_status(number: str, values: dict) -> dict:
    """An appeal in the outbox, not yet in the engine: what was received, no steps yet."""
    return {"appealNumber": number, "status": "queued", "closedAs": None, "currentSteps": [],
            "leadUnit": None, "coUnits": [], "deadlines": {}, "overdue": False,
            "evaluation": None, "timeline": [], "supervisions": [],
            "variables": {key: values[key] for key in _shown_variables() if key in values}}


def _candidate_group(engine: EngineClient, task_id: str) -> str | None:
    links = engine.get(f"/task/{task_id}/identity-links", type="candidate")
    return next((link["groupId"] for link in links if link.get("groupId")), None)


class _NotFound(Exception):
    pass


@api.errorhandler(_NotFound)
def appeal_not_found(error: _NotFound):
    return error_response({"number": [f"没有编号为 {error.args[0]} 的工单 (工单编号形如 "
                                      f"{NUMBER_PREFIX}20261127-0001)"]}, 404)


appeal_status.refusals = {404: "没有这个编号的工单", 503: "流程引擎暂不可用"}
appeal_status.path_schemas = {"number": {"type": "string", "pattern": NUMBER_PATTERN.pattern}}
