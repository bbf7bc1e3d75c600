"""The hotline agent's desk (智能受理与派单): the intake form and, while the caller talks, what
the product can tell about the appeal — category, lead and co-units with the reason, the
township found in the text, scope warnings with where to send the caller, the caller's earlier
appeals and similar open appeals, and knowledge answers for an inquiry.

`suggest_for_appeal` is the one function behind both the desk page (session login, hotline role) and the
API (`POST /api/v1/suggestions`, bearer token). Submitting goes through the same intake as the
API (outbox, 201/202), with the category the desk suggested recorded beside the chosen one.
"""
from __future__ import annotations

import json

from flask import Blueprint, jsonify, render_template, request
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from admin_data.directory import DIRECTORY, Directory
from admin_data.gazetteer import FOUND, GAZETTEER, locate_appeal
from admin_data.scope_rules import SCOPE_RULES
from admin_data.taxonomy import TAXONOMY
from console.admin.auth import HOTLINE, current_user, refuse_unless
from console.api import admin_engine, api, error_response, json_body, requires_scope, responds_with
from console.api_clients import APPEALS_READ
from console.appeals import INTAKE_FORM, take_in
from console.knowledge import search_knowledge
from console.form_schema import FORMS_DIR, input_components
from console.merge import (MergeRefused, MergeRequestSchema, UnmergeRequestSchema,
                           answer_merge_request, check_main, list_merged_appeals, merge_appeal,
                           merge_variables, unmerge_appeal)
from external_tasks import appeal
from external_tasks.camunda import EngineClient
from external_tasks.category_suggester import suggest_categories
from external_tasks.intake import NUMBER_PATTERN, earlier_appeals, now_in_shanghai
from external_tasks.routing import propose_route
from external_tasks.scope_check import IN_SCOPE, check_appeal

desk = Blueprint("desk", __name__, url_prefix="/desk", template_folder="templates",
                 static_folder="static")

#: Open appeals at least this alike (shared two-character pieces of the text) are shown.
SIMILARITY_SHOWN = 0.15
SIMILAR_SHOWN = 5
#: What the knowledge search reads of the appeal: the question is in its first sentences.
KNOWLEDGE_QUERY_CHARS = 200


# -- what the desk asks and what it is told ------------------------------------------------------

class SuggestionRequestSchema(Schema):
    class Meta:
        unknown = RAISE

    title = fields.String(load_default="", validate=validate.Length(max=100, error="「标题」最多 100 字"))
    content = fields.String(load_default="", validate=validate.Length(
        max=4000, error="「诉求内容」最多 4000 字"))
    address = fields.String(load_default="", validate=validate.Length(max=200, error="「地址」最多 200 字"))
    township = fields.String(load_default="", validate=validate.Length(max=40))
    phone = fields.String(load_default="", validate=validate.Length(max=20, error="「联系电话」最多 20 位"))
    kind = fields.String(load_default="", validate=validate.Length(max=20))
    categoryCode = fields.String(load_default="", validate=validate.Length(max=80), metadata={
        "description": "话务员已选的分类 (留空: 按第一条建议)"})
    appealNumber = fields.String(load_default="", validate=validate.Length(
        max=40, error="「工单编号」最多 40 个字符"), metadata={
        "description": "审核中的工单: 它本身不列入相似的在办诉求"})


class CategorySuggestionSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True, metadata={"description": "一级 / 二级分类"})
    confidence = fields.Float(required=True, metadata={"description": "0 到 1"})


class UnitNameSchema(Schema):
    id = fields.String(required=True)
    name = fields.String(required=True)


class TownshipSuggestionSchema(Schema):
    status = fields.String(required=True, metadata={"description": "found | unknown | ambiguous"})
    township = fields.Nested(UnitNameSchema, allow_none=True)
    candidates = fields.List(fields.Nested(UnitNameSchema), required=True)
    matched = fields.List(fields.String(), required=True, metadata={"description": "文中命中的地名"})
    source = fields.String(allow_none=True, metadata={"description": "given | address | text"})


class RouteSuggestionSchema(Schema):
    categoryCode = fields.String(required=True)
    status = fields.String(required=True)
    basis = fields.String(allow_none=True, metadata={"description": "territory 属地 | matter 属事"})
    leadUnit = fields.Nested(UnitNameSchema, allow_none=True)
    coUnits = fields.List(fields.Nested(UnitNameSchema), required=True)
    autoDispatch = fields.Boolean(required=True)
    note = fields.String(required=True, metadata={"description": "派单理由"})


