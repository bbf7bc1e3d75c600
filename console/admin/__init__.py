"""The console's admin pages (server-rendered, admins only): the admin files with validation,
preview, versions and restore, the time-limit table as a grid, the deploy page and the audit
trail. Every change is recorded with who, when, what and why (the reason is required).
"""
from __future__ import annotations

import difflib

from flask import (Blueprint, Flask, current_app, flash, redirect, render_template, request,
                   url_for)
from flask_wtf.csrf import CSRFError, CSRFProtect
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema
from werkzeug.exceptions import NotFound

from console.admin import auth, dmn_table, forms
from console.admin.views import has_errors, posted_form, view_of
from console.admin.files import (FILES, TIME_LIMITS, ChangedMeanwhile, EditableFile, Refused,
                                 fingerprint, preview_deadlines, save)
from console.admin.store import current_store as store
from console.api import api, missing_calendar
from console.errors import error_page
from admin_data.environment import Settings
from admin_data.workdays import SHANGHAI
from admin_data.loader import ConfigFileError, raw_data
from admin_data.round_trip import updated_content
from external_tasks.deadlines import DIFFICULTIES, KINDS, URGENCIES

admin = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
csrf = CSRFProtect()
#: Largest admin request: all models uploaded at once (the API's own limit is far smaller).
ADMIN_MAX_BODY_BYTES = 8 * 1024 * 1024


@admin.before_request
def admins_only():
    """Every admin page and action, present and future: admins only."""
    return auth.refuse_unless(auth.ADMIN)


def settings() -> Settings:
    return current_app.config["SUBAN_SETTINGS"]


def user_id() -> str:
    return auth.current_user().id


class ReasonSchema(Schema):
    """A form that changes something: the reason is required, it goes into the audit trail."""
    class Meta:
        unknown = EXCLUDE  # the CSRF token (and a preview's sample fields) travel in the form

    reason = fields.String(load_default="", validate=validate.Length(
        max=500, error="「修改原因」最多 500 字"))

    @validates_schema
    def reason_given(self, data, **_):
        if data.get("action", "save") == "save" and len(data["reason"].strip()) < 4:
            raise ValidationError("请写明修改原因 (至少 4 个字), 它会记入审计记录", "reason")


class FileFormSchema(ReasonSchema):
    content = fields.String(required=True, error_messages={"required": "「文件内容」不能为空"})
    base = fields.String(load_default=None)
    action = fields.String(load_default="preview", validate=validate.OneOf(
        ["preview", "save"], error="未知的操作"))


def _admin_file(name: str) -> EditableFile:
    admin_file = FILES.get(name)
    if admin_file is None:
        raise NotFound(f"没有管理文件 {name}")
    return admin_file


def _version(admin_file: EditableFile, version_id: int) -> dict:
    version = store().version(admin_file.name, version_id)
    if version is None:
        raise NotFound(f"{admin_file.title}没有版本 {version_id}")
    return version


def _editor_url(admin_file: EditableFile) -> str:
    if admin_file is TIME_LIMITS:
        return url_for("admin.time_limits")
    return url_for("admin.edit_file", name=admin_file.name)


def _version_page(admin_file: EditableFile, version: dict, errors: dict) -> str:
    current = admin_file.path(settings()).read_bytes().decode("utf-8")
    content = version["content"].decode("utf-8")
    return render_template("admin/version.html", admin_file=admin_file, version=version,
                           content=content, errors=errors, diff=_diff(current, content))


def _diff(before: str, after: str, labels: tuple[str, str] = ("现行", "修改后")) -> list[str]:
    return list(difflib.unified_diff(before.splitlines(), after.splitlines(), *labels,
                                     lineterm="", n=2))


def _sample(admin_file: EditableFile, form) -> tuple[dict, dict]:
    """The preview's sample appeal from the form (fields `sample-<name>`), and its errors."""
    schema = Schema.from_dict(admin_file.sample)(unknown=EXCLUDE)
    raw = {key.removeprefix("sample-"): value for key, value in form.items()
           if key.startswith("sample-") and value != ""}
    try:
        return schema.load(raw), {}
    except ValidationError as error:
        return schema.load({}), error.messages


