"""Tasklist as each unit's desk: the shared task filters, in Chinese, with the appeal's number,
title, completion deadline and overdue mark on every task card.

The directory sync (deploy/directory_sync.py) calls `sync_task_filters` and grants every unit READ
on the filters it returns, and the units of a kind READ on that kind's KIND_FILTERS (the hotline
centre's per-step queues). A filter shows only tasks the user may read, and a unit's users read
only their units' tasks, so one shared filter serves every unit.

Filters are found by name: a second run updates what differs and creates nothing twice.
"""
from __future__ import annotations

from collections.abc import Callable

from external_tasks.camunda import EngineClient

#: Variables shown on each task card. Tasklist reads them from the task, its execution or its
#: process instance: the unit's processes (hotline_unit_handling, hotline_assist,
#: hotline_supervision, hotline_consultation) receive appealNumber, title and
#: completionDeadline from the appeal, and mark-overdue sets `overdue` on the unit's process.
#: The task's own deadline (签收, 反馈 or 办结) is the card's 时限, shown by Tasklist itself.
APPEAL_COLUMNS = (
    {"name": "appealNumber", "label": "工单编号"},
    {"name": "title", "label": "标题"},
    {"name": "completionDeadline", "label": "办结时限"},
    {"name": "overdue", "label": "超期"},
)

#: Tasks of the user's own units, whether someone has claimed them yet or not.
OWN_UNITS = {"candidateGroupsExpression": "${currentUserGroups()}", "includeAssignedTasks": True}


def _filter(name: str, query: dict, priority: int, color: str, description: str) -> dict:
    return {"name": name, "query": query, "properties": {
        "priority": priority, "color": color, "description": description, "refresh": True,
        "variables": [dict(column) for column in APPEAL_COLUMNS],
        "showUndefinedVariable": False}}


TASK_FILTERS = (
    _filter("我的待签收", OWN_UNITS | {"taskDefinitionKey": "Task_SignForAppeal"}, 0, "#b5152b",
            "派给本单位、等待签收或退单的工单"),
    _filter("我的待办", {"assigneeExpression": "${currentUser()}"}, 1, "#555555",
            "已由我认领、正在办理的任务"),
    # The unit is reminded on the morning of a deadline's day and deadlines fall at the end of
    # a working day, so the next 24 hours hold the deadlines the unit must meet today.
    _filter("即将超期", OWN_UNITS | {"dueAfterExpression": "${now()}",
                                 "dueBeforeExpression": "${dateTime().plusDays(1).toDate()}"},
            2, "#d97a00", "24 小时内到达时限的本单位任务"),
    _filter("已超期", OWN_UNITS | {"dueBeforeExpression": "${now()}"}, 3, "#d9001b",
            "已过时限、仍未完成的本单位任务"),
    _filter("协办", OWN_UNITS | {"taskDefinitionKey": "Task_AssistAppeal"}, 4, "#2f6eb5",
            "本单位作为配合单位提出协办意见的工单"),
    _filter("督办", OWN_UNITS | {"processDefinitionKey": "hotline_supervision"}, 5, "#7a3e9d",
            "督办单的签发、反馈和评定"),
    _filter("本单位待办", OWN_UNITS, 6, "#888888", "本单位可签收、办理的全部工单任务"),
)

#: The hotline centre's queues: (task definition key, name, description); one filter each,
#: which the centre's home page in the console links to.
HOTLINE_QUEUES = (
    ("Task_ReviewIntake", "审核受理", "疑似紧急或不予受理、待热线中心审核的工单"),
    ("Task_ReviewDispatch", "审核派单", "未能自动派单、待热线中心审核派单的工单"),
    ("Task_ReviewReply", "审核答复", "承办单位已答复、待热线中心审核的工单"),
    ("Task_CallbackCaller", "待回访", "已到回访时间、待回访诉求人的工单"),
)
#: Filters only the units of a kind read (besides TASK_FILTERS, which every unit reads).
KIND_FILTERS = {"hotline_centre": tuple(
    _filter(name, OWN_UNITS | {"taskDefinitionKey": key}, 10 + index, "#1f5fa8", description)
    for index, (key, name, description) in enumerate(HOTLINE_QUEUES))}


def sync_task_filters(client: EngineClient, on_change: Callable[[str], None],
                      filters: tuple[dict, ...] = TASK_FILTERS) -> list[str]:
    """Create or update every filter of `filters`; returns their ids in the same order.
    `on_change` hears a sentence for each change made."""
    ids = []
    for spec in filters:
        # Filters users made for themselves in Tasklist have an owner; ours are shared.
        found = [stored for stored in client.get("/filter", resourceType="Task", name=spec["name"])
                 if stored.get("owner") is None]
        if not found:
            created = client.post("/filter/create", _body(spec))
            on_change(f"filter {spec['name']} created")
            ids.append(created["id"])
            continue
        # Two set-ups run at once (two engine nodes) may both have created the filter: each
        # keeps the same one, the lowest id, and deletes the others.
        current, *copies = sorted(found, key=lambda stored: stored["id"])
        # The engine adds empty defaults to a stored query: compare only our keys.
        stored_query = {key: current["query"].get(key) for key in spec["query"]}
        if stored_query != spec["query"] or current.get("properties") != spec["properties"]:
            client.rest("PUT", f"/filter/{current['id']}", json=_body(spec))
            on_change(f"filter {spec['name']} updated")
        for copy in copies:
            client.rest("DELETE", f"/filter/{copy['id']}")
            on_change(f"filter {spec['name']}: second copy {copy['id']} deleted")
        ids.append(current["id"])
    return ids


def shared_filter_id(client: EngineClient, name: str) -> str | None:
    """The id of the shared filter of that name (None before the set-up made it)."""
    found = sorted(stored["id"] for stored in client.get("/filter", resourceType="Task", name=name)
                   if stored.get("owner") is None)
    return found[0] if found else None


def _body(spec: dict) -> dict:
    return {"resourceType": "Task", "name": spec["name"], "owner": None,
            "query": spec["query"], "properties": spec["properties"]}
