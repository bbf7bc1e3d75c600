"""并案: the hotline centre merges an appeal into an open one on the same matter, and un-merges it.

Who may be merged: the appeal being taken in (the desk submits it with `mergeInto`, and the
process goes from registration straight to the merge) or one waiting at the centre's 审核受理
or 审核派单 (the message `AppealMerged` takes it off that task). Into what: an open appeal the
centre has accepted (past the scope check), that is not merged itself — no chains — and not the
appeal itself; an appeal that others were merged into cannot be merged in turn.

The merged appeal keeps its number and its caller, carries `mergedInto` (the main appeal's
number), tells its caller by SMS (template `caller_merged`) and waits: when the main appeal has
its outcome (external_tasks.merge) its caller is told and called back with the main appeal's
reply, and it closes as `merged`. Until then an un-merge (message `AppealUnmerged`) sends it back
to its own path at the scope check. The main appeal lists its merged appeals in `mergedAppeals`
(number, title, the caller masked — （保密） for a confidential caller), which its units see: a
confidential caller of a merged appeal stays hidden from them like one of their own appeal.
"""
from __future__ import annotations

import dataclasses
import typing

from flask import jsonify
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from connectors import mask_name, mask_phone
from console.api import admin_engine, api, calling_client, error_response, json_body, requires_scope
from console.api_clients import APPEALS_CREATE
from external_tasks import appeal
from external_tasks.camunda import EngineClient, EngineError, to_typed_map
from external_tasks.intake import NUMBER_PATTERN, now_in_shanghai
from external_tasks.runtime import retry_on_conflict

MERGED_MESSAGE = "AppealMerged"
UNMERGED_MESSAGE = "AppealUnmerged"
#: A main appeal has been accepted once routing proposed its units.
ACCEPTED_STEP = "Task_ProposeDispatch"
#: Steps of a main appeal that has its outcome already (told, forwarded, called back, on-site
#: supervision before another callback): an appeal merged now would wait for an outcome that
#: has gone by.
AFTER_OUTCOME = ("Task_NotifyClosed", "Task_ForwardMergedOutcome", "Task_ForwardMergedExplanation",
                 "Task_CallbackCaller", "Event_CallbackRetryDue", "CallActivity_MediaSupervision")
HIDDEN = "（保密）"


class MergeRefused(Exception):
    """A merge or un-merge the appeals' state does not allow: the field at fault, the reason in
    Chinese and the HTTP status."""

    def __init__(self, field: str, message: str, status: int = 409):
        super().__init__(message)
        self.field, self.message, self.status = field, message, status

    def response(self, field: str | None = None):
        """The API's error answer, naming `field` (the request's own name for it) or ours."""
        return error_response({field or self.field: [self.message]}, self.status)


def _note_field() -> fields.String:
    return fields.String(load_default="", validate=validate.Length(
        max=500, error="「并案说明」最多 500 字"),
        error_messages={"invalid": "「并案说明」应为文字"},
        metadata={"description": "为何属同一事项 (或为何取消并案)"})


class MergeRequestSchema(Schema):
    error_messages = {"unknown": "并案申请中没有这个字段 (unknown field)",
                      "type": "请求体应为 JSON 对象 (expected a JSON object)"}

    class Meta:
        unknown = RAISE

    into = fields.String(required=True, validate=validate.Regexp(
        NUMBER_PATTERN, error="「并入的主工单」应为工单编号, 如 XS20261127-0001"),
        error_messages={"required": "「并入的主工单」为必填项",
                        "invalid": "「并入的主工单」应为工单编号文字"},
        metadata={"description": "主工单编号: 同一事项正在办理的工单"})
    note = _note_field()


class UnmergeRequestSchema(Schema):
    error_messages = MergeRequestSchema.error_messages

    class Meta:
        unknown = RAISE

    note = _note_field()


class MergeResultSchema(Schema):
    appealNumber = fields.String(required=True, metadata={"description": "被并案的工单"})
    mergedInto = fields.String(allow_none=True, metadata={"description": "主工单; 取消并案后为空"})


@dataclasses.dataclass(frozen=True)
class MainAppeal:
    number: str
    instance_id: str


# -- checks --------------------------------------------------------------------------------------