@admin.get("/")
def index():
    return render_template("admin/index.html", files=FILES.values(), audit=store().audit(10),
                           missing_calendar=missing_calendar())


class StructuredFormSchema(ReasonSchema):
    base = fields.String(load_default=None)
    action = fields.String(load_default="preview", validate=validate.OneOf(
        ["preview", "save"], error="未知的操作"))


def _structured_editor(admin_file: EditableFile):
    """The file as a form of its schema's fields; each error shown next to its field, and the
    file written only when the whole of it is valid."""
    schema = admin_file.schema(settings())
    view = view_of(admin_file.name)
    current = admin_file.path(settings()).read_bytes()
    text = current.decode("utf-8")
    page = {"admin_file": admin_file, "versions": store().versions(admin_file.name),
            "raw": text, "base": fingerprint(current), "reason": "", "errors": {}, "overview": None,
            "preview": None, "diff": None, "sample": _sample(admin_file, {})[0],
            "has_errors": has_errors}

    def inputs(data: dict, errors: dict) -> list[forms.Input]:
        return view.inputs(forms.form_inputs(schema, data, errors), settings())
    if request.method == "GET":
        try:
            data = raw_data(text)
        except ConfigFileError as exc:
            flash(f"文件现在无法按表单显示, 请在 YAML 原文中修正: {exc}")
            return redirect(url_for("admin.edit_file", name=admin_file.name, raw=1))
        return _editor_page(page | {"data": data, "inputs": inputs(data, {}),
                                    "overview": _overview(admin_file, admin_file.current(
                                        settings()))})
    form = view.posted(posted_form(request.form), settings())
    data = forms.form_data(schema, form)
    sample, sample_errors = _sample(admin_file, form)
    page |= {"reason": form.get("reason", ""), "base": form.get("base") or page["base"],
             "sample": sample, "data": data}
    errors = forms.validate_form(schema, data)
    for name, messages in view.check(admin_file.current(settings()), data, form,
                                     settings()).items():
        errors.setdefault(name, []).extend(messages)
    try:
        values = StructuredFormSchema().load(form)
    except ValidationError as error:
        errors |= error.messages
    if errors or sample_errors:
        return _editor_page(page | {"errors": errors | sample_errors,
                                    "inputs": inputs(data, errors)}), 400
    content = updated_content(text, forms.outside_form(schema, raw_data(text)) | data)
    page |= {"inputs": inputs(data, {}),
             "diff": _diff(text, content.decode("utf-8"))}
    try:
        if values["action"] == "save":
            version, note = save(admin_file, content, settings=settings(), store=store(),
                                 user=user_id(), reason=values["reason"].strip(),
                                 base=values["base"])
            flash(f"已保存为版本 {version}{note}")
            return redirect(url_for("admin.edit_file", name=admin_file.name, **request.args))
        new = admin_file.check(content, settings())
    except Refused as refusal:
        return _editor_page(page | {"errors": {"": str(refusal).splitlines()}}
                            | _meanwhile(refusal, content)), 400
    preview = (admin_file.preview(admin_file.current(settings()), new, sample, settings())
               if admin_file.preview else [])
    return _editor_page(page | {"preview": preview, "overview": _overview(admin_file, new)})


def _meanwhile(refusal: Refused, mine: bytes) -> dict:
    """After a save refused because someone else saved first: the difference between their file
    and this admin's edit, and their file as the new base (the admin's edit stays in the form,
    so a second save, after looking, keeps nothing back)."""
    if not isinstance(refusal, ChangedMeanwhile):
        return {}
    return {"diff": _diff(refusal.theirs.decode("utf-8"), mine.decode("utf-8"),
                          ("他人已保存的内容", "您的修改")),
            "base": fingerprint(refusal.theirs)}


def _overview(admin_file: EditableFile, loaded) -> dict | None:
    if admin_file.overview is None or loaded is None:
        return None
    return admin_file.overview(loaded, request.values)


def _editor_page(page: dict) -> str:
    view = view_of(page["admin_file"].name)
    return render_template(view.template, **page | view.context(page, request.values, settings()))


