"""The `alert-major-risk` worker on the real engine: an appeal naming a major risk alerts the
hotline centre and the duty leader through a local robot gateway, once; a quiet one alerts
nobody; a redelivered task sends nothing twice."""
from __future__ import annotations

import pytest
import yaml

from connectors import Notifier, Outbox, load_config
from external_tasks import notify, risk_alert
from external_tasks.camunda import from_typed
from tests.conftest import wait_until
from tests.local_servers import RecordingSleep, write_config
from tests.helpers import locked_task

DUTY_LEADER = "leaderurban"
RISKY = {"appealNumber": "XS20261127-0099", "kind": "complaint", "title": "工地围墙倒塌",
         "content": "小区旁工地围墙坍塌砸伤路人, 发生安全事故, 多名业主聚集要求说法",
         "township": "longcheng", "address": "龙城镇建设路", "callerName": "孙悟空",
         "callerPhone": "13900001111", "dutyLeader": DUTY_LEADER}


@pytest.fixture
def robots(gateway, tmp_path):
    """A notifier whose hotline centre and duty leader have a robot on the local gateway."""
    path = write_config(tmp_path, units={"hotline": {"webhook": {
        "url": gateway.url("/robot/hotline"), "format": "text"}}})
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["leaders"] = {DUTY_LEADER: {"webhook": {"url": gateway.url(f"/robot/{DUTY_LEADER}"),
                                                 "format": "text"}}}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    notifier = Notifier(load_config(path, env={}), Outbox(tmp_path / "sent.sqlite3", lease_s=5),
                        sleep=RecordingSleep())
    notify.use_notifier(notifier)
    yield gateway
    notify.use_notifier(None)


def variables_of(engine, instance_id) -> dict:
    return {name: from_typed(value) for name, value in
            engine.get(f"/process-instance/{instance_id}/variables",
                       deserializeValues="false").items()}


def alerted(engine, instance_id):
    tasks = engine.get("/task", processInstanceId=instance_id)
    return tasks and tasks[0]["taskDefinitionKey"] == "Task_Inspect"


def test_major_risk_alerts_hotline_and_duty_leader_once(engine, start_instance, run_worker,
                                                        robots):
    instance = start_instance("test_risk_alert", RISKY)
    run_worker(risk_alert.router)
    wait_until(lambda: alerted(engine, instance["id"]), what="the alert task to complete")
    variables = variables_of(engine, instance["id"])
    assert variables["majorRiskWords"] == ["聚集", "安全事故", "坍塌"]  # in the admin list's order
    [to_hotline] = robots.to("/robot/hotline")
    [to_leader] = robots.to(f"/robot/{DUTY_LEADER}")
    hotline_text, leader_text = str(to_hotline["body"]), str(to_leader["body"])
    assert RISKY["appealNumber"] in hotline_text and "安全事故" in hotline_text
    assert RISKY["appealNumber"] in leader_text and "龙城镇" in leader_text
    for text in (hotline_text, leader_text):
        assert RISKY["callerPhone"] not in text and "孙" not in text

    # The same task delivered again: nobody is alerted twice.
    [activity] = engine.get("/history/activity-instance", processInstanceId=instance["id"],
                            activityId="Task_AlertMajorRisk")
    handler = risk_alert.router.handlers["alert-major-risk"]
    again = handler.call(locked_task(RISKY, process_instance_id=instance["id"],
                                     activity_instance_id=activity["id"]), client=None)
    assert again["majorRiskWords"] == variables["majorRiskWords"]
    assert len(robots.to("/robot/hotline")) == 1 and len(robots.to(f"/robot/{DUTY_LEADER}")) == 1


def test_appeal_without_risk_words_alerts_nobody(engine, start_instance, run_worker, robots):
    quiet = RISKY | {"title": "路灯不亮", "content": "村口路灯坏了一个月", "address": "",
                     "dutyLeader": ""}
    instance = start_instance("test_risk_alert", quiet)
    run_worker(risk_alert.router)
    wait_until(lambda: alerted(engine, instance["id"]), what="the alert task to complete")
    assert variables_of(engine, instance["id"])["majorRiskWords"] == []
    assert robots.requests == []


def test_without_a_duty_leader_only_the_hotline_centre_is_alerted(robots):
    handler = risk_alert.router.handlers["alert-major-risk"]
    result = handler.call(locked_task(RISKY | {"dutyLeader": ""}, activity_instance_id="a-2"),
                          client=None)
    assert result["majorRiskWords"] and result["lastNotification"].startswith(
        "hotline_major_risk → 1 sent")
    assert len(robots.to("/robot/hotline")) == 1 and robots.to(f"/robot/{DUTY_LEADER}") == []


def test_words_split_by_spaces_are_still_found():
    assert risk_alert.risk_words_in(["发生 安全 事故"], ("安全事故", "群体性")) == ["安全事故"]
    assert risk_alert.risk_words_in([None, ""], ("安全事故",)) == []
