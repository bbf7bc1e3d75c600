"""The `send-notification` worker: on the real engine with the SMS gateway pointed at a local
server, and its handler called directly for the audiences and for a task delivered twice."""
from __future__ import annotations

import pytest

from connectors import Notifier, Outbox, load_config
from external_tasks import notify
from external_tasks.camunda import from_typed
from tests.conftest import wait_until
from tests.local_servers import APPEAL, NAME, PHONE, RecordingSleep, write_config
from tests.helpers import locked_task

HANDLER = notify.router.handlers["send-notification"]


@pytest.fixture
def notifier_from_env(gateway, tmp_path, monkeypatch):
    """The worker's own configuration path: environment variables, then a reload."""
    monkeypatch.setenv("SUBAN_SMS_URL", gateway.url("/sms"))
    monkeypatch.setenv("SUBAN_SMS_SIGN", "萧县12345")
    monkeypatch.setenv("SUBAN_DATA_DIR", str(tmp_path))  # the sent-log goes under it
    notify.use_notifier(None)
    yield notify.current_notifier()
    notify.use_notifier(None)


@pytest.fixture
def fast_notifier(gateway, tmp_path):
    """A notifier object with quick retries and robots for the lead and co-units."""
    units = {unit: {"webhook": {"url": gateway.url(f"/robot/{unit}"), "format": "text"}}
             for unit in ("housing", "fengcheng", "market", "hotline")}
    config = load_config(write_config(tmp_path, units=units),
                         env={"SUBAN_SMS_URL": gateway.url("/sms"), "SUBAN_SMS_SIGN": "萧县12345"})
    notifier = Notifier(config, Outbox(tmp_path / "sent-log.sqlite3", lease_s=5),
                        sleep=RecordingSleep())
    notify.use_notifier(notifier)
    yield notifier
    notify.use_notifier(None)




def deliver(variables: dict, **identity) -> dict:
    """Run the handler the way the worker runtime does for a fetched task."""
    return HANDLER.call(locked_task(variables, **identity), client=None)


def current_activity(engine, instance_id):
    tasks = engine.get("/task", processInstanceId=instance_id)
    return tasks[0]["taskDefinitionKey"] if tasks else None


def notify_activity_instance(engine, instance_id) -> str:
    [activity] = engine.get("/history/activity-instance", processInstanceId=instance_id,
                            activityId="Task_Notify")
    return activity["id"]


# -- on the engine -----------------------------------------------------------------------------

def test_engine_sends_the_caller_sms_once_even_if_the_task_comes_twice(
        engine, start_instance, run_worker, gateway, notifier_from_env):
    instance = start_instance("test_notify", APPEAL)
    run_worker(notify.router)
    wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Inspect",
               what="the notification task to complete")

    [request] = gateway.to("/sms")
    activity_instance_id = notify_activity_instance(engine, instance["id"])
    key = f"{instance['id']}:{activity_instance_id}:caller_received:sms:caller"
    assert request["headers"]["Idempotency-Key"] == key
    assert request["body"]["phone"] == PHONE and request["body"]["sign"] == "萧县12345"
    assert APPEAL["appealNumber"] in request["body"]["content"]
    last = from_typed(engine.get(f"/process-instance/{instance['id']}/variables/lastNotification"))
    assert last == "caller_received → 1 sent, 0 skipped"
    assert notifier_from_env.outbox.entry(key)["status"] == "sent"

    # The same external task delivered again (e.g. its completion was lost): nothing is sent.
    again = deliver(APPEAL | {"template": "caller_received", "audience": "caller"},
                    process_instance_id=instance["id"], activity_instance_id=activity_instance_id)
    assert again == {"lastNotification": "caller_received → 0 sent, 0 skipped, 1 already sent"}
    assert len(gateway.to("/sms")) == 1