@admin.route("/files/<name>", methods=["GET", "POST"])
def edit_file(name: str):
    admin_file = _admin_file(name)
    if admin_file is TIME_LIMITS:
        return redirect(url_for("admin.time_limits"))
    if admin_file.schema is not None and not request.args.get("raw"):
        return _structured_editor(admin_file)
    current = admin_file.path(settings()).read_bytes()
    page = {"admin_file": admin_file, "versions": store().versions(name), "errors": {},
            "content": current.decode("utf-8"), "base": fingerprint(current), "reason": "",
            "preview": None, "diff": None, "sample": _sample(admin_file, {})[0]}
    if request.method == "GET":
        return render_template("admin/file.html", **page)
    form = request.form.to_dict()
    page |= {"content": form.get("content", ""), "reason": form.get("reason", ""),
             "base": form.get("base") or page["base"]}
    try:
        values = FileFormSchema().load(form)
    except ValidationError as error:
        return render_template("admin/file.html", **page | {"errors": error.messages}), 400
    content = values["content"].replace("\r\n", "\n").encode("utf-8")
    if values["action"] == "save":
        try:
            version, note = save(admin_file, content, settings=settings(), store=store(),
                                 user=user_id(), reason=values["reason"].strip(),
                                 base=values["base"])
        except Refused as refusal:
            return render_template("admin/file.html", **page | {"errors": {
                "content": str(refusal).splitlines()}} | _meanwhile(refusal, content)), 400
        flash(f"已保存为版本 {version}{note}")
        return redirect(url_for("admin.edit_file", name=name, raw=admin_file.schema and 1))
    sample, sample_errors = _sample(admin_file, form)
    page |= {"sample": sample, "diff": _diff(current.decode("utf-8"), values["content"])}
    try:
        new = admin_file.check(content, settings())
    except Refused as refusal:
        return render_template("admin/file.html", **page | {"errors": {
            "content": str(refusal).splitlines()} | sample_errors}), 400
    preview = (admin_file.preview(admin_file.current(settings()), new, sample, settings())
               if admin_file.preview else [])
    return render_template("admin/file.html", **page | {"preview": preview,
                                                        "errors": sample_errors})


@admin.get("/files/<name>/versions/<int:version_id>")
def show_version(name: str, version_id: int):
    admin_file = _admin_file(name)
    return _version_page(admin_file, _version(admin_file, version_id), {})


@admin.post("/files/<name>/versions/<int:version_id>/restore")
def restore_version(name: str, version_id: int):
    admin_file = _admin_file(name)
    version = _version(admin_file, version_id)
    try:
        values = ReasonSchema().load(request.form.to_dict())
        new_version, note = save(admin_file, version["content"], settings=settings(),
                                 store=store(), user=user_id(), base=None,
                                 reason=f"恢复到版本 {version_id}: {values['reason'].strip()}",
                                 action=f"恢复版本 {version_id}")
    except (ValidationError, Refused) as refusal:
        messages = (refusal.messages if isinstance(refusal, ValidationError)
                    else {"content": str(refusal).splitlines()})
        return _version_page(admin_file, version, messages), 400
    flash(f"已恢复到版本 {version_id} 的内容, 保存为版本 {new_version}{note}")
    return redirect(_editor_url(admin_file))


@admin.get("/audit")
def audit_trail():
    return render_template("admin/audit.html", audit=store().audit())


# -- the time-limit table ------------------------------------------------------------------------

class TimeLimitSampleSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    kind = fields.String(load_default="complaint", validate=validate.OneOf(list(KINDS)))
    urgency = fields.String(load_default="normal", validate=validate.OneOf(list(URGENCIES)))
    difficulty = fields.String(load_default="ordinary", validate=validate.OneOf(list(DIFFICULTIES)))
    receivedAt = fields.AwareDateTime(
        format="%Y-%m-%d %H:%M", default_timezone=SHANGHAI, load_default=None,
        error_messages={"invalid": "应写成 年-月-日 时:分 (北京时间), 如 2026-11-27 09:30"},
        metadata={"description": "受理时间, 空: 现在"})


