"""The console's one look: the base template (console/templates/base.html) with Bootstrap 5 and
Apache ECharts from our own static files (the county's network is closed), the menu each role
sees, and Beijing time as `YYYY-MM-DD HH:mm` on every page.

A page adopts the look with `{% extends "base.html" %}` and fills `title`, `main` and, for its
own static script, `scripts`; JavaScript lives in static files only (the CSP forbids inline
scripts). A new page joins the menu with one `MenuItem` in MENU.
"""
from __future__ import annotations

import dataclasses
import datetime as dt

import flask_login
from flask import Flask, request, url_for

from admin_data.workdays import SHANGHAI
from console.admin.auth import ADMIN, HOTLINE, STAFF

MINUTE_FORMAT = "%Y-%m-%d %H:%M"


@dataclasses.dataclass(frozen=True)
class MenuItem:
    title: str
    endpoint: str
    roles: tuple[str, ...]  # who sees it

    @property
    def url(self) -> str:
        return url_for(self.endpoint)

    @property
    def active(self) -> bool:
        return request.endpoint == self.endpoint


MENU = (
    MenuItem("首页", "home.page", ()),
    MenuItem("受理台", "desk.desk_page", (HOTLINE,)),
    MenuItem("知识库", "knowledge.index", ()),
    MenuItem("考核与研判", "assessment_pages.overview_page", STAFF),
    MenuItem("管理", "admin.index", (ADMIN,)),
    MenuItem("部署", "admin.deploy_page", (ADMIN,)),
    MenuItem("接口客户端", "admin.api_clients_page", (ADMIN,)),
    MenuItem("审计记录", "admin.audit_trail", (ADMIN,)),
)


def menu_for(roles: tuple[str, ...]) -> list[MenuItem]:
    return [item for item in MENU if not item.roles or set(item.roles) & set(roles)]


def beijing_minutes(moment) -> str:
    """A moment (datetime, ISO text or the engine's `2026-12-04T08:00:00.000+0000`) in Beijing
    time, `YYYY-MM-DD HH:mm`; empty for none; text that is no moment is shown as it is."""
    if moment in (None, ""):
        return ""
    if isinstance(moment, str):
        try:
            moment = dt.datetime.fromisoformat(moment)
        except ValueError:
            return moment
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=SHANGHAI)
    return moment.astimezone(SHANGHAI).strftime(MINUTE_FORMAT)


def init_layout(app: Flask) -> None:
    app.add_template_filter(beijing_minutes, "beijing")

    @app.context_processor
    def menu():
        user = flask_login.current_user
        return {"menu": menu_for(user.roles) if user.is_authenticated else []}
