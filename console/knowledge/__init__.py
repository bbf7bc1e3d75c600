"""The knowledge base in the console (知识库): units write and update their own entries, the
hotline centre reviews and publishes them, agents search the published ones; a JSON API for
systems (search, an entry, the gaps).

Other parts of the console (the agent's desk) search with `search_knowledge(...)`.
"""
from __future__ import annotations

import flask_login
from flask import (Blueprint, Flask, abort, flash, redirect, render_template,
                   request, url_for)
from marshmallow import (EXCLUDE, Schema, ValidationError, fields, validate, validates,
                         validates_schema)

from admin_data.directory import DIRECTORY
from admin_data.taxonomy import TAXONOMY
from console.admin import auth
from console.api import api, error_response, per_app, requires_scope, responds_with
from console.api_clients import ANY_SCOPE
from console.knowledge.store import (STATUS_NAMES, KnowledgeBase, KnowledgeError, KnowledgeHit,
                                     today_in_shanghai)

knowledge = Blueprint("knowledge", __name__, url_prefix="/knowledge", template_folder="templates")

#: Roles that review and publish every unit's entries.
REVIEWERS = (auth.HOTLINE, auth.ADMIN)


def knowledge_base() -> KnowledgeBase:
    """The console's knowledge base (<data>/console/knowledge.sqlite), one per app."""
    return per_app("SUBAN_KNOWLEDGE", lambda settings: KnowledgeBase(
        settings.data_dir / "console" / "knowledge.sqlite"))


def search_knowledge(query: str, category: str | None = None,
                     boost_category: str | None = None, limit: int = 10,
                     record_gap: bool = True) -> list[KnowledgeHit]:
    """Published, valid entries for what a caller asks, best first (the desk's and the intake's
    search). `category` filters to a leaf or a top category, `boost_category` ranks its entries
    higher; a search that finds nothing is kept as a gap of that category unless `record_gap`
    is off (the desk searches while the agent is still typing)."""
    return knowledge_base().search(query, category=category, boost_category=boost_category,
                                   limit=limit, record_gap=record_gap)


def answered_from_knowledge(values: dict) -> dict:
    """The intake's 当场解答 with a knowledge entry: the entry id and the published version the
    agent read out (the version published now when none is given), checked against the
    knowledge base; a ValidationError naming the field otherwise."""
    if values.get("knowledgeEntryId") is None:
        if values.get("knowledgeVersion") is not None:
            raise ValidationError({"knowledgeEntryId": ["填写了「知识条目版本」时须填写「所用知识条目编号」"]})
        return {}
    entry_id = int(values["knowledgeEntryId"])
    try:
        entry = knowledge_base().entry(entry_id)
    except KnowledgeError as error:
        raise ValidationError({"knowledgeEntryId": [str(error)]}) from None
    version = values.get("knowledgeVersion")
    version = entry["published_version"] if version is None else int(version)
    if version is None or knowledge_base().published_version(entry_id, version) is None:
        raise ValidationError({"knowledgeVersion": [
            f"知识条目 {entry_id} 没有已发布的第 {version} 版" if version else
            f"知识条目 {entry_id} 尚未发布, 不能用于当场解答"]})
    return {"knowledgeEntryId": entry_id, "knowledgeVersion": version}


# -- schemas -------------------------------------------------------------------------------------

def _leaf_codes() -> set[str]:
    return {leaf.code for leaf in TAXONOMY.current().leaves}


def _category_codes() -> set[str]:
    return _leaf_codes() | {category.code for category in TAXONOMY.current().categories}


