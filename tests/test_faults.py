"""Faults on a stack of our own (127.0.0.1 only): a worker killed while it holds tasks, the
engine killed during a load of appeals, an SMS gateway that fails and hangs. Nothing is lost and
no message goes out twice."""
from __future__ import annotations

import dataclasses
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from connectors import Outbox, sent_log_path
from console.outbox import IntakeOutbox, SETTLE_S, STARTED, outbox_path
from cli import operations
from deploy import stack
from deploy.postgres import LocalPostgres
from admin_data.environment import Settings
from tests.appeal_driver import unique_phone
from tests.appeal_load import (
    APPEAL, ENGINE, WORKERS, caller_sms_by_number, instances_by_number, kill_hard, new_numbers,
    start_appeal, wait_for_expected_state)
from tests.local_servers import CALLER_SMS
from tests.conftest import free_port, stack_settings, wait_until
from external_tasks.appeal import APPEAL_PROCESS
from external_tasks.camunda import EngineClient

[CONSOLE] = (item for item in stack.COMPONENTS if item.name == "console")
#: Short locks and quick retries, so that a fault heals within a test.
FAST_WORKERS = {"SUBAN_WORKER_LOCK_MS": "4000", "SUBAN_WORKER_LONG_POLL_MS": "2000",
                "SUBAN_WORKER_RETRIES": "3", "SUBAN_WORKER_BACKOFF_MS": "500",
                "SUBAN_WORKER_BACKOFF_MAX_MS": "4000"}


@pytest.fixture(scope="module")
def own_stack(tmp_path_factory, sms_gateway) -> Settings:
    """Engine and console of this module; each test starts the workers it needs. PostgreSQL,
    as in production (the README holds real appeals on PostgreSQL, the H2 file is the demo's)."""
    with LocalPostgres(free_port()) as database:
        settings = stack_settings(tmp_path_factory.mktemp("faults"), **database.engine_env(),
                                  **FAST_WORKERS)
        try:
            stack.start(settings, ENGINE)
            operations.deploy_models(settings)
            operations.sync_directory(settings)
            stack.start(settings, CONSOLE)
            yield settings
        finally:
            for item in reversed(stack.COMPONENTS):
                stack.stop(settings, item)


@pytest.fixture
def workers(own_stack):
    """Start the stack's worker process (again: as systemd restarts it) through `settings`."""
    def start(settings: Settings = own_stack) -> int:
        return stack.start(settings, WORKERS)[0].pid
    yield start
    stack.stop(own_stack, WORKERS)


class CompletionHoldingProxy:
    """Between a worker and the engine: passes every call on, except the completion of a task
    of `held_topic`, which it keeps unanswered, so the worker dies with the task in hand after
    its handler ran (for a notification: after the message went out)."""

    def __init__(self, engine_port: int, held_topic: str):
        self.topics: dict[str, str] = {}  # task id → topic, learnt from fetch-and-lock answers
        self.held: set[str] = set()
        self._release = threading.Event()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _forward(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                parts = self.path.split("/")
                if self.command == "POST" and parts[-1] == "complete" and \
                        proxy.topics.get(parts[-2]) == held_topic:
                    proxy.held.add(parts[-2])
                    proxy._release.wait()
                    self.close_connection = True
                    return
                answer = requests.request(
                    self.command, f"http://127.0.0.1:{engine_port}{self.path}", data=body,
                    headers={name: value for name, value in self.headers.items()
                             if name in ("Authorization", "Content-Type", "Accept")}, timeout=60)
                if self.path.endswith("/fetchAndLock") and answer.ok:
                    proxy.topics.update({task["id"]: task["topicName"] for task in answer.json()})
                try:
                    self.send_response(answer.status_code)
                    self.send_header("Content-Type",
                                     answer.headers.get("Content-Type", "text/plain"))
                    self.send_header("Content-Length", str(len(answer.content)))
                    self.end_headers()
                    self.wfile.write(answer.content)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the worker was killed while its call was under way

            do_GET = do_POST = do_PUT = do_DELETE = _forward

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                         daemon=True).start()

    def close(self) -> None:
        self._release.set()
        self.server.shutdown()
        self.server.server_close()


def test_killed_worker_tasks_are_taken_again_after_their_lock_and_sms_go_out_once(
        own_stack, workers, sms_gateway):
    engine = EngineClient.as_admin(own_stack)
    proxy = CompletionHoldingProxy(own_stack.engine_port, held_topic="send-notification")
    try:
        doomed = workers(dataclasses.replace(own_stack, engine_port=proxy.port))
        numbers = new_numbers("FW", 6)
        for number in numbers:
            start_appeal(engine, number)
        # Each appeal has two notification tasks (the caller's receipt, the unit's notice),
        # held in whatever order they run: wait for every caller SMS and at least as many holds.
        wait_until(lambda: caller_sms_by_number(sms_gateway, numbers) == dict.fromkeys(numbers, 1)
                   and len(proxy.held) >= len(numbers), timeout=90, interval=0.5,
                   what="the worker to hold every appeal's caller SMS task, SMS sent")
        kill_hard(own_stack, "workers")
    finally:
        proxy.close()

    successor = workers()  # straight to the engine, as systemd restarts it
    wait_for_expected_state(engine, numbers, timeout=90)
    assert set(instances_by_number(engine, numbers).values()) == {1}
    assert caller_sms_by_number(sms_gateway, numbers) == dict.fromkeys(numbers, 1), \
        "an SMS went out twice"
    for task_id in proxy.held:  # done by the successor once the dead worker's lock ran out
        # A held notification runs beside the main path: the appeal can reach its expected
        # state before the successor has taken it up.
        [done] = wait_until(lambda: engine.get("/history/external-task-log", externalTaskId=task_id,
                                               successLog="true"), timeout=90,
                            what="the successor to complete the dead worker's held task")
        assert done["workerId"].endswith(f"-{successor}") and str(doomed) not in done["workerId"]
    sent_log = Outbox(sent_log_path(own_stack))
    for instance in engine.post("/history/process-instance", {
            "processDefinitionKey": APPEAL_PROCESS, "processInstanceBusinessKeyIn": numbers}):
        [row] = [row for row in sent_log.entries(f"{instance['id']}:")
                 if row["template"] == "caller_received"]
        assert (row["status"], row["attempts"]) == ("sent", 1)


