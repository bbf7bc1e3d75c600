"""The units' Tasklist filters (deploy/tasklist_filters.py): made once by the set-up, kept when
it runs again, readable by every unit, and each lists the tasks its name promises with the
appeal's columns."""
import datetime as dt

import requests

from admin_data.directory import load_directory
from deploy.directory_sync import DirectorySync
from deploy.tasklist_filters import APPEAL_COLUMNS, HOTLINE_QUEUES, KIND_FILTERS, TASK_FILTERS
from tests.conftest import wait_until

FILTER_NAMES = [spec["name"] for spec in TASK_FILTERS]
HOTLINE_FILTER_NAMES = {spec["name"] for spec in KIND_FILTERS["hotline_centre"]}


def shared_filters(client) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for stored in client.get("/filter", resourceType="Task"):
        if stored["owner"] is None:
            found.setdefault(stored["name"], []).append(stored)
    return found


def listed(settings, user: str, filter_name: str) -> list[dict]:
    """The tasks Tasklist receives for `user` in a filter."""
    session = requests.Session()
    session.auth = (user, settings.demo_password)
    [stored] = [item for item in session.get(f"{settings.engine_rest_url}/filter",
                                             params={"resourceType": "Task"}, timeout=30).json()
                if item["name"] == filter_name]
    response = session.post(f"{settings.engine_rest_url}/filter/{stored['id']}/list",
                            params={"firstResult": 0, "maxResults": 100}, json={}, timeout=30)
    assert response.ok, response.text
    return response.json()


def card(as_user, user: str, task: dict) -> dict:
    """What the task card shows (app/tasklist/scripts/appeal-columns.js): the filters'
    columns, read through the task as the unit's user."""
    names = ",".join(column["name"] for column in APPEAL_COLUMNS)
    variables = as_user(user).get(f"/task/{task['id']}/form-variables", variableNames=names)
    return {name: variable["value"] for name, variable in variables.items()}


def in_filter(settings, user: str, filter_name: str, task_id: str) -> bool:
    return any(task["id"] == task_id for task in listed(settings, user, filter_name))


def test_a_second_set_up_changes_nothing_and_repairs_what_differs(engine, settings):
    def set_up() -> list[str]:
        directory = load_directory(settings.config_dir / "directory.yaml")
        return DirectorySync(engine, settings).run(directory).changes

    assert set_up() == [], "the stack's set-up already made every filter and grant"
    assert {name: len(copies) for name, copies in shared_filters(engine).items()} == \
        {name: 1 for name in FILTER_NAMES + sorted(HOTLINE_FILTER_NAMES)}

    [overdue] = shared_filters(engine)["已超期"]
    engine.rest("PUT", f"/filter/{overdue['id']}", json=overdue | {
        "properties": overdue["properties"] | {"color": "#000000"}})
    engine.post("/filter/create", {"resourceType": "Task", "name": "协办", "owner": None,
                                   "query": {}, "properties": {}})
    changes = set_up()
    assert "filter 已超期 updated" in changes
    assert any(change.startswith("filter 协办: second copy") for change in changes)
    assert {name: len(copies) for name, copies in shared_filters(engine).items()} == \
        {name: 1 for name in FILTER_NAMES + sorted(HOTLINE_FILTER_NAMES)}
    [xieban] = shared_filters(engine)["协办"]
    assert xieban["query"]["taskDefinitionKey"] == "Task_AssistAppeal"


def test_every_kind_of_unit_reads_every_filter_and_the_hotline_centre_its_queues(as_user):
    for user in ("dulou01", "hotline01", "housing01", "inspection01", "media01", "countyleaders01"):
        names = {stored["name"] for stored in as_user(user).get("/filter", resourceType="Task")}
        assert names >= set(FILTER_NAMES), user
        assert (names >= HOTLINE_FILTER_NAMES) == (user == "hotline01"), user
    assert HOTLINE_FILTER_NAMES == {name for _, name, _ in HOTLINE_QUEUES}


def test_sign_for_task_is_listed_with_the_appeal_columns_then_overdue(appeals, settings,
                                                                      engine, as_user):
    number = appeals.submit(township="dulou", title="杜楼镇某小区物业不清理垃圾")
    task = appeals.task(number, "dulou01", "Task_SignForAppeal")

    assert in_filter(settings, "dulou01", "我的待签收", task["id"])
    shown = card(as_user, "dulou01", task)
    assert set(shown) == {column["name"] for column in APPEAL_COLUMNS}
    assert shown["appealNumber"] == number
    assert shown["title"] == "杜楼镇某小区物业不清理垃圾"
    assert dt.datetime.fromisoformat(shown["completionDeadline"]) > \
        dt.datetime.now(dt.timezone.utc)
    assert shown["overdue"] is False
    assert in_filter(settings, "dulou01", "本单位待办", task["id"])
    assert not in_filter(settings, "dulou01", "已超期", task["id"])
    assert not in_filter(settings, "housing01", "我的待签收", task["id"])

    # A task due within 24 hours is about to be late; one past its due time is late.
    set_due(engine, task["id"], dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=3))
    assert in_filter(settings, "dulou01", "即将超期", task["id"])
    assert not in_filter(settings, "dulou01", "已超期", task["id"])
    set_due(engine, task["id"], dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1))
    assert in_filter(settings, "dulou01", "已超期", task["id"])
    assert not in_filter(settings, "dulou01", "即将超期", task["id"])

    # The sign-for deadline passes: the unit's overdue mark, and 督办 for the hotline centre.
    appeals.fire_timer(number, "Event_SignForOverdue")
    order = appeals.task(number, "hotline01", "Task_IssueSupervisionOrder")
    assert in_filter(settings, "hotline01", "督办", order["id"])
    assert not in_filter(settings, "hotline01", "督办", task["id"])
    wait_until(lambda: card(as_user, "dulou01", task)["overdue"] is True,
               what="the overdue mark on the unit's card")


def test_co_unit_finds_its_opinion_under_xieban(appeals, settings):
    number = appeals.submit()
    appeals.handle_to_reply(number)
    assist = appeals.task(number, "housing01", "Task_AssistAppeal")
    assert in_filter(settings, "housing01", "协办", assist["id"])
    assert not in_filter(settings, "housing01", "我的待签收", assist["id"])
    assert not in_filter(settings, "fengcheng01", "协办", assist["id"])


def set_due(engine, task_id: str, due: dt.datetime) -> None:
    task = engine.get(f"/task/{task_id}")
    engine.rest("PUT", f"/task/{task_id}", json={
        key: task[key] for key in ("name", "description", "assignee", "owner",
                                   "delegationState", "followUp", "priority",
                                   "parentTaskId", "caseInstanceId", "tenantId")
    } | {"due": due.strftime("%Y-%m-%dT%H:%M:%S.000%z")})
