"""The intake API: register an appeal, read its status. Every call needs the API token."""
from __future__ import annotations

from flask import current_app, jsonify, request
from marshmallow import Schema, ValidationError, fields

from console.api import api, requires_token, responds_with
from console.form_schema import form_schema
from deploy.settings import Settings
from external_tasks.camunda import EngineClient, EngineError, from_typed, to_typed_map
from external_tasks.intake import allocate_appeal_number, now_in_shanghai

PROCESS_KEY = "hotline_appeal"
INTAKE_FORM = "appeal_intake"

#: What the status shows; the caller's name and phone only masked.
STATUS_VARIABLES = (
    "appealNumber", "kind", "categoryCode", "categoryName", "title", "township", "address",
    "urgency", "important", "channel", "receivedAt", "leadUnit", "coUnits", "signForDeadline",
    "feedbackDeadline", "completionDeadline", "overdue", "signForOverdue", "feedbackOverdue",
    "completionOverdue", "evaluation", "solved", "closedAs", "callerNameMasked",
    "callerPhoneMasked", "confidential", "scopeFlag", "scopeReason", "routingStatus",
    "redispatchCount", "returnCount", "improperReturnCount", "callbackAttempts", "answer",
    "leaderReceived", "dutyLeader",
)
TIMELINE_TYPES = {"startEvent", "noneEndEvent", "userTask", "serviceTask", "callActivity",
                  "boundaryTimer", "intermediateTimer", "subProcess", "multiInstanceBody"}


def _engine() -> EngineClient:
    settings: Settings = current_app.config["SUBAN_SETTINGS"]
    if "SUBAN_ENGINE" not in current_app.config:
        current_app.config["SUBAN_ENGINE"] = EngineClient(
            settings.engine_rest_url, settings.admin_user, settings.admin_password)
    return current_app.config["SUBAN_ENGINE"]


class ErrorSchema(Schema):
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         required=True, metadata={"description": "字段 → 问题"})


class AppealCreatedSchema(Schema):
    appealNumber = fields.String(required=True, metadata={"example": "XS20261127-0001"})
    processInstanceId = fields.String(required=True)


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
    status = fields.String(required=True, metadata={"description": "open | closed"})
    closedAs = fields.String(allow_none=True)
    currentSteps = fields.List(fields.Nested(TaskOutSchema), required=True)
    leadUnit = fields.String(allow_none=True)
    coUnits = fields.List(fields.String(), required=True)
    deadlines = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True))
    overdue = fields.Boolean(required=True)
    evaluation = fields.String(allow_none=True)
    variables = fields.Dict(required=True, metadata={"description": "工单信息 (诉求人已脱敏)"})
    timeline = fields.List(fields.Nested(TimelineEntrySchema), required=True)


def error_response(errors: dict, status: int = 400):
    return jsonify(ErrorSchema().dump({"errors": errors})), status


@api.post("/appeals")
@requires_token
def create_appeal():
    """Register an appeal (受理): validated by the intake form's rules, then started."""
    payload = request.get_json(silent=True)
    if payload is None:
        return error_response({"_body": ["请求体应为 JSON (Content-Type: application/json)"]})
    try:
        values = form_schema(INTAKE_FORM).load(payload)
    except ValidationError as error:
        return error_response(error.messages)
    number = allocate_appeal_number(current_app.config["SUBAN_SETTINGS"].data_dir,
                                    now_in_shanghai().date())
    try:
        instance = _engine().post(f"/process-definition/key/{PROCESS_KEY}/start", {
            "businessKey": number,
            "variables": to_typed_map(values | {"appealNumber": number})})
    except EngineError as error:
        current_app.logger.error("appeal %s not started: %s", number, error)
        return error_response({"_engine": ["流程引擎暂不可用, 请稍后重试 (engine unavailable)"]}, 503)
    return jsonify(AppealCreatedSchema().dump(
        {"appealNumber": number, "processInstanceId": instance["id"]})), 201


create_appeal.request_schema = form_schema(INTAKE_FORM).__class__
create_appeal.response_schema = AppealCreatedSchema()
create_appeal.response_status = 201


OVERDUE_FLAGS = ("overdue", "signForOverdue", "feedbackOverdue", "completionOverdue")


def _variables(engine: EngineClient, instance_ids: list[str]) -> tuple[dict, bool]:
    """The appeal's variables (the main process's win) and whether any process marked it overdue."""
    found = engine.post("/history/variable-instance?deserializeValues=false",
                        {"processInstanceIdIn": instance_ids})
    values: dict = {}
    for variable in sorted(found, key=lambda v: v["processInstanceId"] != instance_ids[0]):
        values.setdefault(variable["name"], from_typed(variable))
    overdue = any(variable["name"] in OVERDUE_FLAGS and variable.get("value") is True
                  for variable in found)
    return values, overdue


@api.get("/appeals/<number>")
@requires_token
@responds_with(AppealStatusSchema())
def appeal_status(number: str):
    """Status of an appeal: step, units, deadlines, overdue, evaluation and timeline."""
    engine = _engine()
    roots = engine.get("/history/process-instance", processInstanceBusinessKey=number,
                       processDefinitionKey=PROCESS_KEY)
    if not roots:
        raise _NotFound(number)
    root = roots[0]
    family = engine.get("/history/process-instance", processInstanceBusinessKey=number)
    instance_ids = [root["id"]] + [item["id"] for item in family if item["id"] != root["id"]]
    names = {item["id"]: item.get("processDefinitionName") or item["processDefinitionKey"]
             for item in family}
    # Child processes carry the live overdue flags; the main process wins for everything else.
    values, overdue = _variables(engine, instance_ids)
    activities = sorted((activity for instance_id in instance_ids for activity in engine.get(
        "/history/activity-instance", processInstanceId=instance_id)),
        key=lambda activity: (activity["startTime"], activity.get("endTime") or "~"))
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
        "variables": {key: values[key] for key in STATUS_VARIABLES if key in values},
        "timeline": [{"step": activity.get("activityName") or activity["activityId"],
                      "type": activity["activityType"], "started": activity["startTime"],
                      "ended": activity.get("endTime"),
                      "process": names.get(activity["processInstanceId"], "")}
                     for activity in activities if activity["activityType"] in TIMELINE_TYPES],
    }


def _candidate_group(engine: EngineClient, task_id: str) -> str | None:
    links = engine.get(f"/task/{task_id}/identity-links", type="candidate")
    return next((link["groupId"] for link in links if link.get("groupId")), None)


class _NotFound(Exception):
    pass


@api.errorhandler(_NotFound)
def appeal_not_found(error: _NotFound):
    return error_response({"number": [f"没有编号为 {error.args[0]} 的工单"]}, 404)
