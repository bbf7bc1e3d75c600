"""The worker runtime against the real engine: complete, BPMN error, retries → incident,
lock extension, graceful stop and structured logs."""
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from external_tasks.camunda import EngineClient, EngineError, LockedTask, from_typed
from external_tasks.runtime import (BpmnError, JsonLogFormatter, TaskRouter, WorkerOptions,
                                    retry_backoff_ms, retry_on_conflict)
from tests.conftest import TESTS, wait_until


def current_activity(engine, instance_id):
    tasks = engine.get("/task", processInstanceId=instance_id)
    return tasks[0]["taskDefinitionKey"] if tasks else None


def variables(engine, instance_id):
    return {name: from_typed(typed) for name, typed in engine.get(
        f"/process-instance/{instance_id}/variables", deserializeValues="false").items()}


def test_plain_function_reads_and_sets_variables(engine, start_instance, run_worker):
    router = TaskRouter()
    seen = []

    @router.task("test-echo")
    def echo(title: str, count: int, task: LockedTask, engine: EngineClient,
             missing_is_fine: str = "默认"):
        seen.append((task.business_key, missing_is_fine, engine.get("/version")["version"]))
        return {"echoed": f"{title}×{count}", "tags": ["a", "b"], "twice": count * 2}

    instance = start_instance("test_echo", {"title": "路灯不亮", "count": 21})
    run_worker(router)
    wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Inspect",
               what="the echo task to complete")
    values = variables(engine, instance["id"])
    assert values["echoed"] == "路灯不亮×21"
    assert values["twice"] == 42
    assert values["tags"] == ["a", "b"]  # a Json variable
    assert seen == [(instance["businessKey"], "默认", "7.24.0")]


def test_bpmn_error_takes_the_modelled_path(engine, start_instance, run_worker):
    router = TaskRouter()

    @router.task("test-check")
    def check(documents: str):
        if documents == "缺失":
            raise BpmnError("REJECTED", "材料不全", {"rejectReason": "缺少身份证明"})
        return {"checked": True}

    rejected = start_instance("test_outcomes", {"documents": "缺失"})
    accepted = start_instance("test_outcomes", {"documents": "齐全"})
    run_worker(router)
    wait_until(lambda: current_activity(engine, rejected["id"]) == "Task_Rejected",
               what="the error boundary path")
    wait_until(lambda: current_activity(engine, accepted["id"]) == "Task_Accepted",
               what="the normal path")
    values = variables(engine, rejected["id"])
    assert values["rejectReason"] == "缺少身份证明"
    assert values["errorCode"] == "REJECTED"
    assert values["errorMessage"] == "材料不全"
    assert engine.get("/incident", processInstanceId=rejected["id"]) == []


def test_fault_is_retried_with_backoff_then_becomes_an_incident(engine, start_instance,
                                                                run_worker):
    router = TaskRouter()
    attempts = []

    @router.task("test-check", retries=3)
    def check(documents: str):
        attempts.append(time.monotonic())
        raise ConnectionError("短信网关无响应")

    instance = start_instance("test_outcomes", {"documents": "齐全"})
    run_worker(router, backoff_ms=300)
    incidents = wait_until(lambda: engine.get("/incident", processInstanceId=instance["id"]),
                           what="an incident")
    assert len(attempts) == 3
    assert incidents[0]["incidentType"] == "failedExternalTask"
    assert "ConnectionError: 短信网关无响应" in incidents[0]["incidentMessage"]
    # Backoff doubles: ≥ 0.3 s before the second attempt, ≥ 0.6 s before the third.
    assert attempts[1] - attempts[0] >= 0.29
    assert attempts[2] - attempts[1] >= 0.59
    task = engine.get("/external-task", processInstanceId=instance["id"])[0]
    assert task["retries"] == 0
    details = engine.rest("GET", f"/external-task/{task['id']}/errorDetails", expect_json=False)
    assert "Traceback" in details and "短信网关无响应" in details


def test_missing_variable_is_a_fault_naming_it(engine, start_instance, run_worker):
    router = TaskRouter()

    @router.task("test-check", retries=1)
    def check(documents: str, applicant: str):
        return {}

    instance = start_instance("test_outcomes", {"documents": "齐全"})
    run_worker(router)
    incidents = wait_until(lambda: engine.get("/incident", processInstanceId=instance["id"]),
                           what="an incident")
    assert "applicant" in incidents[0]["incidentMessage"]


