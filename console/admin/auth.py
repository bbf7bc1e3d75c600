"""Console login with the engine's own accounts (the same as Tasklist's) and roles from the
engine's groups: camunda-admin → admin, the hotline centre's unit group → hotline centre,
countyleaders → leader, anyone else → read-only.

The password is checked by the engine (POST /identity/verify), which also slows down repeated
attempts after a failure; the console keeps only the user id, name and roles in its signed
session cookie. Roles are read at login: a changed group membership applies at the next login
(a session lasts one working day, SESSION_HOURS).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from urllib.parse import urlsplit

import flask_login
from flask import (Blueprint, Flask, abort, current_app, flash, redirect, render_template,
                   request, session, url_for)
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from console.api import http_refusal, missing_calendar
from console.api import admin_engine as engine
from admin_data.directory import ID_PATTERN, LEADERS_GROUP, DIRECTORY
from admin_data.environment import Settings
from external_tasks.camunda import EngineError

ADMIN, HOTLINE, LEADER, READ_ONLY = "admin", "hotline", "leader", "readonly"
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
    if not stored or stored.get("id") != user_id:
        return None
    return ConsoleUser(stored["id"], stored["name"], tuple(stored["roles"]))


def current_user() -> ConsoleUser:
    return flask_login.current_user._get_current_object()


def refuse_unless(role: str):
    """None when the user holds `role`; otherwise the redirect to the login page (a visitor) or
    a 403 (a user without the role)."""
    user = flask_login.current_user
    if not user.is_authenticated:
        return login_manager.unauthorized()
    if role not in user.roles:
        abort(403, f"此页面仅限{ROLE_NAMES[role]}使用; 您的角色: {user.role_names}")
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
    return url_for("auth.home")


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
    client = engine()
    verified = client.post("/identity/verify", {"username": values["username"],
                                                "password": values["password"]})
    if not verified.get("authenticated"):
        return render_template(
            "admin/login.html", next=values["next"], username=values["username"],
            errors={"password": ["用户名或密码错误 (多次输错后引擎会暂缓验证, 请稍候再试)"]}), 401
    user_id = verified["authenticatedUser"]
    profile = client.get(f"/user/{user_id}/profile")
    groups = {group["id"] for group in client.get("/group", member=user_id)}
    user = ConsoleUser(user_id, " ".join(filter(None, (profile.get("firstName"),
                                                        profile.get("lastName")))) or user_id,
                       roles_of(groups))
    session.clear()  # a fresh session (and CSRF token) for the new user: no fixation
    session.permanent = True
    session["console_user"] = dataclasses.asdict(user)
    flask_login.login_user(user)
    return redirect(_safe_next(values["next"]))


@auth.post("/logout")
def logout():
    flask_login.logout_user()
    session.clear()
    flash("已退出登录")
    return redirect(url_for("auth.login"))


@auth.get("/")
@flask_login.login_required
def home():
    return render_template("admin/home.html", missing_calendar=missing_calendar())


@auth.app_errorhandler(403)
def forbidden(error):
    if request.path.startswith("/api/"):
        return http_refusal(error)  # the API answers with its error schema
    return render_template("admin/error.html", title="无权访问", message=error.description), 403


@auth.app_errorhandler(EngineError)
def engine_unavailable_page(error: EngineError):
    current_app.logger.error("engine call failed: %s", error)
    return render_template("admin/error.html", title="流程引擎暂不可用",
                           message=f"请稍后重试 (engine unavailable): {error}"), 503


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
    login_manager.init_app(app)
    app.register_blueprint(auth)
    app.context_processor(lambda: {"user": flask_login.current_user, "ROLE_NAMES": ROLE_NAMES,
                                   "ADMIN": ADMIN})
