"""API clients page (/admin/api-clients): admins register a client with a name and scopes, see
its key once, rotate it (two valid keys until the old one is retired) and revoke it. Every
action goes into the audit trail with its reason."""
from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError, fields, validate
from werkzeug.exceptions import NotFound

from console.admin import ReasonSchema, admin, store, user_id
from console.api import api_clients
from console.api_clients import SCOPE_NAMES

PAGE = "admin/api_clients.html"


class RegisterSchema(ReasonSchema):
    name = fields.String(required=True, validate=validate.Length(
        min=2, max=40, error="「客户端名称」应为 2 至 40 个字"),
        error_messages={"required": "请填写「客户端名称」"})
    scopes = fields.List(fields.String(validate=validate.OneOf(
        list(SCOPE_NAMES), error="「权限」{input} 不存在")), required=True, validate=validate.Length(
        min=1, error="请至少选择一项「权限」"), error_messages={"required": "请至少选择一项「权限」"})


def _page(errors: dict | None = None, new_key: tuple[str, str] | None = None, form=None):
    return render_template(PAGE, clients=api_clients().clients(), scope_names=SCOPE_NAMES,
                           errors=errors or {}, new_key=new_key, form=form or {})


def _reason() -> str:
    try:
        return ReasonSchema().load({"reason": request.form.get("reason", "")})["reason"].strip()
    except ValidationError as error:
        raise _Refused(error.messages) from None


class _Refused(Exception):
    pass


@admin.get("/api-clients")
def api_clients_page():
    return _page()


@admin.post("/api-clients")
def register_api_client():
    form = {"name": request.form.get("name", "").strip(), "reason": request.form.get("reason", ""),
            "scopes": request.form.getlist("scopes")}
    try:
        values = RegisterSchema().load(form)
    except ValidationError as error:
        return _page(error.messages, form=form), 400
    if any(client["name"] == values["name"] for client in api_clients().clients()):
        return _page({"name": [f"「客户端名称」{values['name']} 已被使用"]}, form=form), 400
    key = api_clients().register(values["name"], values["scopes"], user_id())
    store().record(user_id(), "注册API客户端", values["name"], values["reason"].strip(),
                   "权限: " + "、".join(values["scopes"]))
    return _page(new_key=(values["name"], key))


@admin.post("/api-clients/<name>/rotate")
def rotate_api_client_key(name: str):
    try:
        reason = _reason()
        key = api_clients().rotate(name)
    except _Refused as refusal:
        return _page(refusal.args[0]), 400
    except KeyError:
        raise NotFound(f"没有有效的API客户端 {name}") from None
    store().record(user_id(), "轮换API密钥", name, reason, "新密钥已生成, 旧密钥在停用前仍有效")
    return _page(new_key=(name, key))


@admin.post("/api-clients/<name>/keys/<int:key_id>/retire")
def retire_api_client_key(name: str, key_id: int):
    return _end(name, lambda: api_clients().retire_key(name, key_id), "停用API密钥",
                f"密钥 {key_id}")


@admin.post("/api-clients/<name>/revoke")
def revoke_api_client(name: str):
    return _end(name, lambda: api_clients().revoke(name), "吊销API客户端", "全部密钥立即失效")


def _end(name: str, action, what: str, detail: str):
    try:
        reason = _reason()
        action()
    except _Refused as refusal:
        return _page(refusal.args[0]), 400
    except KeyError:
        raise NotFound(f"没有有效的API客户端 {name}") from None
    store().record(user_id(), what, name, reason, detail)
    flash(f"{what}: {name} ({detail})")
    return redirect(url_for("admin.api_clients_page"))