class EntryFormSchema(Schema):
    """What a unit writes; every error names the field in Chinese."""
    class Meta:
        unknown = EXCLUDE  # the CSRF token travels in the same form

    question = fields.String(required=True, validate=validate.Length(
        min=4, max=200, error="「问题」须为 4 到 200 字"), error_messages={"required": "请填写「问题」"})
    answer = fields.String(required=True, validate=validate.Length(
        min=10, max=4000, error="「答复口径」须为 10 到 4000 字"),
        error_messages={"required": "请填写「答复口径」"})
    keywords = fields.String(load_default="", validate=validate.Length(
        max=300, error="「关键词」最多 300 字"))
    category = fields.String(required=True, error_messages={"required": "请选择「诉求分类」"})
    policy_doc = fields.String(load_default="", validate=validate.Length(
        max=200, error="「政策依据(文号)」最多 200 字"))
    policy_url = fields.String(load_default="", validate=validate.Regexp(
        r"^(https?://\S{1,500})?$", error="「政策链接」须为 http:// 或 https:// 开头的网址"))
    valid_from = fields.Date(required=True, error_messages={
        "required": "请填写「生效日期」", "invalid": "「生效日期」格式应为 2026-01-01"})
    valid_until = fields.Date(required=True, error_messages={
        "required": "请填写「失效日期」", "invalid": "「失效日期」格式应为 2026-12-31"})

    @validates("category")
    def known_leaf(self, value, **_):
        if value not in _leaf_codes():
            raise ValidationError(f"「诉求分类」{value} 不是派单表中的二级分类")

    @validates_schema
    def dates_in_order(self, data, **_):
        if data.get("valid_from") and data.get("valid_until") and \
                data["valid_until"] < data["valid_from"]:
            raise ValidationError("「失效日期」不能早于「生效日期」", "valid_until")


class EditFormSchema(EntryFormSchema):
    base_version = fields.Integer(required=True, error_messages={
        "required": "缺少「编辑所依据的版本」, 请刷新页面", "invalid": "「编辑所依据的版本」应为整数"})


class NewEntryFormSchema(EntryFormSchema):
    unit = fields.String(required=True, error_messages={"required": "请选择「所属单位」"})


class ReviewFormSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    version = fields.Integer(required=True, error_messages={
        "required": "缺少「版本」", "invalid": "「版本」应为整数"})
    note = fields.String(load_default="", validate=validate.Length(
        max=500, error="「审核意见」最多 500 字"))


class SearchQuerySchema(Schema):
    q = fields.String(required=True, validate=validate.Length(
        min=1, max=200, error="「检索内容」须为 1 到 200 字"),
        error_messages={"required": "请填写「检索内容」(q)"}, metadata={"description": "来电人所问"})
    category = fields.String(load_default=None, metadata={
        "description": "只查此分类 (二级分类或一级分类编码)"})
    boost_category = fields.String(load_default=None, metadata={
        "description": "此分类的条目排在前面"})
    limit = fields.Integer(load_default=10, validate=validate.Range(
        min=1, max=50, error="「条数」(limit) 须为 1 到 50"))

    @validates("category")
    def known_category(self, value, **_):
        if value is not None and value not in _category_codes():
            raise ValidationError(f"「分类」{value} 不是派单表中的分类")

    @validates("boost_category")
    def known_boost_category(self, value, **_):
        self.known_category(value)


class KnowledgeHitSchema(Schema):
    entry_id = fields.Integer(required=True, metadata={"description": "条目编号"})
    version = fields.Integer(required=True, metadata={"description": "所答的发布版本"})
    question = fields.String(required=True)
    answer = fields.String(required=True, metadata={"description": "答复口径"})
    keywords = fields.String(required=True)
    category = fields.String(required=True)
    unit = fields.String(required=True, metadata={"description": "维护单位"})
    policy_doc = fields.String(required=True)
    policy_url = fields.String(required=True)
    valid_until = fields.String(required=True)
    score = fields.Float(required=True, metadata={"description": "相关度, 越大越相关"})


class SearchResultSchema(Schema):
    hits = fields.List(fields.Nested(KnowledgeHitSchema), required=True)


class EntryVersionSchema(Schema):
    version = fields.Integer(required=True)
    question = fields.String(required=True)
    answer = fields.String(required=True)
    keywords = fields.String(required=True)
    category = fields.String(required=True)
    policy_doc = fields.String(required=True)
    policy_url = fields.String(required=True)
    valid_from = fields.String(required=True)
    valid_until = fields.String(required=True)
    edited_at = fields.String(required=True)
    edited_by = fields.String(required=True)
    published_at = fields.String(allow_none=True)
    published_by = fields.String(allow_none=True)


class EntryOutSchema(Schema):
    id = fields.Integer(required=True)
    unit = fields.String(required=True)
    status = fields.String(required=True, metadata={"description": "draft | published | expired"})
    published_version = fields.Integer(allow_none=True)
    latest_version = fields.Integer(required=True)
    demo = fields.Boolean(required=True, metadata={"description": "演示条目"})
    versions = fields.List(fields.Nested(EntryVersionSchema), required=True,
                           metadata={"description": "全部版本, 最新在前"})