def _root(engine: EngineClient, number: str) -> dict | None:
    found = engine.get("/history/process-instance", processInstanceBusinessKey=number,
                       processDefinitionKey=appeal.APPEAL_PROCESS)
    return found[0] if found else None


def _variable(engine: EngineClient, instance_id: str, name: str):
    found = engine.get("/variable-instance", processInstanceIdIn=instance_id, variableName=name)
    return found[0].get("value") if found else None


def _merged_into(engine: EngineClient, number: str) -> list[dict]:
    """The running appeals merged into `number` (those waiting for its outcome)."""
    return engine.post("/variable-instance", {
        "variableName": "mergedInto", "variableValues": [
            {"name": "mergedInto", "operator": "eq", "value": number}]})


def _open_appeal(engine: EngineClient, number: str, field: str,
                 closed: str) -> tuple[dict, str | None]:
    """The appeal's process instance and its `mergedInto`; refused, naming `field`, when no
    appeal has the number or it is closed (`closed` says so)."""
    root = _root(engine, number)
    if root is None:
        raise MergeRefused(field, f"没有编号为 {number} 的工单", 404)
    if root["state"] != "ACTIVE":
        raise MergeRefused(field, closed)
    return root, _variable(engine, root["id"], "mergedInto")


def check_main(engine: EngineClient, into: str, merged: str | None = None) -> MainAppeal:
    """The main appeal `into`, if an appeal may be merged into it; else MergeRefused."""
    if merged == into:
        raise MergeRefused("into", f"工单 {into} 不能并入它自身", 400)
    root, further = _open_appeal(engine, into, "into", f"主工单 {into} 已办结, 不能再并入")
    if further:
        raise MergeRefused("into", f"工单 {into} 本身已并入 {further}, 请并入主工单 {further}")
    if not engine.get("/history/activity-instance", processInstanceId=root["id"],
                      activityId=ACCEPTED_STEP):
        raise MergeRefused("into", f"主工单 {into} 尚未受理 (仍在受理审核), 不能作为并案主件")
    if any(step["activityId"] in AFTER_OUTCOME for step in engine.get(
            "/history/activity-instance", processInstanceId=root["id"], unfinished="true")):
        raise MergeRefused("into", f"主工单 {into} 已有办理结果, 正在回访, 不能再并入")
    return MainAppeal(into, root["id"])


def _check_merged(engine: EngineClient, number: str) -> None:
    _, already = _open_appeal(engine, number, "number", f"工单 {number} 已办结, 不能并案")
    if already:
        raise MergeRefused("number", f"工单 {number} 已并入 {already}")
    if others := _merged_into(engine, number):
        raise MergeRefused("number", f"已有 {len(others)} 件工单并入 {number}, "
                                     f"它不能再并入其他工单 (请先取消那些并案)")


# -- merge and un-merge --------------------------------------------------------------------------

def merge_variables(into: str, by: str, note: str) -> dict:
    """What the merged appeal records of its merge."""
    return {"mergedInto": into, "mergedAt": now_in_shanghai().isoformat(), "mergedBy": by,
            "mergeNote": note}


def merge_appeal(engine: EngineClient, number: str, into: str, by: str, note: str = "") -> str:
    """Merge `number`, waiting at 审核受理 or 审核派单, into the open appeal `into` (returned)."""
    main = check_main(engine, into, number)
    _check_merged(engine, number)
    try:
        retry_on_conflict(lambda: engine.post("/message", {
            "messageName": MERGED_MESSAGE, "businessKey": number,
            "processVariables": to_typed_map(merge_variables(into, by, note))}))
    except EngineError as error:
        if error.status not in (400, 404):
            raise
        raise MergeRefused("number", f"工单 {number} 不在待审核受理或待审核派单环节, "
                                     f"只有受理中或待审核的工单可以并案") from None
    list_merged_appeals(engine, main)
    return into


def unmerge_appeal(engine: EngineClient, number: str, by: str, note: str = "") -> str:
    """Send the merged appeal `number` back to its own path; the main appeal's number."""
    _, into = _open_appeal(engine, number, "number", f"工单 {number} 已办结, 不在并案等待中")
    if not into:
        raise MergeRefused("number", f"工单 {number} 不在并案等待中 (未并案, 或主工单已有办理结果)")
    try:
        retry_on_conflict(lambda: engine.post("/message", {
            "messageName": UNMERGED_MESSAGE, "businessKey": number,
            "processVariables": to_typed_map({
                "mergedInto": None, "unmergedFrom": into, "unmergedBy": by,
                "unmergedAt": now_in_shanghai().isoformat(), "unmergeNote": note})}))
    except EngineError as error:
        if error.status not in (400, 404):
            raise
        raise MergeRefused("number", f"工单 {number} 正在转入并案, 请稍后再取消") from None
    main = _root(engine, into)
    if main and main["state"] == "ACTIVE":
        list_merged_appeals(engine, MainAppeal(into, main["id"]))
    return into