def post_appeal(settings: Settings) -> tuple[int, str]:
    response = requests.post(f"{settings.console_url}/api/v1/appeals", timeout=30,
                             json=APPEAL | {"callerPhone": unique_phone()},
                             headers={"Authorization": f"Bearer {settings.api_token}"})
    assert response.status_code in (201, 202), response.text
    return response.status_code, response.json()["appealNumber"]


def test_engine_killed_during_a_load_every_appeal_arrives_once(own_stack, workers, sms_gateway):
    """N appeals through the console; the engine dies after the first few; the rest are queued
    (202). After the restart the console's relay starts them, the workers redo what they held."""
    workers()
    engine = EngineClient.as_admin(own_stack)
    answers: list[tuple[int, str]] = []

    def load():
        for _ in range(20):
            answers.append(post_appeal(own_stack))
    loader = threading.Thread(target=load)
    loader.start()
    wait_until(lambda: len(answers) >= 5, timeout=60, what="the first appeals of the load")
    kill_hard(own_stack, "engine")
    loader.join(timeout=300)
    numbers = [number for _, number in answers]
    assert len(numbers) == 20 and any(status == 202 for status, _ in answers)

    stack.start(own_stack, ENGINE)
    outbox = IntakeOutbox(outbox_path(own_stack))
    # A start cut off by the kill may have committed: the relay looks at it again SETTLE_S later.
    wait_until(lambda: all(outbox.entry(number)["status"] == STARTED for number in numbers),
               timeout=SETTLE_S + 60, interval=1,
               what="the console's relay to start every queued appeal")
    wait_for_expected_state(engine, numbers, timeout=180)
    assert set(instances_by_number(engine, numbers).values()) == {1}, "one process an appeal"
    assert caller_sms_by_number(sms_gateway, numbers) == dict.fromkeys(numbers, 1)


def worker_log(settings: Settings) -> list[dict]:
    lines = (settings.log_dir / "workers.log").read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


def test_failing_and_hanging_gateway_incident_then_one_sms_after_the_retry(
        own_stack, workers, sms_gateway):
    """The gateway answers 500 or hangs past the connector's timeout (10 s, the shipped
    notifications.yaml): retries with backoff within each delivery and between the task's
    attempts, then an incident. Once the gateway answers again, the operator's retry sends once."""
    workers()
    engine = EngineClient.as_admin(own_stack)
    task_attempts, calls_per_attempt = int(own_stack.worker_retries), 3
    sms_gateway.fail_next(1, status=500, path=CALLER_SMS)
    sms_gateway.hang_next(1, seconds=11.0, path=CALLER_SMS)
    sms_gateway.fail_next(calls_per_attempt * task_attempts - 2, status=500, path=CALLER_SMS)
    log_start = len(worker_log(own_stack))
    [number] = new_numbers("FG", 1)
    instance_id = start_appeal(engine, number)
    [incident] = wait_until(lambda: engine.get("/incident", processInstanceId=instance_id),
                            timeout=120, interval=0.5, what="an incident")
    assert "DeliveryFailed" in incident["incidentMessage"]
    mine = [request for request in sms_gateway.to(CALLER_SMS)
            if request["body"]["params"].get("appealNumber") == number]
    assert [request["status"] for request in mine] == [500, "hung"] + [500] * 7
    assert len({request["headers"]["Idempotency-Key"] for request in mine}) == 1
    failures = engine.get("/history/external-task-log", processInstanceId=instance_id,
                          failureLog="true", topicName="send-notification")
    assert len(failures) == task_attempts
    log = worker_log(own_stack)[log_start:]
    within_delivery = [entry["message"].split("retrying in ")[1] for entry in log
                       if entry["logger"] == "suban.connectors" and "retrying in" in entry["message"]]
    assert within_delivery == ["1.00 s", "2.00 s"] * task_attempts  # notifications.yaml backoff
    between_attempts = [entry["message"].split("next in ")[1] for entry in log
                        if entry.get("business_key") == number and "retries left" in entry["message"]]
    assert between_attempts == ["500 ms", "1000 ms"]  # SUBAN_WORKER_BACKOFF_MS, doubling

    task = engine.get("/external-task", processInstanceId=incident["processInstanceId"])[0]
    engine.rest("PUT", f"/external-task/{task['id']}/retries", json={"retries": 1})
    wait_for_expected_state(engine, [number], timeout=60)  # the SMS branch never held it up
    wait_until(lambda: caller_sms_by_number(sms_gateway, [number]) == {number: 1}, timeout=60,
               what="the one SMS after the retry")
    assert engine.get("/incident", processInstanceId=instance_id) == []