class ScopeWarningSchema(Schema):
    code = fields.String(required=True)
    name = fields.String(required=True)
    kind = fields.String(required=True, metadata={"description": "emergency 紧急转接 | excluded 不予受理"})
    reason = fields.String(required=True)
    referral = fields.String(required=True, metadata={"description": "告知诉求人的办理途径"})
    transferTo = fields.String(allow_none=True, metadata={"description": "转接号码, 如 110"})
    evidence = fields.String(required=True)


class AppealBriefSchema(Schema):
    appealNumber = fields.String(required=True)
    title = fields.String(allow_none=True)
    receivedAt = fields.String(allow_none=True)
    state = fields.String(required=True, metadata={"description": "办理中 | 已办结 | 已终止"})
    similarity = fields.Float(allow_none=True, metadata={"description": "与本诉求文字的相似度"})


class KnowledgeAnswerSchema(Schema):
    entryId = fields.Integer(required=True)
    version = fields.Integer(required=True, metadata={"description": "当场解答时记录的版本"})
    question = fields.String(required=True)
    answer = fields.String(required=True)
    unit = fields.String(required=True, metadata={"description": "维护单位"})


class SuggestionSchema(Schema):
    categories = fields.List(fields.Nested(CategorySuggestionSchema), required=True)
    township = fields.Nested(TownshipSuggestionSchema, required=True)
    route = fields.Nested(RouteSuggestionSchema, allow_none=True)
    scope = fields.List(fields.Nested(ScopeWarningSchema), required=True)
    earlierAppeals = fields.List(fields.Nested(AppealBriefSchema), required=True)
    similarOpenAppeals = fields.List(fields.Nested(AppealBriefSchema), required=True)
    knowledge = fields.List(fields.Nested(KnowledgeAnswerSchema), required=True,
                            metadata={"description": "知识库中可当场解答的条目"})


# -- the suggestions -----------------------------------------------------------------------------

def suggest_for_appeal(values: dict, engine: EngineClient) -> dict:
    """Everything the panel shows for what the agent has typed so far."""
    directory = DIRECTORY.current()
    categories = category_suggestions(values["title"], values["content"])
    chosen = values["categoryCode"] or (categories[0]["code"] if categories else "")
    location = locate_appeal(values["township"] or None, values["address"], values["title"],
                             values["content"], GAZETTEER.current(), directory)
    route = None
    if TAXONOMY.current().leaf(chosen):
        proposal = propose_route(chosen, values["township"] or None, values["address"],
                                 values["title"], values["content"])
        route = {"categoryCode": chosen, "status": proposal.status, "basis": proposal.basis,
                 "leadUnit": _unit(directory, proposal.lead_unit),
                 "coUnits": [_unit(directory, unit) for unit in proposal.co_units],
                 "autoDispatch": proposal.auto_dispatch, "note": proposal.note}
    found = location.township if location.status == FOUND else None
    return {
        "categories": categories,
        "township": {"status": location.status, "township": _unit(directory, found),
                     "candidates": [_unit(directory, unit) for unit in location.candidates],
                     "matched": list(location.matched_names), "source": location.source},
        "route": route,
        "scope": scope_warnings(values),
        "earlierAppeals": earlier_appeals_of(engine, values["phone"]),
        "similarOpenAppeals": similar_open_appeals(engine, found, chosen,
                                                   values["title"] + values["content"],
                                                   values["appealNumber"]),
        "knowledge": knowledge_answers(values["title"] + " " + values["content"], chosen),
    }


def category_suggestions(title: str, content: str) -> list[dict]:
    taxonomy = TAXONOMY.current()
    found = suggest_categories(title, content, top=3) if (title or content).strip() else []
    return [{"code": code, "name": taxonomy.leaf(code).full_name, "confidence": round(confidence, 3)}
            for code, confidence in found if taxonomy.leaf(code)]


def knowledge_answers(text: str, category: str) -> list[dict]:
    """Published entries an agent may read out, those of the appeal's category first."""
    if not text.strip():
        return []
    hits = search_knowledge(text[:KNOWLEDGE_QUERY_CHARS], boost_category=category or None,
                            limit=3, record_gap=False)
    directory = DIRECTORY.current()
    return [{"entryId": hit.entry_id, "version": hit.version, "question": hit.question,
             "answer": hit.answer, "unit": _unit(directory, hit.unit)["name"] if hit.unit else ""}
            for hit in hits]