class GapSchema(Schema):
    category = fields.String(required=True, metadata={"description": "分类 (空: 未指定)"})
    query = fields.String(required=True)
    times = fields.Integer(required=True)
    last_searched = fields.String(required=True)


class GapListSchema(Schema):
    gaps = fields.List(fields.Nested(GapSchema), required=True)


# -- the JSON API --------------------------------------------------------------------------------

@api.get("/knowledge/search")
@requires_scope(*ANY_SCOPE)
def knowledge_search_api():
    """Search the published knowledge base (知识库检索)."""
    try:
        values = SearchQuerySchema().load(request.args.to_dict())
    except ValidationError as error:
        return error_response(error.messages)
    hits = search_knowledge(values["q"], values["category"], values["boost_category"],
                            values["limit"])
    return SearchResultSchema().dump({"hits": hits})


knowledge_search_api.query_schema = SearchQuerySchema
knowledge_search_api.response_schema = SearchResultSchema()
knowledge_search_api.refusals = {400: "参数错误"}


@api.get("/knowledge/entries/<int:entry_id>")
@requires_scope(*ANY_SCOPE)
def knowledge_entry_api(entry_id: int):
    """One knowledge entry with all its versions."""
    try:
        entry = knowledge_base().entry(entry_id)
    except KnowledgeError as error:
        return error_response({error.field: [str(error)]}, 404)
    return EntryOutSchema().dump(entry)


knowledge_entry_api.response_schema = EntryOutSchema()
knowledge_entry_api.refusals = {404: "没有这个知识条目"}
knowledge_entry_api.path_schemas = {"entry_id": {"type": "integer"}}


@api.get("/knowledge/gaps")
@requires_scope(*ANY_SCOPE)
@responds_with(GapListSchema())
def knowledge_gaps_api():
    """Searches that found nothing (知识缺口), per category, most asked first."""
    return {"gaps": knowledge_base().gaps()}


# -- the pages -----------------------------------------------------------------------------------

def _user() -> auth.ConsoleUser:
    return auth.current_user()


def _is_reviewer(user: auth.ConsoleUser) -> bool:
    return any(role in user.roles for role in REVIEWERS)


@knowledge.before_request
def staff_only():
    if not flask_login.current_user.is_authenticated:
        return auth.login_manager.unauthorized()
    user = _user()
    if not user.units and not _is_reviewer(user):
        abort(403, "知识库仅限各单位和热线中心使用: 您的账号不属于任何单位")
    return None


def _entry_for(entry_id: int, editing: bool = False) -> dict:
    """The entry, when the user may see it (their unit's, or the centre's review); editing: only
    the owning unit's users."""
    try:
        entry = knowledge_base().entry(entry_id)
    except KnowledgeError as error:
        abort(404, str(error))
    user = _user()
    if entry["unit"] not in user.units and (editing or not _is_reviewer(user)):
        abort(403, f"知识条目 {entry_id} 属于{_unit_name(entry['unit'])}, "
                   "只有该单位的人员可以" + ("修改" if editing else "查看"))
    return entry


def _unit_name(unit_id: str) -> str:
    unit = DIRECTORY.current().unit(unit_id)
    return unit.name if unit else unit_id


def _page_context() -> dict:
    taxonomy = TAXONOMY.current()
    return {"categories": taxonomy.categories,
            "leaf_names": {leaf.code: leaf.full_name for leaf in taxonomy.leaves},
            "unit_names": {unit.id: unit.name for unit in DIRECTORY.current().units},
            "STATUS_NAMES": STATUS_NAMES, "is_reviewer": _is_reviewer(_user())}


def _unit_categories(units: tuple[str, ...]) -> set[str]:
    """The category leaves a unit is the department of: its gaps to fill."""
    return {leaf.code for leaf in TAXONOMY.current().leaves if leaf.department in units}


@knowledge.get("/")
def index():
    user, base = _user(), knowledge_base()
    reviewer = _is_reviewer(user)
    pending = base.entries(pending_only=True) if reviewer else []
    own = [entry for unit in user.units for entry in base.entries(unit)]
    expiring = [entry for unit in user.units for entry in base.expiring(unit)]
    gaps = base.gaps(None if reviewer else _unit_categories(user.units))
    return render_template("knowledge/index.html", own=own, pending=pending,
                           expiring=expiring, gaps=gaps[:50], **_page_context())


