"""The duty leaders' daily digest (领导接听件日报): on the real engine, appeals registered during
the latest duty slot of the shipped roster, the digest process's timer fired through the job API,
the digest received by a local SMTP server and a local robot webhook."""
from __future__ import annotations

import datetime as dt

import pytest
import yaml

from connectors import NotificationsError, Notifier, Outbox, load_config
from deploy.deployment import deploy
from admin_data.environment import REPO_ROOT
from external_tasks import daily_run, duty_digest, notify
from external_tasks.camunda import EngineClient, LockedTask, from_typed
from external_tasks.runtime import TaskRouter
from admin_data.duty_roster import DutySlot, load_roster
from admin_data.workdays import SHANGHAI
from tests.appeal_driver import AppealDriver
from tests.conftest import wait_until
from tests.helpers import run_daily_process_now
from tests.local_servers import RecordingSleep, server_env, write_config

DIGEST_MODEL = REPO_ROOT / "bpmn" / "hotline_duty_digest.bpmn"
#: The real model deployed under a test key, so that this test's worker, not the stack's
#: (which serves hotline_duty_digest with the shipped configuration), takes its task.
TEST_KEY = "test_duty_digest"
CALLER_PHONE = "13955556666"


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def slot(day: int, leader: str, start: int = 9) -> DutySlot:
    return DutySlot(leader, at(2026, 12, day, start), at(2026, 12, day, start + 1))


ROSTER = (slot(1, "leaderrural"), slot(1, "leadersocial", start=15), slot(2, "leaderpolice"),
          slot(4, "leadercppcc"))


# -- which day, which leaders -----------------------------------------------------------------

@pytest.mark.parametrize("moment, day", [
    (at(2026, 12, 2, 10, 30), dt.date(2026, 12, 2)),   # the daily run after the slot
    (at(2026, 12, 2, 9, 30), dt.date(2026, 12, 1)),    # slot still running: the day before
    (at(2026, 12, 3, 10, 30), dt.date(2026, 12, 2)),   # a day without slots: the last duty day
    (at(2026, 12, 1, 9, 59), None),                     # no slot has ended yet
])
def test_the_digest_covers_the_latest_duty_day(moment, day):
    assert duty_digest.latest_duty_day(moment, ROSTER) == day


def test_only_leaders_whose_slot_ended_are_on_the_digest():
    assert duty_digest.leaders_on_duty(dt.date(2026, 12, 1), at(2026, 12, 1, 10, 30),
                                       ROSTER) == ["leaderrural"]
    assert duty_digest.leaders_on_duty(dt.date(2026, 12, 1), at(2026, 12, 1, 16, 0),
                                       ROSTER) == ["leaderrural", "leadersocial"]


# -- configuration ------------------------------------------------------------------------------

def config_file(tmp_path, leaders: dict, templates: dict | None = None):
    path = write_config(tmp_path, templates=templates)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    path.write_text(yaml.safe_dump(data | {"leaders": leaders}, allow_unicode=True),
                    encoding="utf-8")
    return path


@pytest.mark.parametrize("leaders, templates, message", [
    ({"nobody": {"email": ["a@example.cn"]}}, None,
     "leaders.nobody: 目录中没有县领导 'nobody'"),
    ({}, {"leader_bad": {"audience": "leader", "subject": "{appealNumber}", "text": "x"}},
     "templates.leader_bad.subject: 未知占位符 {appealNumber}"),
    ({}, {"leader_bad": {"audience": "leader", "text": "{appealList}"}},
     "templates.leader_bad.subject: 单位消息需要主题"),
])
def test_bad_leader_channels_and_templates_are_named(tmp_path, leaders, templates, message):
    with pytest.raises(NotificationsError, match=message):
        load_config(config_file(tmp_path, leaders, templates))


# -- on the engine ------------------------------------------------------------------------------

def latest_ended_slot() -> DutySlot:
    now = dt.datetime.now(SHANGHAI)
    ended = [slot for slot in load_roster() if slot.end <= now]
    assert ended, "the shipped roster has no slot that has ended: add one to duty_roster.yaml"
    return max(ended, key=lambda slot: slot.end)


@pytest.fixture
def digest_notifier(tmp_path, smtp, gateway):
    """Every county leader reachable by e-mail and robot, through the local servers."""
    leaders = {leader: {"email": [f"{leader}@example.cn"],
                        "webhook": {"url": gateway.url(f"/robot/{leader}"), "format": "text"}}
               for leader in ("leadersecretary", "leadermagistrate", "leaderexecutive",
                              "leaderurban", "leaderrural", "leadersocial", "leaderpolice",
                              "leadercongress", "leadercppcc")}
    config = load_config(config_file(tmp_path, leaders), env=server_env(smtp=smtp))
    notifier = Notifier(config, Outbox(tmp_path / "sent-log.sqlite3", lease_s=5),
                        sleep=RecordingSleep())
    notify.use_notifier(notifier)
    yield notifier
    notify.use_notifier(None)


@pytest.fixture
def digest_process(engine, tmp_path):
    path = tmp_path / f"{TEST_KEY}.bpmn"
    path.write_text(DIGEST_MODEL.read_text(encoding="utf-8").replace(
        '"hotline_duty_digest"', f'"{TEST_KEY}"'), encoding="utf-8")
    deploy(engine, [path], root=tmp_path, name="suban-tests-duty-digest")
    return TEST_KEY


