"""Supervision on request (督办): the hotline centre flags an appeal in handling as a major,
complex or hard case, and the appeal process starts a supervision at the level asked for
(三级督办 by the leader in charge, by default). Only an appeal that a unit is handling can be
supervised: a closed appeal, or one waiting for dispatch or callback, is refused with the reason.
"""
from __future__ import annotations


from flask import jsonify
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from console.api import api, admin_engine, error_response, json_body, requires_scope
from console.api_clients import SUPERVISION_CREATE
from external_tasks.appeal import APPEAL_PROCESS, SUPERVISION_PROCESS
from external_tasks.camunda import EngineClient, EngineError, to_typed_map
from external_tasks.runtime import retry_on_conflict
MESSAGE = "SupervisionRequested"


class SupervisionRequestSchema(Schema):
    error_messages = {"unknown": "督办申请中没有这个字段 (unknown field)",
                      "type": "请求体应为 JSON 对象 (expected a JSON object)"}

    class Meta:
        unknown = RAISE

    level = fields.Integer(load_default=3, validate=validate.OneOf(
        (1, 2, 3), error="「督办层级」应为 1 (热线中心)、2 (县督查考核办) 或 3 (县领导)"),
        error_messages={"invalid": "「督办层级」应为整数 1、2 或 3"},
        metadata={"description": "督办层级: 1 热线中心, 2 县督查考核办, 3 分管县领导"})
    reason = fields.String(required=True, validate=validate.Length(
        min=4, max=1000, error="「督办说明」应为 4 到 1000 个字"),
        error_messages={"required": "「督办说明」为必填项"},
        metadata={"description": "为何督办 (重大、复杂、疑难的情况)"})


class SupervisionAcceptedSchema(Schema):
    appealNumber = fields.String(required=True)
    level = fields.Integer(required=True)


def correlate(engine: EngineClient, number: str, values: dict) -> None:
    # A worker may update the appeal at the same moment; the engine then refuses one of the two.
    retry_on_conflict(lambda: engine.post("/message", {
        "messageName": MESSAGE, "businessKey": number,
        "processVariables": to_typed_map({"requestedSupervisionLevel": values["level"],
                                          "supervisionReason": values["reason"]})}))


@api.post("/appeals/<number>/supervisions")
@requires_scope(SUPERVISION_CREATE)
def request_supervision(number: str):
    """Start a supervision (督办) of an appeal that a unit is handling."""
    payload = json_body()
    try:
        values = SupervisionRequestSchema().load(payload if payload is not None else {})
    except ValidationError as error:
        return error_response(error.messages)
    engine = admin_engine()
    appeals = engine.get("/history/process-instance", processInstanceBusinessKey=number,
                         processDefinitionKey=APPEAL_PROCESS)
    if not appeals:
        return error_response({"number": [f"没有编号为 {number} 的工单"]}, 404)
    if appeals[0]["state"] != "ACTIVE":
        return error_response({"number": [f"工单 {number} 已办结, 不能再督办"]}, 409)
    try:
        correlate(engine, number, values)
    except EngineError as error:
        if error.status not in (400, 404):
            raise
        return error_response({"number": [
            f"工单 {number} 当前不在承办单位办理阶段 (待派单、回访中等), 不能发起督办"]}, 409)
    return jsonify(SupervisionAcceptedSchema().dump(
        {"appealNumber": number, "level": values["level"]})), 202


request_supervision.request_schema = SupervisionRequestSchema
request_supervision.response_schema = SupervisionAcceptedSchema()
request_supervision.response_status = 202
request_supervision.refusals = {404: "没有这个编号的工单", 409: "工单已办结或不在承办单位办理阶段",
                               503: "流程引擎暂不可用"}


class SupervisionOutSchema(Schema):
    levels = fields.List(fields.Integer(), required=True,
                         metadata={"description": "督办经过的层级, 如 [1, 2, 3]"})
    level = fields.Integer(allow_none=True, metadata={"description": "当前 (或最终) 督办层级"})
    trigger = fields.String(allow_none=True)
    verdict = fields.String(allow_none=True,
                            metadata={"description": "resolved | explained | continue | escalate"})
    responseOverdue = fields.Boolean(required=True,
                                     metadata={"description": "曾有督办单逾期未反馈"})
    state = fields.String(required=True, metadata={"description": "ACTIVE | COMPLETED | ..."})
    started = fields.String(required=True)
    ended = fields.String(allow_none=True)


def supervision_summaries(engine: EngineClient, family: list[dict]) -> list[dict]:
    """Each supervision of the appeal: the levels it passed through (from the history of its
    `supervisionLevel` variable), its trigger and the latest verdict."""
    summaries = []
    for instance in sorted((item for item in family
                            if item["processDefinitionKey"] == SUPERVISION_PROCESS),
                           key=lambda item: item["startTime"]):
        updates = sorted(engine.get("/history/detail", processInstanceId=instance["id"],
                                    deserializeValues="false"), key=lambda item: item["time"])
        history: dict[str, list] = {}
        for update in updates:
            if update.get("variableName"):
                history.setdefault(update["variableName"], []).append(update.get("value"))
        levels = [int(level) for level in history.get("supervisionLevel", []) if level is not None]
        summaries.append({
            "levels": list(dict.fromkeys(levels)), "level": levels[-1] if levels else None,
            "trigger": (history.get("supervisionTrigger") or [None])[-1],
            "verdict": (history.get("supervisionVerdict") or [None])[-1],
            "responseOverdue": any(history.get("supervisionResponseOverdue", [])),
            "state": instance["state"], "started": instance["startTime"],
            "ended": instance.get("endTime")})
    return summaries
