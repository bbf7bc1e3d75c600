"""Two engine nodes on one PostgreSQL database, with workers on both: appeals keep flowing when
one node is killed (kill -9). Each node has its own data folder, as on two hosts."""
from __future__ import annotations

import collections
import concurrent.futures
import re
import socket
import subprocess
from pathlib import Path

import pytest

from connectors.config import ENVIRONMENT_VARIABLES
from admin_data.environment import REPO_ROOT, Settings
from console import create_app
from deploy import stack
from external_tasks.camunda import EngineClient
from external_tasks.intake import (NUMBER_PATTERN, NUMBER_PREFIX, now_in_shanghai,
                                   take_appeal_number)
from tests.appeal_driver import unique_phone
from tests.appeal_load import (
    APPEAL, caller_sms_by_number, engine_nodes, instances_by_number, kill_hard, new_numbers,
    start_appeal, start_numberless_appeal, wait_for_expected_state, worker_numbers)
from tests.local_servers import CALLER_SMS
from tests.conftest import wait_until
from external_tasks.camunda import EngineClient

ENGINE_CONFIG = REPO_ROOT / "deploy" / "engine" / "src" / "main" / "resources" / "application.yaml"
#: Short worker locks: a task held by a dead node's workers goes to the other node's soon.
FAST_WORKERS = {"SUBAN_WORKER_LOCK_MS": "5000", "SUBAN_WORKER_LONG_POLL_MS": "2000",
                "SUBAN_WORKER_BACKOFF_MAX_MS": "4000"}


def worker_id(settings: Settings) -> str:
    """The id the node's worker process fetches under (WorkerOptions' default)."""
    return f"suban-{socket.gethostname()}-{stack.running_process(settings, 'workers').pid}"


@pytest.fixture(scope="module")
def cluster(tmp_path_factory, sms_gateway) -> list[Settings]:
    with engine_nodes(tmp_path_factory.mktemp("cluster"), 2, **FAST_WORKERS) as nodes:
        yield nodes


def test_two_nodes_share_one_database(cluster):
    first, second = (EngineClient.as_admin(node) for node in cluster)
    [number] = new_numbers("CL", 1)
    instance_id = start_appeal(first, number)
    assert second.get(f"/process-instance/{instance_id}")["businessKey"] == number
    wait_for_expected_state(second, [number], timeout=60)


def test_numbers_of_the_day_continue_after_those_a_per_host_counter_gave(cluster):
    """The day of the upgrade: appeals numbered by the old per-host counters are in the engine;
    the day's shared counter, created by its first number, starts after the highest of them.
    (The cluster's database is new: no test before this one took a number.)"""
    engine1, engine2 = (EngineClient.as_admin(node) for node in cluster)
    day = f"{NUMBER_PREFIX}{now_in_shanghai():%Y%m%d}-"
    start_appeal(engine1, f"{day}0042")
    start_appeal(engine1, f"{day}0007")
    assert take_appeal_number(engine2) == f"{day}0043"
    assert take_appeal_number(engine1) == f"{day}0044"


def test_appeal_numbers_are_unique_across_both_nodes(cluster):
    """The production layout: the console (on node 1) numbers the appeals it takes through node
    1's engine, while the workers of both nodes number appeals started without one (Tasklist)
    through their own node's engine, all at once: every number is different."""
    node1, node2 = cluster
    console = create_app(node1)
    engine1, engine2 = EngineClient.as_admin(node1), EngineClient.as_admin(node2)
    workers1, workers2 = (EngineClient(node.engine_rest_url, node.worker_user,
                                       node.worker_password) for node in cluster)

    def through_the_console() -> str:
        response = console.test_client().post(
            "/api/v1/appeals", json=APPEAL | {"callerPhone": unique_phone()},
            headers={"Authorization": f"Bearer {node1.api_token}"})
        assert response.status_code == 201, response.get_data(as_text=True)
        return response.json["appealNumber"]

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        console_numbers = [pool.submit(through_the_console) for _ in range(16)]
        numberless = [pool.submit(start_numberless_appeal, engine) for engine in
                      (engine1, engine2) * 8]
        direct = [pool.submit(take_appeal_number, client) for client in (workers1, workers2) * 8]
        instance_ids = [future.result() for future in numberless]
        numbers = [future.result() for future in console_numbers + direct]
    numbers += worker_numbers(engine2, instance_ids, timeout=180).values()
    assert len(numbers) == 48 and len(set(numbers)) == 48, sorted(numbers)
    assert all(NUMBER_PATTERN.match(number) for number in numbers)
    registered_by = collections.Counter(
        entry["workerId"] for entry in engine2.get("/history/external-task-log",
                                                   topicName="register-appeal", successLog="true")
        if entry["processInstanceId"] in instance_ids)
    print(f"\ncluster: {len(numbers)} appeal numbers through both nodes, all distinct; "
          f"numberless appeals numbered by {dict(registered_by)}")