@knowledge.get("/search")
def search_page():
    query = request.args.get("q", "").strip()
    category = request.args.get("category") or None
    if category not in _category_codes():
        category = None
    hits = search_knowledge(query, category=category) if query else []
    return render_template("knowledge/search.html", query=query, category=category, hits=hits,
                           **_page_context())


def _form_page(template: str, status: int = 200, **page):
    return render_template(template, **page, **_page_context()), status


@knowledge.route("/new", methods=["GET", "POST"])
def new_entry():
    user = _user()
    if not user.units:
        abort(403, "只有单位人员可以新建本单位的知识条目")
    today = today_in_shanghai()
    blank = {"valid_from": today.isoformat(), "unit": user.units[0],
             "valid_until": today.replace(year=today.year + 1).isoformat()}
    if request.method == "GET":
        return _form_page("knowledge/new.html", form=blank, errors={})
    form = request.form.to_dict()
    try:
        values = NewEntryFormSchema().load(form)
        if values["unit"] not in user.units:
            raise ValidationError({"unit": ["「所属单位」只能是本单位"]})
    except ValidationError as error:
        return _form_page("knowledge/new.html", 400, form=form, errors=error.messages)
    entry_id = knowledge_base().create(values.pop("unit"), _stored(values), user.id)
    flash(f"已保存知识条目 {entry_id} 的第 1 版, 等待热线中心审核发布")
    return redirect(url_for("knowledge.show_entry", entry_id=entry_id))


def _stored(values: dict) -> dict:
    return values | {key: values[key].isoformat() for key in ("valid_from", "valid_until")}


@knowledge.get("/<int:entry_id>")
def show_entry(entry_id: int):
    entry = _entry_for(entry_id)
    return _form_page("knowledge/entry.html", entry=entry, form=entry, errors={},
                      can_edit=entry["unit"] in _user().units)


@knowledge.post("/<int:entry_id>")
def edit_entry(entry_id: int):
    entry = _entry_for(entry_id, editing=True)
    form = request.form.to_dict()
    try:
        values = EditFormSchema().load(form)
        version = knowledge_base().update(entry_id, _stored(values), _user().id,
                                          values.pop("base_version"))
    except ValidationError as error:
        return _form_page("knowledge/entry.html", 400, entry=entry, form=form,
                          errors=error.messages, can_edit=True)
    except KnowledgeError as error:
        return _form_page("knowledge/entry.html", 409, entry=entry, form=form,
                          errors={error.field: [str(error)]}, can_edit=True)
    flash(f"已保存为第 {version} 版, 等待热线中心审核发布 (发布前坐席看到的仍是已发布的版本)")
    return redirect(url_for("knowledge.show_entry", entry_id=entry_id))


def _review(entry_id: int, publishing: bool):
    user = _user()
    if not _is_reviewer(user):
        abort(403, "只有热线中心可以审核发布知识条目")
    entry = _entry_for(entry_id)
    try:
        values = ReviewFormSchema().load(request.form.to_dict())
        if publishing:
            knowledge_base().publish(entry_id, values["version"], user.id, values["note"])
        elif len(values["note"].strip()) < 2:
            raise ValidationError({"note": ["退回时请写明「审核意见」"]})
        else:
            knowledge_base().return_to_unit(entry_id, values["version"], user.id, values["note"])
    except ValidationError as error:
        return _form_page("knowledge/entry.html", 400, entry=entry, form=entry,
                          errors=error.messages, can_edit=entry["unit"] in user.units)
    except KnowledgeError as error:
        return _form_page("knowledge/entry.html", 409, entry=entry, form=entry,
                          errors={error.field: [str(error)]},
                          can_edit=entry["unit"] in user.units)
    flash(f"已发布第 {values['version']} 版" if publishing else "已退回单位修改")
    return redirect(url_for("knowledge.show_entry", entry_id=entry_id))


@knowledge.post("/<int:entry_id>/publish")
def publish_entry(entry_id: int):
    return _review(entry_id, publishing=True)


@knowledge.post("/<int:entry_id>/return")
def return_entry(entry_id: int):
    return _review(entry_id, publishing=False)


def init_knowledge(app: Flask) -> None:
    """The pages and, on the demo profile, the demo entries in an empty knowledge base."""
    app.register_blueprint(knowledge)
    if app.config["SUBAN_SETTINGS"].profile == "demo":
        with app.app_context():
            knowledge_base().load_demo()