def test_failing_gateway_ends_in_an_incident_and_the_retry_sends_once(
        engine, start_instance, run_worker, gateway, fast_notifier):
    gateway.fail_next(6, status=502)  # two task attempts × three calls each
    instance = start_instance("test_notify", APPEAL)
    run_worker(notify.router, retries=2, backoff_ms=100)
    [incident] = wait_until(lambda: engine.get("/incident", processInstanceId=instance["id"]),
                            what="an incident")
    assert len(gateway.to("/sms")) == 6 and gateway.accepted("/sms") == []
    assert "DeliveryFailed" in incident["incidentMessage"]
    assert "138****5678" in incident["incidentMessage"]
    assert PHONE not in incident["incidentMessage"]

    # The gateway works again; the operator retries the incident in Cockpit.
    task = engine.get("/external-task", processInstanceId=instance["id"])[0]
    engine.rest("PUT", f"/external-task/{task['id']}/retries", json={"retries": 1})
    wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Inspect",
               what="the retried notification to complete")
    assert len(gateway.accepted("/sms")) == 1 and len(gateway.to("/sms")) == 7
    assert engine.get("/incident", processInstanceId=instance["id"]) == []


# -- the handler directly -----------------------------------------------------------------------

def test_unit_audiences_reach_the_right_units(gateway, fast_notifier):
    variables = APPEAL | {"template": "unit_dispatched"}
    assert deliver(variables | {"audience": "lead_unit"}) == {
        "lastNotification": "unit_dispatched → 1 sent, 1 skipped"}  # housing: robot, no e-mail
    assert deliver(variables | {"audience": "co_units"}) == {
        "lastNotification": "unit_dispatched → 2 sent, 2 skipped"}
    deliver(APPEAL | {"template": "hotline_alert", "audience": "hotline",
                      "alertReason": "派单超过签收时限无人签收"})
    deliver(variables | {"audience": "unit:market"}, activity_instance_id="Task_Notify:direct-2")
    assert [request["path"] for request in gateway.requests] == [
        "/robot/housing", "/robot/fengcheng", "/robot/market", "/robot/hotline", "/robot/market"]
    lead = gateway.requests[0]["body"]["text"]["content"]
    assert lead.startswith("【宿事速办·派单】") and "县住建局：" in lead
    alert = gateway.requests[3]["body"]["text"]["content"]
    assert "需要热线中心关注：派单超过签收时限无人签收" in alert
    for request in gateway.requests:
        assert PHONE not in request["raw"] and NAME not in request["raw"]


def test_appeal_without_co_units_sends_nothing(gateway, fast_notifier):
    variables = {name: value for name, value in APPEAL.items() if name != "coUnits"}
    assert deliver(variables | {"template": "unit_dispatched", "audience": "co_units"}) == {
        "lastNotification": "unit_dispatched → 0 sent, 0 skipped"}
    assert gateway.requests == []


@pytest.mark.parametrize("variables, message", [
    ({"template": "unit_dispatched", "audience": "lead_unit", "leadUnit": None},
     "流程变量 leadUnit 缺失"),
    ({"template": "unit_dispatched", "audience": "co_units", "coUnits": "housing"},
     "流程变量 coUnits 应为单位 id 的列表"),
    ({"template": "unit_dispatched", "audience": "everyone"}, "输入参数 audience 的值 'everyone' 无效"),
    ({"template": "unit_dispatched", "audience": "unit:nosuchunit"}, "目录中没有单位 'nosuchunit'"),
    ({"template": "no_such_template", "audience": "caller"}, "模板 'no_such_template' 不存在"),
    ({"template": "caller_excluded", "audience": "caller"}, "缺少流程变量 scopeReason, scopeReferral"),
])
def test_bad_model_or_data_is_an_incident_naming_the_cause(gateway, fast_notifier, variables,
                                                          message):
    with pytest.raises(Exception, match=message) as failed:
        deliver(APPEAL | variables)
    assert HANDLER.no_retry_mends(failed.value)
    assert gateway.requests == []


def test_a_refused_message_is_an_incident(gateway, fast_notifier):
    gateway.fail_next(1, status=403)
    with pytest.raises(Exception, match="refused the message: 403") as failed:
        deliver(APPEAL | {"template": "caller_received", "audience": "caller"})
    assert HANDLER.no_retry_mends(failed.value)
    assert len(gateway.to("/sms")) == 1


def test_missing_input_parameter_is_named(fast_notifier):
    with pytest.raises(KeyError, match="audience"):
        deliver(APPEAL | {"template": "caller_received"})
