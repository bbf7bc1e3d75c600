"""The home page after login, by role: the hotline centre sees its queues (审核受理, 审核派单,
审核答复, 回访) with counts, today's intake and the overdue appeals; leaders see the day's
figures, a chart of the last two weeks' intake, the major-risk alerts and the leader-received
appeals. Everything is read live from the engine (the analytical store may lag behind).
"""
from __future__ import annotations

import datetime as dt
import json

import flask_login
from flask import Blueprint, current_app, render_template

from admin_data.directory import DIRECTORY
from admin_data.workdays import SHANGHAI
from console.admin.auth import HOTLINE, LEADER
from console.api import admin_engine, missing_calendar
from deploy.tasklist_filters import HOTLINE_QUEUES, shared_filter_id
from external_tasks import appeal
from external_tasks.camunda import EngineClient

home = Blueprint("home", __name__)

#: Appeals listed per table on the home page (the rest are in Tasklist and the assessment).
LISTED = 20
CHART_DAYS = 14
RECENT_DAYS = 7
SHOWN_VARIABLES = ("appealNumber", "title", "township", "leadUnit", "receivedAt",
                   "completionDeadline", "majorRiskWords")


def _engine_moment(moment: dt.datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000%z")


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), SHANGHAI)


def _appeals(engine: EngineClient, query: dict, limit: int | None = LISTED) -> list[dict]:
    """Appeals (the hotline centre's instances in history) matching `query`, newest first, with
    the variables a table shows; never the caller's data."""
    paging = f"?maxResults={limit}" if limit else ""
    instances = engine.post(f"/history/process-instance{paging}", {
        "processDefinitionKey": appeal.APPEAL_PROCESS, "sorting": [
            {"sortBy": "startTime", "sortOrder": "desc"}]} | query)
    variables = appeal.variables_by_instance(engine, [item["id"] for item in instances],
                                             SHOWN_VARIABLES)
    directory = DIRECTORY.current()
    rows = []
    for instance in instances:
        found = variables[instance["id"]]
        lead = directory.unit(found.get("leadUnit") or "")
        rows.append(found | {"leadUnitName": lead.name if lead else "（未派单）",
                             "running": instance["state"] == "ACTIVE"})
    return rows


def _count(engine: EngineClient, path: str, **query) -> int:
    return engine.get(path, **query)["count"]


def _queue_url(engine: EngineClient, tasklist: str, name: str) -> str:
    """Tasklist with the queue's filter selected (Tasklist keeps it in the address)."""
    filter_id = shared_filter_id(engine, name)
    return f"{tasklist}#/?filter={filter_id}" if filter_id else tasklist


def hotline_view(engine: EngineClient, settings, today: dt.date) -> dict:
    tasklist = f"{settings.webapps_url}/tasklist/default/"
    return {
        "queues": [{"name": name, "count": _count(engine, "/task/count", taskDefinitionKey=key),
                    "url": _queue_url(engine, tasklist, name)}
                   for key, name, _ in HOTLINE_QUEUES],
        "intake_today": _count(engine, "/history/process-instance/count",
                               processDefinitionKey=appeal.APPEAL_PROCESS,
                               startedAfter=_engine_moment(_midnight(today))),
        "overdue": _appeals(engine, {"unfinished": True, "variables": [
            {"name": "overdue", "operator": "eq", "value": True}]}),
    }


def intake_per_day(engine: EngineClient, today: dt.date) -> dict:
    """The chart of the last CHART_DAYS days' intake: one history query, counted here."""
    days = [today - dt.timedelta(days=back) for back in range(CHART_DAYS - 1, -1, -1)]
    started = engine.post("/history/process-instance", {
        "processDefinitionKey": appeal.APPEAL_PROCESS,
        "startedAfter": _engine_moment(_midnight(days[0]))})
    counts = dict.fromkeys(days, 0)
    for instance in started:
        day = dt.datetime.fromisoformat(instance["startTime"]).astimezone(SHANGHAI).date()
        if day in counts:
            counts[day] += 1
    return {"kind": "bar", "categories": [day.strftime("%m-%d") for day in days],
            "series": [{"name": "受理件数", "values": list(counts.values())}]}


def leader_view(engine: EngineClient, today: dt.date) -> dict:
    midnight = _engine_moment(_midnight(today))
    week_ago = _engine_moment(_midnight(today - dt.timedelta(days=RECENT_DAYS - 1)))
    # majorRiskWords is a JSON list, which the engine cannot filter on: the week's appeals are
    # read and filtered here.
    recent = _appeals(engine, {"startedAfter": week_ago}, limit=None)
    return {
        "figures": [
            ("今日受理", _count(engine, "/history/process-instance/count", startedAfter=midnight,
                               processDefinitionKey=appeal.APPEAL_PROCESS), ""),
            ("今日办结", _count(engine, "/history/process-instance/count", finishedAfter=midnight,
                               processDefinitionKey=appeal.APPEAL_PROCESS), "ok"),
            ("在办工单", _count(engine, "/process-instance/count",
                               processDefinitionKey=appeal.APPEAL_PROCESS), ""),
            ("超期在办", _count(engine, "/process-instance/count",
                               processDefinitionKey=appeal.APPEAL_PROCESS,
                               variables="overdue_eq_true"), "warn"),
        ],
        "chart": json.dumps(intake_per_day(engine, today), ensure_ascii=False),
        "major_risks": [row for row in recent if row.get("majorRiskWords")][:LISTED],
        "leader_received": _appeals(engine, {"startedAfter": week_ago, "variables": [
            {"name": "leaderReceived", "operator": "eq", "value": True}]}),
    }


@home.get("/")
@flask_login.login_required
def page():
    roles = flask_login.current_user.roles
    engine, settings = admin_engine(), current_app.config["SUBAN_SETTINGS"]
    today = dt.datetime.now(SHANGHAI).date()
    return render_template(
        "home.html", today=today, recent_days=RECENT_DAYS, chart_days=CHART_DAYS,
        hotline=hotline_view(engine, settings, today) if HOTLINE in roles else None,
        leader=leader_view(engine, today) if LEADER in roles else None,
        missing_calendar=missing_calendar())