def test_appeals_keep_flowing_when_a_node_is_killed(cluster, sms_gateway):
    """Half the load is started on each node; node 1's engine dies while its workers hold
    tasks; the other half of the load goes to node 2 (the load balancer drops the dead node).
    Every appeal reaches the lead unit, once, with its caller SMS."""
    node1, node2 = cluster
    engine1, engine2 = EngineClient.as_admin(node1), EngineClient.as_admin(node2)
    before, after = new_numbers("CLA", 12), new_numbers("CLB", 12)
    for index, number in enumerate(before):
        start_appeal(engine1 if index % 2 else engine2, number)
    node1_worker = worker_id(node1)
    wait_until(lambda: engine2.get("/external-task", workerId=node1_worker, locked="true"),
               timeout=60, what="node 1's workers to hold tasks")
    kill_hard(node1, "engine")
    for number in after:
        start_appeal(engine2, number)

    numbers = before + after
    wait_for_expected_state(engine2, numbers, timeout=180)
    assert set(instances_by_number(engine2, numbers).values()) == {1}, "one process an appeal"
    sms = caller_sms_by_number(sms_gateway, numbers)
    assert min(sms.values()) == 1, f"appeals without their caller SMS: {sms}"
    copies = {number: count for number, count in sms.items() if count > 1}
    for number in copies:  # the one window the per-host sent-logs leave (README: two nodes)
        keys = {request["headers"]["Idempotency-Key"]
                for request in sms_gateway.accepted(CALLER_SMS)
                if request["body"]["params"].get("appealNumber") == number}
        assert len(keys) == 1, f"a copy of {number}'s SMS without the first one's key: {keys}"
    print(f"\ncluster: {len(numbers)} appeals, 0 lost, {sum(copies.values()) - len(copies)} "
          "SMS copies (same idempotency key)")


# -- the production deploy files -------------------------------------------------------------------

SYSTEMD = REPO_ROOT / "deploy" / "systemd"
INSTALLED_ROOT, INSTALLED_ENV = "/opt/suban", "/etc/suban/suban.env"


def env_file(path: Path) -> dict[str, str]:
    lines = (line.strip() for line in path.read_text(encoding="utf-8").splitlines())
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


def test_every_variable_in_the_deploy_files_is_one_the_stack_reads():
    example = env_file(SYSTEMD / "suban.env.example")
    settings = Settings.from_env(example)
    assert settings.profile == "production" and settings.db_url.startswith("jdbc:postgresql:")
    known = (set(settings.to_env()) | set(ENVIRONMENT_VARIABLES)
             | set(re.findall(r"SUBAN_[A-Z_]+", ENGINE_CONFIG.read_text(encoding="utf-8"))))
    used = {name for path in SYSTEMD.iterdir()
            for name in re.findall(r"SUBAN_[A-Z_]+", path.read_text(encoding="utf-8"))}
    assert used - known == set()


@pytest.mark.parametrize("unit", sorted(path.name for path in SYSTEMD.glob("*.service")))
def test_systemd_unit_is_valid_where_the_checkout_is_installed(unit, tmp_path):
    """systemd's own checker, with /opt/suban standing for this checkout: it refuses unknown
    settings and commands that are not there."""
    text = (SYSTEMD / unit).read_text(encoding="utf-8")
    (tmp_path / unit).write_text(text.replace(INSTALLED_ENV, str(SYSTEMD / "suban.env.example"))
                                 .replace(INSTALLED_ROOT, str(REPO_ROOT)), encoding="utf-8")
    result = subprocess.run(["systemd-analyze", "verify", str(tmp_path / unit)],
                            capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (0, ""), result.stderr