def test_incident_retried_from_cockpit_runs_again(engine, start_instance, run_worker):
    router = TaskRouter()
    healthy = threading.Event()

    @router.task("test-check", retries=1)
    def check(documents: str):
        if not healthy.is_set():
            raise RuntimeError("下游系统暂不可用")
        return {"checked": True}

    instance = start_instance("test_outcomes", {"documents": "齐全"})
    run_worker(router)
    wait_until(lambda: engine.get("/incident", processInstanceId=instance["id"]),
               what="an incident")
    healthy.set()
    task = engine.get("/external-task", processInstanceId=instance["id"])[0]
    engine.rest("PUT", f"/external-task/{task['id']}/retries", json={"retries": 1})
    wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Accepted",
               what="the retried task to complete")
    assert engine.get("/incident", processInstanceId=instance["id"]) == []


def test_slow_handler_keeps_its_lock(engine, start_instance, run_worker):
    router = TaskRouter()
    calls = []

    @router.task("test-echo", lock_ms=3_000)
    def slow(title: str):
        calls.append(title)
        time.sleep(7)
        return {"echoed": title}

    instance = start_instance("test_echo", {"title": "慢", "count": 1})
    worker = run_worker(router)
    # A second worker on the same topic would take the task if its lock ran out.
    rival_router = TaskRouter()
    rival_router.task("test-echo")(slow)
    run_worker(rival_router)
    wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Inspect", timeout=30,
               what="the slow task to complete")
    assert calls == ["慢"]
    assert worker.options.worker_id


def test_stop_finishes_running_handlers_and_unlocks_the_rest(engine, start_instance, run_worker):
    router = TaskRouter()
    started, release = threading.Event(), threading.Event()

    @router.task("test-echo")
    def blocking(title: str):
        started.set()
        release.wait(10)
        return {"echoed": title}

    first = start_instance("test_echo", {"title": "一", "count": 1})
    worker = run_worker(router, concurrency=1, max_tasks=1)
    assert started.wait(20)
    second = start_instance("test_echo", {"title": "二", "count": 1})
    worker.stop()
    release.set()
    wait_until(lambda: current_activity(engine, first["id"]) == "Task_Inspect",
               what="the running handler to finish")
    # The second task was never taken, or was unlocked on the way out.
    time.sleep(1.5)
    pending = engine.get("/external-task", processInstanceId=second["id"])
    assert pending and pending[0]["lockExpirationTime"] is None