def fire_digest_timer(engine: EngineClient, key: str) -> dict:
    """Fire the digest's midnight start through the job API, then its run time (now); the
    instance it started once done, with `runDue`: when the run was planned for."""
    [job] = engine.get("/job", processDefinitionKey=key, timers="true")
    before = {instance["id"] for instance in engine.get("/history/process-instance",
                                                         processDefinitionKey=key)}
    engine.post(f"/job/{job['id']}/execute")
    [started] = [instance for instance in engine.get("/history/process-instance",
                                                     processDefinitionKey=key)
                 if instance["id"] not in before]
    planned = run_daily_process_now(engine, started["id"])
    return wait_until(lambda: (done := engine.get(f"/history/process-instance/{started['id']}"))
                      ["state"] == "COMPLETED" and done, what="the digest process to end") | {
        "runDue": dt.datetime.fromisoformat(planned).astimezone(SHANGHAI), "started": engine_time(started["startTime"])}


def engine_time(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(SHANGHAI)


def variable(engine: EngineClient, instance_id: str, name: str):
    [found] = engine.get("/history/variable-instance", processInstanceId=instance_id,
                         variableName=name, deserializeValues="false")
    return from_typed(found)


def test_the_duty_leader_gets_the_day_s_appeals_once(settings, engine, as_user, run_worker,
                                                   digest_process, digest_notifier, smtp,
                                                   gateway):
    duty = latest_ended_slot()
    appeals = AppealDriver(settings, engine, as_user)
    received = [appeals.submit(receivedAt=(duty.start + dt.timedelta(minutes=minutes)).isoformat(),
                               title=f"坐班接听诉求{minutes}", callerName="赵大海",
                               callerPhone=CALLER_PHONE)
                for minutes in (12, 31)]
    after_slot = appeals.submit(receivedAt=duty.end.isoformat(), title="坐班结束后的诉求")
    for number in (*received, after_slot):
        wait_until(lambda: appeals.status(number)["variables"].get("leaderReceived") is not None,
                   what=f"{number} to be registered")

    router = TaskRouter()
    for topics in (daily_run.router, duty_digest.router):
        router.include(topics)
    run_worker(router, process_definition_keys=(digest_process,))
    first = fire_digest_timer(engine, digest_process)

    # Planned for 10:30 of the start's day (hotline.yaml daily.duty_digest), run now.
    assert first["runDue"] == dt.datetime.combine(first["started"].date(), dt.time(10, 30),
                                                  SHANGHAI)
    day = duty.start.date()
    assert variable(engine, first["id"], "digestDay") == day.isoformat()
    mails = [mail for recipients, mail in smtp.messages if recipients == [f"{duty.leader}@example.cn"]]
    [mail] = mails
    text = mail.get_content()
    assert mail["Subject"].startswith(f"【宿事速办·坐班日报】{day.year}年{day.month}月{day.day}日")
    lines = [line for line in text.splitlines() if line[:1].isdigit()]
    assert f"领导接听件{len(lines)}件" in mail["Subject"]
    for number, minutes in zip(received, (12, 31)):
        [line] = [line for line in lines if number in line]
        assert f"坐班接听诉求{minutes}｜凤城街道｜" in line
        assert "｜办理中" in line or "｜已办结" in line
        assert "来电人：赵** 139****6666" in line
    assert after_slot not in text
    [robot] = gateway.to(f"/robot/{duty.leader}")
    assert received[0] in robot["body"]["text"]["content"]
    for recipients, mail in smtp.messages:
        assert CALLER_PHONE not in mail["Subject"] + mail.get_content()
        assert "赵大海" not in mail.get_content()
    assert CALLER_PHONE not in robot["raw"]
    assert variable(engine, first["id"], "lastNotification").startswith(
        "leader_duty_digest → ")

    # The timer fires again the same day (e.g. re-fired by an operator): nothing is sent twice.
    sent = (len(smtp.messages), len(gateway.requests))
    second = fire_digest_timer(engine, digest_process)
    assert variable(engine, second["id"], "digestDay") == day.isoformat()
    assert (len(smtp.messages), len(gateway.requests)) == sent
    assert "0 sent" in variable(engine, second["id"], "lastNotification")

    # The first task delivered again (its completion lost): still nothing.
    worker = EngineClient(settings.engine_rest_url, settings.worker_user, settings.worker_password)
    redelivered = LockedTask(
        id="redelivered", topic="send-duty-digest", business_key=None,
        process_instance_id=first["id"], process_definition_key=digest_process,
        activity_id="Task_SendDutyDigest", activity_instance_id="Task_SendDutyDigest:again",
        retries=None, variables={}, create_time=None, lock_expiration=None,
        extension_properties={})
    result = duty_digest.router.handlers["send-duty-digest"].call(redelivered, worker)
    assert result["digestDay"] == day.isoformat() and "0 sent" in result["lastNotification"]
    assert (len(smtp.messages), len(gateway.requests)) == sent


def test_a_duty_leader_without_appeals_is_told_so(digest_notifier, smtp):
    fields = duty_digest.digest_fields(dt.date(2026, 12, 2), [], digest_notifier.config.directory)
    digest_notifier.notify_leaders(duty_digest.TEMPLATE, {"leaderpolice": fields},
                                   scope="duty-digest:2026-12-02")
    [(recipients, mail)] = smtp.messages
    assert recipients == ["leaderpolice@example.cn"]
    assert mail["Subject"] == "【宿事速办·坐班日报】2026年12月2日 领导接听件0件"
    assert mail.get_content().startswith("副县长、公安局长：")
    assert duty_digest.NO_APPEALS in mail.get_content()


def test_the_shipped_digest_starts_at_midnight_in_shanghai(engine):
    """At midnight, then it waits for the time of the hotline settings (see above)."""
    [job] = engine.get("/job", processDefinitionKey="hotline_duty_digest", timers="true",
                       activityId="StartEvent_DutySlotsOver")
    due = engine_time(job["dueDate"])
    assert (due.hour, due.minute) == (0, 0)
    assert dt.timedelta(0) < due - dt.datetime.now(SHANGHAI) <= dt.timedelta(days=1)