def list_merged_appeals(engine: EngineClient, main: MainAppeal) -> list[dict]:
    """Write `mergedAppeals` on the main appeal and on its units' running processes, from the
    appeals merged into it now: what its units may see of them, a confidential caller hidden."""
    merged = _merged_into(engine, main.number)
    names = ("title", "mergedAt", "confidential", "callerName", "callerPhone")
    values = appeal.variables_by_instance(
        engine, [variable["processInstanceId"] for variable in merged], names)
    listed = []
    for instance_id, found in values.items():
        number = engine.get(f"/history/process-instance/{instance_id}")["businessKey"]
        hidden = bool(found.get("confidential"))
        listed.append({"appealNumber": number, "title": found.get("title") or "",
                       "mergedAt": found.get("mergedAt") or "",
                       "callerNameMasked": HIDDEN if hidden else mask_name(found.get("callerName")),
                       "callerPhoneMasked": HIDDEN if hidden else mask_phone(found.get("callerPhone"))})
    listed.sort(key=lambda item: item["appealNumber"])
    typed = to_typed_map({"mergedAppeals": listed})["mergedAppeals"]
    units = engine.get("/process-instance", businessKey=main.number,
                       processDefinitionKey=appeal.UNIT_PROCESS)
    for instance_id in [main.instance_id] + [unit["id"] for unit in units]:
        retry_on_conflict(lambda: engine.rest(
            "PUT", f"/process-instance/{instance_id}/variables/mergedAppeals", json=typed))
    return listed


# -- the API -------------------------------------------------------------------------------------

def answer_merge_request(number: str, schema: Schema,
                         act: typing.Callable[[dict], str | None]):
    """The answer to a merge or un-merge request (the API's and the desk's): the body checked
    with `schema`, then `act(values)` → the main appeal's number after it (None: un-merged);
    every refusal names its field."""
    try:
        payload = json_body()
        values = schema.load(payload if payload is not None else {})
        if not NUMBER_PATTERN.match(number):
            raise MergeRefused("number", f"没有编号为 {number} 的工单", 404)
        merged_into = act(values)
    except ValidationError as error:
        return error_response(error.messages)
    except MergeRefused as refused:
        return refused.response()
    return jsonify(MergeResultSchema().dump({"appealNumber": number,
                                             "mergedInto": merged_into})), 202


@api.post("/appeals/<number>/merge")
@requires_scope(APPEALS_CREATE)
def merge(number: str):
    """并案: merge an appeal waiting at 审核受理 or 审核派单 into an open appeal."""
    return answer_merge_request(number, MergeRequestSchema(), lambda values: merge_appeal(
        admin_engine(), number, values["into"], calling_client().name, values["note"]))


@api.post("/appeals/<number>/unmerge")
@requires_scope(APPEALS_CREATE)
def unmerge(number: str):
    """取消并案: the merged appeal goes back to its own path, before the main appeal closes."""
    return answer_merge_request(number, UnmergeRequestSchema(), lambda values: unmerge_appeal(
        admin_engine(), number, calling_client().name, values["note"]) and None)


for _view, _schema in ((merge, MergeRequestSchema), (unmerge, UnmergeRequestSchema)):
    _view.request_schema = _schema
    _view.response_schema = MergeResultSchema()
    _view.response_status = 202
    _view.path_schemas = {"number": {"type": "string", "pattern": NUMBER_PATTERN.pattern}}
merge.refusals = {404: "没有这个编号的工单 (被并案的或主工单)",
                  409: "主工单已办结、未受理或本身已并案; 或被并案的工单不在受理审核或派单审核环节",
                  503: "流程引擎暂不可用"}
unmerge.refusals = {404: "没有这个编号的工单", 409: "工单不在并案等待中", 503: "流程引擎暂不可用"}
