"""Console login with the engine's own accounts (the same as Tasklist's) and roles from the
engine's groups: camunda-admin → admin, the hotline centre's unit group → hotline centre,
countyleaders → leader, anyone else → read-only.

The password is checked by the engine (POST /identity/verify), which also slows down repeated
attempts after a failure; the console locks a user name or an address out after too many wrong
passwords (console.security) and writes the lockout into the audit trail. The signed session
cookie holds the user id, name, roles and a session id the console keeps: logging out ends that
session, a new password (/password) ends all of the user's sessions. Roles are read at login: a
changed group membership applies at the next login (a session lasts one working day,
SESSION_HOURS).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import math
import secrets
from urllib.parse import urlsplit

import flask_login
from flask import (Blueprint, Flask, abort, current_app, flash, redirect, render_template,
                   request, session, url_for)
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate, validates_schema

from console.errors import error_page
from console.admin.store import current_store
from console.api import SESSION_ROLES, http_refusal
from console.api import admin_engine as engine
from console.security import LoginThrottle
from admin_data.directory import ID_PATTERN, LEADERS_GROUP, DIRECTORY
from admin_data.environment import Settings
from external_tasks.camunda import EngineClient, EngineError

ADMIN, HOTLINE, LEADER, READ_ONLY = "admin", "hotline", "leader", "readonly"
#: The roles that work with the console (the read-only role sees only its home page).
STAFF = (ADMIN, HOTLINE, LEADER)
ROLE_NAMES = {ADMIN: "管理员", HOTLINE: "热线中心", LEADER: "县领导", READ_ONLY: "只读"}
#: The engine's administrators' group (created with the admin user by the Spring Boot starter).
ENGINE_ADMIN_GROUP = "camunda-admin"
HOTLINE_KIND = "hotline_centre"
SESSION_HOURS = 8

auth = Blueprint("auth", __name__, template_folder="templates")
login_manager = flask_login.LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "请先登录"


@dataclasses.dataclass(frozen=True)
class ConsoleUser(flask_login.UserMixin):
    id: str
    name: str
    roles: tuple[str, ...]
    #: The directory units whose group the user is in (their unit's pages, e.g. its knowledge).
    units: tuple[str, ...] = ()

    def get_id(self) -> str:
        return self.id

    @property
    def role_names(self) -> str:
        return "、".join(ROLE_NAMES[role] for role in self.roles)


def roles_of(groups: set[str]) -> tuple[str, ...]:
    hotline_groups = {unit.id for unit in DIRECTORY.current().units if unit.kind == HOTLINE_KIND}
    roles = [role for role, member in ((ADMIN, ENGINE_ADMIN_GROUP in groups),
                                       (HOTLINE, bool(groups & hotline_groups)),
                                       (LEADER, LEADERS_GROUP in groups)) if member]
    return tuple(roles) or (READ_ONLY,)


@login_manager.user_loader
def load_user(user_id: str) -> ConsoleUser | None:
    stored = session.get("console_user")
    if not stored or stored.get("id") != user_id or \
            not current_store().session_live(session.get("session_id", ""), user_id):
        return None
    return ConsoleUser(stored["id"], stored["name"], tuple(stored["roles"]),
                       tuple(stored.get("units", ())))


def current_user() -> ConsoleUser:
    return flask_login.current_user._get_current_object()


def refuse_unless(*roles: str):
    """None when the user holds one of `roles`; otherwise the redirect to the login page (a
    visitor) or a 403 (a user without any of them)."""
    user = flask_login.current_user
    if not user.is_authenticated:
        return login_manager.unauthorized()
    if not set(roles) & set(user.roles):
        allowed = "或".join(ROLE_NAMES[role] for role in roles)
        abort(403, f"此页面仅限{allowed}使用; 您的角色: {user.role_names}")
    return None


class LoginSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # the CSRF token travels in the same form

    username = fields.String(required=True, validate=validate.Regexp(
        ID_PATTERN, error="用户名只有英文字母和数字"), error_messages={"required": "请填写用户名"})
    password = fields.String(required=True, validate=validate.Length(
        min=1, max=256, error="请填写密码"), error_messages={"required": "请填写密码"})
    next = fields.String(load_default="")


def _safe_next(target: str) -> str:
    """Only a path on this console: a link from elsewhere must not send the user away."""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc:
        return target
    return url_for("home.page")


@auth.route("/login", methods=["GET", "POST"])
def login():
    if request.method == "GET":
        return render_template("admin/login.html", errors={},
                               next=request.args.get("next", ""), username="")
    form = request.form.to_dict()
    try:
        values = LoginSchema().load(form)
    except ValidationError as error:
        return render_template("admin/login.html", errors=error.messages,
                               next=form.get("next", ""), username=form.get("username", "")), 400
    throttle: LoginThrottle = current_app.config["SUBAN_LOGIN_THROTTLE"]
    address = request.remote_addr or ""
    if locked := throttle.locked(values["username"], address):
        rule, seconds = locked
        return render_template(
            "admin/login.html", next=values["next"], username=values["username"],
            errors={"password": [f"密码错误次数过多, 该{rule.what}已被暂时锁定, 请 "
                                 f"{math.ceil(seconds / 60)} 分钟后再试"]}), 429
    client = engine()
    verified = client.post("/identity/verify", {"username": values["username"],
                                                "password": values["password"]})
    if not verified.get("authenticated"):
        for rule, locked_out in throttle.failed(values["username"], address):
            current_store().record(
                "（系统）", "登录锁定", f"{rule.what} {locked_out}",
                detail=f"{rule.window_s // 60:.0f} 分钟内 {rule.failures} 次密码错误, "
                       f"锁定 {rule.lockout_s // 60:.0f} 分钟 (最后一次: 用户 "
                       f"{values['username']}, 地址 {address})")
        return render_template(
            "admin/login.html", next=values["next"], username=values["username"],
            errors={"password": ["用户名或密码错误 (多次输错后将暂时锁定, 请稍候再试)"]}), 401
    throttle.succeeded(values["username"])
    user_id = verified["authenticatedUser"]
    profile = client.get(f"/user/{user_id}/profile")
    groups = {group["id"] for group in client.get("/group", member=user_id)}
    user = ConsoleUser(user_id, " ".join(filter(None, (profile.get("firstName"),
                                                        profile.get("lastName")))) or user_id,
                       roles_of(groups),
                       tuple(sorted(groups & {unit.id for unit in DIRECTORY.current().units})))
    session.clear()  # a fresh session (and CSRF token) for the new user: no fixation
    session.permanent = True
    session["console_user"] = dataclasses.asdict(user)
    session["session_id"] = secrets.token_urlsafe(24)
    current_store().start_session(session["session_id"], user_id)
    flask_login.login_user(user)
    return redirect(_safe_next(values["next"]))


@auth.post("/logout")
def logout():
    if flask_login.current_user.is_authenticated:
        current_store().end_sessions(current_user().id, session.get("session_id"))
    flask_login.logout_user()
    session.clear()
    flash("已退出登录")
    return redirect(url_for("auth.login"))


class PasswordSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    current = fields.String(required=True, validate=validate.Length(min=1, error="请填写「当前密码」"),
                            error_messages={"required": "请填写「当前密码」"})
    new = fields.String(required=True, validate=validate.Length(
        min=8, max=256, error="「新密码」至少 8 个字符"), error_messages={"required": "请填写「新密码」"})
    repeated = fields.String(required=True, error_messages={"required": "请再次填写「新密码」"})

    @validates_schema
    def same_twice(self, data, **_):
        if data.get("new") != data.get("repeated"):
            raise ValidationError("两次填写的「新密码」不一致", "repeated")


@auth.route("/password", methods=["GET", "POST"])
@flask_login.login_required
def change_password():
    """The user's own engine password (the same for Tasklist); all the user's console sessions
    end with it, this one too."""
    if request.method == "GET":
        return render_template("admin/password.html", errors={})
    try:
        values = PasswordSchema().load(request.form.to_dict())
    except ValidationError as error:
        return render_template("admin/password.html", errors=error.messages), 400
    user_id = current_user().id
    settings: Settings = current_app.config["SUBAN_SETTINGS"]
    try:
        EngineClient(settings.engine_rest_url, user_id, values["current"]).rest(
            "PUT", f"/user/{user_id}/credentials", expect_json=False, json={
                "password": values["new"], "authenticatedUserPassword": values["current"]})
    except EngineError as error:
        if error.status not in (400, 401, 403):
            raise
        return render_template("admin/password.html", errors={
            "current": ["「当前密码」不正确, 或新密码不符合引擎的密码规则"]}), 400
    current_store().end_sessions(user_id)
    current_store().record(user_id, "修改密码", f"用户 {user_id}", detail="该用户的全部控制台会话已结束")
    flask_login.logout_user()
    session.clear()
    flash("密码已修改, 请用新密码重新登录")
    return redirect(url_for("auth.login"))


@auth.app_errorhandler(403)
def forbidden(error):
    if request.path.startswith("/api/"):
        return http_refusal(error)  # the API answers with its error schema
    return error_page(error)


@auth.app_errorhandler(EngineError)
def engine_unavailable_page(error: EngineError):
    current_app.logger.error("engine call failed: %s", error)
    return render_template("admin/error.html", title="流程引擎暂不可用",
                           message="请稍后重试; 详情已记入控制台日志"), 503


def secret_key(settings: Settings) -> bytes:
    """The session signing key, made once per data folder: sessions survive a restart."""
    path = settings.data_dir / "console" / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_bytes(secrets.token_bytes(32))
    return path.read_bytes()


def init_login(app: Flask) -> None:
    app.config["SECRET_KEY"] = secret_key(app.config["SUBAN_SETTINGS"])
    app.config["PERMANENT_SESSION_LIFETIME"] = dt.timedelta(hours=SESSION_HOURS)
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.config[SESSION_ROLES] = STAFF
    login_manager.init_app(app)
    app.register_blueprint(auth)
    app.context_processor(lambda: {"user": flask_login.current_user, "ROLE_NAMES": ROLE_NAMES,
                                   "ADMIN": ADMIN, "HOTLINE": HOTLINE})