def scope_warnings(values: dict) -> list[dict]:
    result = check_appeal(values["title"], values["content"], values["kind"] or None,
                          SCOPE_RULES.current())
    if result.flag == IN_SCOPE:
        return []
    return [{"code": finding.matter.code, "name": finding.matter.name, "kind": finding.matter.kind,
             "reason": finding.matter.reason, "referral": finding.matter.referral,
             "transferTo": finding.matter.transfer_to, "evidence": finding.evidence}
            for finding in result.findings]


def earlier_appeals_of(engine: EngineClient, phone: str) -> list[dict]:
    """The caller's appeals of the repeat window, newest first."""
    numbers = earlier_appeals(engine, phone.strip(), now_in_shanghai(), this_instance="")
    return sorted(_briefs(engine, numbers), key=lambda brief: brief["receivedAt"] or "",
                  reverse=True)


def similar_open_appeals(engine: EngineClient, township: str | None, category: str,
                         text: str, this_appeal: str = "") -> list[dict]:
    """Open appeals of the same township and category whose text is alike: candidates for 并案
    (not the appeal itself, and none merged into another: merging goes to the main appeal)."""
    if not township or not category or not text.strip():
        return []
    running = engine.post("/process-instance", {
        "processDefinitionKey": appeal.APPEAL_PROCESS,
        "variables": [{"name": "township", "operator": "eq", "value": township},
                      {"name": "categoryCode", "operator": "eq", "value": category}]})
    merged = {variable["processInstanceId"] for variable in engine.post("/variable-instance", {
        "variableName": "mergedInto", "processInstanceIdIn": [item["id"] for item in running]})
        if variable.get("value")} if running else set()
    numbers = [instance["businessKey"] for instance in running if instance.get("businessKey")
               and instance["businessKey"] != this_appeal and instance["id"] not in merged]
    briefs = _briefs(engine, numbers, with_text=True)
    for brief in briefs:
        brief["similarity"] = round(similarity(text, brief.pop("text")), 3)
    alike = [brief for brief in briefs if brief["similarity"] >= SIMILARITY_SHOWN]
    return sorted(alike, key=lambda brief: brief["similarity"], reverse=True)[:SIMILAR_SHOWN]


def similarity(first: str, second: str) -> float:
    """Jaccard similarity of the texts' two-character pieces: Chinese words are mostly two
    characters, and this needs no word list."""
    one, other = _pieces(first), _pieces(second)
    return len(one & other) / len(one | other) if one and other else 0.0


def _pieces(text: str) -> set[str]:
    text = "".join(text.split())
    return {text[index:index + 2] for index in range(len(text) - 1)}


def _briefs(engine: EngineClient, numbers: list[str], with_text: bool = False) -> list[dict]:
    if not numbers:
        return []
    roots = engine.post("/history/process-instance", {
        "processDefinitionKey": appeal.APPEAL_PROCESS, "processInstanceBusinessKeyIn": numbers})
    names = ("title", "receivedAt") + (("content",) if with_text else ())
    variables = appeal.variables_by_instance(engine, [root["id"] for root in roots], names)
    briefs = []
    for root in roots:
        found = variables[root["id"]]
        brief = {"appealNumber": root["businessKey"], "title": found.get("title"),
                 "receivedAt": found.get("receivedAt"), "state": _state(root), "similarity": None}
        if with_text:
            brief["text"] = (found.get("title") or "") + (found.get("content") or "")
        briefs.append(brief)
    return briefs


def _state(root: dict) -> str:
    if root["state"] == "COMPLETED":
        return "已办结"
    return "已终止" if root["state"].endswith("TERMINATED") else "办理中"


def _unit(directory: Directory, unit_id: str | None) -> dict | None:
    if not unit_id:
        return None
    unit = directory.unit(unit_id)
    return {"id": unit_id, "name": unit.name if unit else unit_id}


# -- the API -------------------------------------------------------------------------------------

@api.post("/suggestions")
@requires_scope(APPEALS_READ)  # it names the caller's earlier appeals
@responds_with(SuggestionSchema())
def suggestions():
    """Suggestions for an appeal being taken: category, units, township, scope, repeats."""
    return suggest_for_appeal(SuggestionRequestSchema().load(json_body()), admin_engine())