def test_sigterm_stops_a_worker_process_gracefully(settings, engine, start_instance, tmp_path):
    instance = start_instance("test_echo", {"title": "终止", "count": 1})
    started = tmp_path / "handler-started"
    env = os.environ | settings.to_env() | {"SLOW_WORKER_STARTED": str(started)}
    process = subprocess.Popen([sys.executable, str(TESTS / "slow_worker.py")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(started.exists, what="the worker's handler to start")
    process.send_signal(signal.SIGTERM)  # while the handler runs: it must finish, not be cut off
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    assert current_activity(engine, instance["id"]) == "Task_Inspect", output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    completed = [line for line in lines if line["message"].startswith("completed")]
    assert completed and completed[0]["business_key"] == instance["businessKey"]
    assert completed[0]["topic"] == "test-echo" and completed[0]["task_id"]
    assert any(line["message"] == "worker stopped" for line in lines)


def test_json_log_lines_carry_task_fields():
    record = logging.LogRecord("suban.worker", logging.INFO, __file__, 1, "completed in %d ms",
                               (12,), None)
    record.task_id, record.topic, record.business_key = "t-1", "route-appeal", "XS20261127-0001"
    entry = json.loads(JsonLogFormatter().format(record))
    assert entry == entry | {"message": "completed in 12 ms", "task_id": "t-1",
                             "topic": "route-appeal", "business_key": "XS20261127-0001",
                             "level": "INFO"}


def test_backoff_doubles_up_to_the_cap():
    options = WorkerOptions(backoff_ms=500, backoff_max_ms=3_000)
    assert [retry_backoff_ms(n, options) for n in (1, 2, 3, 4, 5)] == [500, 1000, 2000, 3000, 3000]


def test_a_topic_cannot_have_two_handlers():
    router = TaskRouter()
    router.task("x")(lambda: None)
    with pytest.raises(ValueError, match="topic 'x' has two handlers"):
        router.task("x")(lambda: None)


def test_wrong_worker_password_names_the_problem(settings):
    from external_tasks.camunda import EngineError

    client = EngineClient(settings.engine_rest_url, "nosuchworker", "wrong")
    with pytest.raises(EngineError, match="401"):
        client.get("/external-task")


def test_incident_error_skips_the_retries(engine, start_instance, run_worker):
    from external_tasks.runtime import IncidentError

    router = TaskRouter()
    attempts = []

    @router.task("test-check", retries=5)
    def check(documents: str):
        attempts.append(documents)
        raise IncidentError("2027 年节假日数据缺失: 请在 holidays.yaml 中补充")

    instance = start_instance("test_outcomes", {"documents": "齐全"})
    run_worker(router)
    incidents = wait_until(lambda: engine.get("/incident", processInstanceId=instance["id"]),
                           what="an incident")
    assert attempts == ["齐全"]
    assert "2027 年节假日数据缺失" in incidents[0]["incidentMessage"]


def test_a_kwargs_handler_fetches_only_the_named_variables():
    router = TaskRouter()

    @router.task("render", variables=["title", "leadUnit"])
    def render(template: str, **variables):
        return {}

    @router.task("everything")
    def everything(**variables):
        return {}

    assert router.handlers["render"].variables == ("template", "title", "leadUnit")
    assert router.handlers["everything"].variables is None


#: How the engine answers a completion that lost a race: optimistic locking, or (H2 under load)
#: a deadlock the database broke, which the REST answer names only by its code.
CONFLICT_ANSWERS = {
    "optimistic locking": EngineError(
        "the engine failed: ENGINE-03005 Entity was updated by another transaction concurrently.",
        500, {"type": "OptimisticLockingException", "code": 1}),
    "deadlock": EngineError(
        'the engine failed: {"type":"ProcessEnginePersistenceException","message":"An exception '
        'occurred in the persistence layer. Please check the server logs for a detailed message '
        'and the entire exception stack trace.","code":10000}', 500),
}


class ConflictingClient(EngineClient):
    """The engine client, except that its first completions meet a concurrent change, as when
    a parallel branch of the same appeal commits at the same moment."""

    def __init__(self, *args, conflicts: int, answer: EngineError, **kwargs):
        super().__init__(*args, **kwargs)
        self.conflicts_left = conflicts
        self.answer = answer
        self.completions = 0

    def send(self, request):
        if type(request).__name__ == "Complete":
            self.completions += 1
            if self.conflicts_left:
                self.conflicts_left -= 1
                raise self.answer
        return super().send(request)


@pytest.mark.parametrize("conflicts, handed_back, answer", [
    (2, False, "optimistic locking"), (2, False, "deadlock"), (5, True, "optimistic locking")])
def test_a_conflicting_completion_is_sent_again_then_handed_back(
        engine, settings, start_instance, run_worker, conflicts, handed_back, answer):
    router = TaskRouter()
    runs = []

    @router.task("test-echo")
    def echo(title: str, count: int):
        runs.append(title)
        return {"echoed": title}

    client = ConflictingClient(settings.engine_rest_url, settings.worker_user,
                             settings.worker_password, conflicts=conflicts,
                             answer=CONFLICT_ANSWERS[answer])
    instance = start_instance("test_echo", {"title": "井盖缺失", "count": 1})
    run_worker(router, client, long_poll_ms=500)
    wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Inspect",
               what="the echo task to complete despite the conflicts")
    # A few conflicts cost a second completion of the same run; more hand the task back, and it
    # runs again (retries untouched, no incident).
    assert runs == ["井盖缺失"] * (2 if handed_back else 1)
    assert client.completions == conflicts + 1
    assert variables(engine, instance["id"])["echoed"] == "井盖缺失"
    assert engine.get("/incident", processInstanceId=instance["id"]) == []


def test_retry_on_conflict_makes_the_call_again_only_for_conflicts():
    answers = [CONFLICT_ANSWERS["deadlock"], CONFLICT_ANSWERS["optimistic locking"], "done"]

    def call():
        answer = answers.pop(0)
        if isinstance(answer, EngineError):
            raise answer
        return answer

    assert retry_on_conflict(call, pause_s=0) == "done" and answers == []

    refused = EngineError("POST /task/1/submit-form → 400: field missing", 400, {"code": 0})
    calls = []

    def failing(error):
        def call():
            calls.append(1)
            raise error
        return call

    with pytest.raises(EngineError, match="field missing"):
        retry_on_conflict(failing(refused), pause_s=0)
    assert calls == [1]  # not a conflict: no second try

    calls.clear()
    with pytest.raises(EngineError, match="ENGINE-03005"):
        retry_on_conflict(failing(CONFLICT_ANSWERS["optimistic locking"]), attempts=3, pause_s=0)
    assert calls == [1, 1, 1]


class FetchCountingClient(EngineClient):
    """The engine client, noting for each fetch-and-lock how many tasks it asked for and got."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fetches: list[tuple[int, int]] = []

    def send(self, request):
        answer = super().send(request)
        if type(request).__name__ == "FetchAndLock":
            self.fetches.append((request.max_tasks, len(answer)))
        return answer


def test_a_backlog_is_fetched_in_batches_and_queued_for_the_handler_slots(
        engine, settings, start_instance, run_worker):
    router = TaskRouter()
    running, most_at_once, done = [], [], []
    guard = threading.Lock()

    @router.task("test-echo")
    def echo(title: str):
        with guard:
            running.append(title)
            most_at_once.append(len(running))
        time.sleep(0.1)
        with guard:
            running.remove(title)
            done.append(title)
        return {"echoed": title}

    instances = [start_instance("test_echo", {"title": f"积压{index}", "count": 1})
                 for index in range(12)]
    client = FetchCountingClient(settings.engine_rest_url, settings.worker_user,
                                 settings.worker_password)
    run_worker(router, client, concurrency=2, max_tasks=6)
    for instance in instances:
        wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Inspect",
                   what="every queued task to complete")
    assert sorted(done) == sorted(f"积压{index}" for index in range(12))
    assert max(most_at_once) == 2  # the slots work the queue; the rest wait their turn
    answered = [got for _, got in client.fetches if got]
    assert answered[0] == 6, client.fetches  # the first fetch locked a whole batch
    # A busy worker fetches again only once half its queue is free: never a task at a time.
    assert all(asked >= 3 for asked, _ in client.fetches), client.fetches
    assert len(answered) <= 12 // 3, client.fetches


def test_a_queued_task_whose_lock_runs_short_is_handed_back(
        engine, start_instance, run_worker, caplog):
    router = TaskRouter()
    runs = []

    @router.task("test-echo", lock_ms=2_000)
    def slow(title: str, task: LockedTask):
        if not runs:
            time.sleep(3)  # the first to run outlasts half the lock of the one queued behind it
        runs.append(task.process_instance_id)
        return {"echoed": title}

    instances = [start_instance("test_echo", {"title": title, "count": 1})
                 for title in ("东", "西")]
    caplog.set_level(logging.INFO, logger="suban.worker")
    run_worker(router, concurrency=1, max_tasks=2)
    for instance in instances:
        wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Inspect",
                   timeout=30, what="both tasks to complete")
    # Both were fetched at once; while the first ran past half the lock, the second waited in the
    # queue and went back to the engine rather than lose its lock unnoticed. Each ran once.
    handed_back = {record.process_instance_id for record in caplog.records
                   if record.getMessage().startswith("handed back")}
    assert handed_back == {runs[1]}
    assert sorted(runs) == sorted(instance["id"] for instance in instances)


def test_sigterm_unlocks_the_queued_tasks_at_once(settings, engine, start_instance, tmp_path):
    instances = [start_instance("test_echo", {"title": f"排队{index}", "count": 1})
                 for index in range(3)]
    started = tmp_path / "handler-started"
    env = os.environ | settings.to_env() | {"SLOW_WORKER_STARTED": str(started)}
    process = subprocess.Popen([sys.executable, str(TESTS / "slow_worker.py")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_until(started.exists, what="the worker's handler to start")
    tasks = [engine.get("/external-task", processInstanceId=instance["id"])[0]
             for instance in instances]
    assert all(task["lockExpirationTime"] for task in tasks)  # one batch: one runs, two queued
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    never_started = {line["task_id"] for line in lines
                     if line["message"] == "unlocked on shutdown, never started"}
    completed = [line for line in lines if line["message"].startswith("completed")]
    assert len(completed) == 1 and len(never_started) == 2, output
    for task in tasks:
        pending = engine.get("/external-task", processInstanceId=task["processInstanceId"])
        if task["id"] in never_started:
            assert pending[0]["lockExpirationTime"] is None
        else:
            assert pending == []


def test_a_free_slot_fetches_at_once_and_busy_slots_let_arrivals_gather(
        engine, settings, start_instance, run_worker):
    router = TaskRouter()
    release = threading.Event()

    @router.task("test-echo")
    def echo(title: str):
        release.wait(30)
        return {"echoed": title}

    client = FetchCountingClient(settings.engine_rest_url, settings.worker_user,
                                 settings.worker_password)
    run_worker(router, client, concurrency=2, long_poll_ms=10_000)

    def running() -> int:
        return len(engine.get("/external-task", topicName="test-echo", locked="true"))
    # The idle worker's long poll answers the first arrival; with a slot still free it fetches
    # again at once and answers the second alone too: no task waits for company.
    first = start_instance("test_echo", {"title": "先到", "count": 1})
    wait_until(lambda: running() == 1, what="the first task to be fetched")
    second = start_instance("test_echo", {"title": "后到", "count": 1})
    wait_until(lambda: running() == 2, what="the second task to be fetched on its own")
    # Both slots busy: the next arrivals wait in the engine and are fetched together.
    later = [start_instance("test_echo", {"title": f"陆续{index}", "count": 1})
             for index in range(3)]
    assert running() == 2
    release.set()
    for instance in (first, second, *later):
        wait_until(lambda: current_activity(engine, instance["id"]) == "Task_Inspect",
                   what="every task to complete")
    assert [got for _, got in client.fetches if got] == [1, 1, 3], client.fetches