class GridFormSchema(ReasonSchema):
    """The grid as posted: cells named rule-<row>-in-<column> and rule-<row>-out-<column>."""
    base = fields.String(load_default=None)
    action = fields.String(load_default="preview", validate=validate.OneOf(["preview", "save"]))
    rows = fields.Integer(required=True, validate=validate.Range(min=0, max=200))


def _posted_rules(form, table: dmn_table.Table, rows: int) -> list[dmn_table.Rule]:
    """The rules as the admin left them: rows marked for deletion left out, an empty new row
    ignored."""
    rules = []
    for row in range(rows):
        if form.get(f"rule-{row}-delete"):
            continue
        cells = lambda kind, count: [form.get(f"rule-{row}-{kind}-{column}", "").strip()
                                     for column in range(count)]
        rule = dmn_table.Rule(form.get(f"rule-{row}-id", ""),
                              form.get(f"rule-{row}-description", "").strip(),
                              cells("in", len(table.inputs)), cells("out", len(table.outputs)))
        if rule.id or any(rule.inputs + rule.outputs):
            rules.append(rule)
    return rules


@admin.route("/time-limits", methods=["GET", "POST"])
def time_limits():
    path = TIME_LIMITS.path(settings())
    current = path.read_bytes()
    tree, table = dmn_table.parse(current)
    page = {"admin_file": TIME_LIMITS, "table": table, "rules": table.rules, "errors": {},
            "reason": "",
            "base": fingerprint(current), "preview": None, "versions": store().versions(
                TIME_LIMITS.name), "sample": TimeLimitSampleSchema().load({}),
            "kinds": KINDS, "urgencies": URGENCIES, "difficulties": DIFFICULTIES}
    if request.method == "GET":
        return render_template("admin/time_limits.html", **page)
    form = request.form.to_dict()
    try:
        values = GridFormSchema().load(form)
    except ValidationError as error:
        return render_template("admin/time_limits.html", **page | {"errors": error.messages}), 400
    rules = _posted_rules(form, table, values["rows"])
    page |= {"rules": rules, "reason": values["reason"], "base": values["base"] or page["base"]}
    try:
        sample = TimeLimitSampleSchema().load({key.removeprefix("sample-"): value
                                               for key, value in form.items()
                                               if key.startswith("sample-") and value})
    except ValidationError as error:
        return render_template("admin/time_limits.html", **page | {"errors": error.messages}), 400
    page["sample"] = sample
    try:
        dmn_table.check(dmn_table.Table(table.inputs, table.outputs, rules))
        content = dmn_table.write(tree, rules)
        if values["action"] == "save":
            version, note = save(TIME_LIMITS, content, settings=settings(), store=store(),
                                 user=user_id(), reason=values["reason"].strip(),
                                 base=values["base"])
            flash(f"已保存为版本 {version}{note}")
            return redirect(url_for("admin.time_limits"))
    except (dmn_table.TableError, Refused) as refusal:
        problems = getattr(refusal, "problems", None) or str(refusal).splitlines()
        return render_template("admin/time_limits.html", **page | {"errors": {
            "table": problems}}), 400
    page["preview"] = preview_deadlines(settings(), dmn_table.Table(table.inputs, table.outputs,
                                                                    rules), sample)
    return render_template("admin/time_limits.html", **page)


def init_admin(app: Flask) -> None:
    """Login, CSRF protection of every form (the token-protected API is exempt: its callers are
    systems with a bearer token, not browsers with a cookie), and the admin pages."""
    from console.admin import api_clients, demo, deployments  # noqa: F401 - routes on `admin`
    from console.admin import directory_editor, taxonomy_editor  # noqa: F401 - register views

    auth.init_login(app)

    @app.before_request
    def admin_body_limit():
        # Before the CSRF check, which reads the form under the limit then in force.
        if request.path.startswith(admin.url_prefix + "/"):
            request.max_content_length = ADMIN_MAX_BODY_BYTES

    app.config["WTF_CSRF_TIME_LIMIT"] = None  # valid as long as the session
    csrf.init_app(app)
    csrf.exempt(api)
    app.register_blueprint(admin)

    @app.errorhandler(CSRFError)
    def csrf_refused(error: CSRFError):
        return error_page(error)
