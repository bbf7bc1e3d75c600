"""Loads of appeals for the fault and cluster tests: started the way the console starts them,
followed to the state each must reach, and the caller SMS they caused counted at the gateway."""
from __future__ import annotations

import collections
import contextlib
import os
import signal
import uuid
from pathlib import Path
from typing import Iterator


from console.appeals import INTAKE_FORM
from console.form_schema import form_schema
from cli import operations
from deploy import stack
from deploy.postgres import LocalPostgres
from admin_data.environment import Settings
from external_tasks.appeal import APPEAL_PROCESS
from external_tasks.camunda import EngineClient, to_typed_map
from external_tasks.intake import now_in_shanghai
from tests.appeal_driver import unique_phone
from tests.conftest import free_port, stack_settings, wait_until
from tests.local_servers import CALLER_SMS, RecordingGateway

#: An auto-dispatched complaint: intake, scope check, caller SMS, routing, deadlines, then the
#: lead unit's sign-for task, where it waits for a person.
APPEAL = {"kind": "complaint", "categoryCode": "construction.propertyService",
          "title": "小区物业不清理垃圾", "content": "小区楼道垃圾堆积一周无人清理, 物业不作为",
          "township": "fengcheng", "callerName": "王小明"}
EXPECTED_TASK = "Task_SignForAppeal"
ENGINE, WORKERS = (item for item in stack.COMPONENTS if item.name in ("engine", "workers"))


def new_numbers(prefix: str, count: int) -> list[str]:
    run = uuid.uuid4().hex[:6].upper()
    return [f"{prefix}{run}-{index:04d}" for index in range(count)]


def appeal_variables(number: str) -> dict:
    """Typed start variables as the console's intake sends them, each with a caller of its own."""
    values = form_schema(INTAKE_FORM).load(APPEAL | {"callerPhone": unique_phone()})
    return to_typed_map({"receivedAt": now_in_shanghai().isoformat()} | values
                        | {"appealNumber": number})


def start_appeal(engine: EngineClient, number: str) -> str:
    return engine.post(f"/process-definition/key/{APPEAL_PROCESS}/start", {
        "businessKey": number, "variables": appeal_variables(number)})["id"]


def start_numberless_appeal(engine: EngineClient) -> str:
    """Started as Tasklist's start form does: no business key, no number; register-appeal
    numbers it."""
    variables = appeal_variables("")
    del variables["appealNumber"]
    return engine.post(f"/process-definition/key/{APPEAL_PROCESS}/start",
                       {"variables": variables})["id"]


def worker_numbers(engine: EngineClient, instance_ids: list[str], timeout: float) -> dict[str, str]:
    """The number register-appeal gave each of these appeals, by process instance id."""
    def numbered():
        found = {item["processInstanceId"]: item["value"] for item in engine.post(
            "/history/variable-instance", {"processInstanceIdIn": instance_ids,
                                           "variableName": "appealNumber"})}
        return found if set(found) == set(instance_ids) else None
    return wait_until(numbered, timeout=timeout, interval=0.5,
                      what="register-appeal to number every appeal")


def instances_by_number(engine: EngineClient, numbers: list[str]) -> dict[str, int]:
    """How many appeal processes each number has (history: finished ones count too)."""
    counts = collections.Counter()
    for number in numbers:
        counts[number] = len(engine.get("/history/process-instance", processDefinitionKey=APPEAL_PROCESS,
                                        processInstanceBusinessKey=number))
    return counts


def waiting_at_expected_task(engine: EngineClient, numbers: list[str]) -> set[str]:
    """The numbers whose appeal waits at the lead unit's sign-for task."""
    tasks = engine.post("/task", {"processInstanceBusinessKeyIn": numbers,
                                  "taskDefinitionKey": EXPECTED_TASK})
    if not tasks:
        return set()
    instances = engine.post("/process-instance", {
        "processInstanceIds": sorted({task["processInstanceId"] for task in tasks})})
    return {instance["businessKey"] for instance in instances}


def where_it_stands(engine: EngineClient, number: str) -> list[dict]:
    """What holds up an appeal: its external tasks (lock, retries, error) and incidents."""
    found = []
    for instance in engine.get("/process-instance", businessKey=number):
        found += [{key: task.get(key) for key in ("activityId", "topicName", "workerId", "retries",
                                                  "lockExpirationTime", "errorMessage")}
                  for task in engine.get("/external-task", processInstanceId=instance["id"])]
        found += [{"incident": incident["incidentMessage"]}
                  for incident in engine.get("/incident", processInstanceId=instance["id"])]
    return found


def wait_for_expected_state(engine: EngineClient, numbers: list[str], timeout: float) -> None:
    """Wait until every appeal waits at the lead unit's sign-for task; else name the others."""
    try:
        wait_until(lambda: waiting_at_expected_task(engine, numbers) == set(numbers),
                   timeout=timeout, interval=1, what=f"every appeal to reach {EXPECTED_TASK}")
    except AssertionError as timed_out:
        missing = sorted(set(numbers) - waiting_at_expected_task(engine, numbers))
        raise AssertionError(f"{timed_out}; {len(missing)} of {len(numbers)} did not: " + "; ".join(
            f"{number}: {where_it_stands(engine, number)}" for number in missing)) from None


def caller_sms_by_number(gateway: RecordingGateway, numbers: list[str]) -> dict[str, int]:
    """Caller SMS the gateway accepted, per appeal number (0 for an appeal that got none)."""
    accepted = collections.Counter()
    for request in gateway.accepted(CALLER_SMS):
        accepted[request["body"]["params"].get("appealNumber")] += 1
    return {number: accepted[number] for number in numbers}


def kill_hard(settings: Settings, name: str) -> int:
    """kill -9 the recorded process `name` (the process alone, as a crash would); its pid."""
    process = stack.running_process(settings, name)
    assert process, f"{name} is not running"
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    return process.pid


@contextlib.contextmanager
def engine_nodes(folder: Path, count: int, **env: str) -> Iterator[list[Settings]]:
    """`count` engine nodes, each with its workers and data folder (as on hosts of their own),
    on one throw-away PostgreSQL database. The first node creates the schema and gets the models
    and the directory; the others join it after."""
    with LocalPostgres(free_port()) as database:
        nodes = [stack_settings(folder / f"node{index}", **database.engine_env(), **env)
                 for index in range(1, count + 1)]
        try:
            for node in nodes:
                stack.start(node, ENGINE)
                if node is nodes[0]:
                    operations.deploy_models(node)
                    operations.sync_directory(node)
                stack.start(node, WORKERS)
            yield nodes
        finally:
            for node in nodes:
                for item in (WORKERS, ENGINE):
                    stack.stop(node, item)