suggestions.request_schema = SuggestionRequestSchema
suggestions.refusals = {503: "流程引擎暂不可用"}


# -- the page ------------------------------------------------------------------------------------

#: What the desk shows of an appeal waiting at the centre's review, to merge it.
REVIEWED_VARIABLES = ("title", "content", "address", "township", "kind", "categoryCode")


@desk.get("/")
def desk_page():
    """The agent's desk: the intake form beside the suggestion panel; with `?review=<number>`,
    an appeal waiting at 审核受理 or 审核派单, to merge it into a similar open appeal."""
    if refused := refuse_unless(HOTLINE):
        return refused
    form = json.loads((FORMS_DIR / f"{INTAKE_FORM}.form").read_text("utf-8"))
    review, review_error = None, ""
    if number := request.args.get("review", "").strip():
        review, review_error = reviewed_appeal(admin_engine(), number)
    return render_template("desk/desk.html", components=input_components(form), review=review,
                           review_error=review_error, review_number=number)


def reviewed_appeal(engine: EngineClient, number: str) -> tuple[dict | None, str]:
    """(the appeal's text and mergedInto, "") or (None, why it cannot be shown)."""
    if not NUMBER_PATTERN.match(number):
        return None, f"工单编号 {number} 格式不对, 应如 XS20261127-0001"
    running = engine.get("/process-instance", businessKey=number,
                         processDefinitionKey=appeal.APPEAL_PROCESS)
    if not running:
        return None, f"没有在办的工单 {number}"
    values = appeal.variables_by_instance(engine, [running[0]["id"]],
                                          REVIEWED_VARIABLES + ("mergedInto",))[running[0]["id"]]
    return {"appealNumber": number} | {name: values.get(name) or "" for name in
                                       REVIEWED_VARIABLES + ("mergedInto",)}, ""


@desk.post("/suggestions")
def desk_suggestions():
    if refused := refuse_unless(HOTLINE):
        return refused
    try:
        values = SuggestionRequestSchema().load(json_body())
    except ValidationError as error:
        return error_response(error.messages)
    return jsonify(SuggestionSchema().dump(suggest_for_appeal(values, admin_engine())))


@desk.post("/appeals")
def desk_submit():
    """Register the appeal through the intake (outbox, 201/202), recording the category the
    desk suggested beside the one the agent chose."""
    if refused := refuse_unless(HOTLINE):
        return refused
    payload = json_body()
    if not isinstance(payload, dict):
        return error_response({"_body": ["请求体应为 JSON 对象"]})
    suggested = str(payload.pop("categorySuggested", "") or "")
    if suggested and not TAXONOMY.current().leaf(suggested):
        return error_response({"categorySuggested": [f"分类目录中没有 '{suggested}'"]})
    merge_into = payload.pop("mergeInto", None)
    main = None
    if merge_into is not None and payload.get("answeredOnCall"):
        return error_response({"mergeInto": ["当场解答的诉求已办结, 不并案"]})
    if merge_into is not None:
        try:
            into = MergeRequestSchema().load({"into": merge_into})["into"]
            main = check_main(admin_engine(), into)
        except ValidationError as error:
            return error_response({"mergeInto": error.messages["into"]})
        except MergeRefused as refused_merge:
            return refused_merge.response("mergeInto")
    response = take_in(payload, recorded=lambda values: {
        "categorySuggested": suggested, "categoryChosen": values.get("categoryCode", "")}
        | (merge_variables(main.number, current_user().id, "受理时并案") if main else {}))
    if main and response[1] == 201:
        list_merged_appeals(admin_engine(), main)
    return response


@desk.post("/appeals/<number>/merge")
def desk_merge(number: str):
    """并案 of an appeal waiting at the centre's review, from the desk."""
    if refused := refuse_unless(HOTLINE):
        return refused
    return answer_merge_request(number, MergeRequestSchema(), lambda values: merge_appeal(
        admin_engine(), number, values["into"], current_user().id, values["note"]))


@desk.post("/appeals/<number>/unmerge")
def desk_unmerge(number: str):
    """取消并案 from the desk: the appeal goes back to its own path."""
    if refused := refuse_unless(HOTLINE):
        return refused
    return answer_merge_request(number, UnmergeRequestSchema(), lambda values: unmerge_appeal(
        admin_engine(), number, current_user().id, values["note"]) and None)
