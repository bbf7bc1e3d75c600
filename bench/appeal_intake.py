"""Benchmark of intake to dispatch on the real stack.

    .venv/bin/python bench/appeal_intake.py [--appeals 200] [--rate 10]

Uses the stack of the current SUBAN_* settings (`suban up` starts it if it is not running).
Submits appeals through `POST /api/v1/appeals` at a steady rate, with a category and township
that are dispatched automatically, and measures from submission until the lead unit's 签收 task
exists (the engine's task start time): p50/p95, and appeals/second handled. It also prints the
CPU time each process of the stack spent per appeal, and the rate at which the machine's cores
would be fully busy: above that rate appeals queue, whatever the latency at lower rates.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import sys
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.worker_throughput import percentile  # noqa: E402
from cli import operations  # noqa: E402
from deploy import stack
from admin_data.environment import Settings  # noqa: E402
from external_tasks.camunda import EngineClient, parse_engine_date  # noqa: E402

TOWNSHIPS = ("fengcheng", "longhe", "jinping", "huangkou", "yanglou", "shengquan")


_numbers: dict[str, str] = {}


def cpu_seconds(settings: Settings) -> dict[str, float]:
    """CPU time (user + system) each running process of the stack has used so far."""
    used = {}
    for item in stack.COMPONENTS:
        process = stack.running_process(settings, item.name)
        if process is not None:
            times = process.cpu_times()
            used[item.name] = times.user + times.system
    return used


def task_number(engine, task: dict) -> str:
    """The appeal number (business key) of a historic task's process instance."""
    instance_id = task["processInstanceId"]
    if instance_id not in _numbers:
        _numbers[instance_id] = engine.get(f"/history/process-instance/{instance_id}")["businessKey"]
    return _numbers[instance_id]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10, help="submissions per second")
    args = parser.parse_args()

    settings = Settings.from_env()
    operations.up(settings)
    engine = EngineClient.as_admin(settings)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {settings.api_token}"
    submitted: dict[str, dt.datetime] = {}

    def submit(index: int) -> None:
        sent = dt.datetime.now(dt.timezone.utc)
        response = session.post(f"{settings.console_url}/api/v1/appeals", timeout=30, json={
            "kind": "complaint", "categoryCode": "construction.propertyService",
            "title": f"基准测试诉求 {index}", "content": "小区楼道垃圾堆积无人清理, 物业不作为",
            "township": TOWNSHIPS[index % len(TOWNSHIPS)],
            # A caller each, as on a real day: one phone for all would make every appeal a
            # repeat of all the others (重复件) and the repeat lookup the whole measurement.
            "callerPhone": f"139{index:08d}"})
        response.raise_for_status()
        submitted[response.json()["appealNumber"]] = sent

    cpu_before = cpu_seconds(settings)
    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = []
        for index in range(args.appeals):
            time.sleep(max(0.0, began + index / args.rate - time.monotonic()))
            futures.append(pool.submit(submit, index))
        for future in futures:
            future.result()
    submit_span = time.monotonic() - began

    # One query a second for all appeals still on their way, so the measuring itself does
    # not load the engine it measures.
    latencies: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while len(latencies) < len(submitted) and time.monotonic() < deadline:
        waiting = [number for number in submitted if number not in latencies]
        for task in engine.get("/history/task", taskDefinitionKey="Task_SignForAppeal",
                               processInstanceBusinessKeyIn=",".join(waiting)):
            number = task_number(engine, task)
            latencies[number] = (parse_engine_date(task["startTime"]) - submitted[number]) \
                .total_seconds() * 1000
        time.sleep(1)
    cpu_used = {name: seconds - cpu_before.get(name, 0.0)
                for name, seconds in cpu_seconds(settings).items()}
    if len(latencies) < len(submitted):
        raise SystemExit(f"only {len(latencies)} of {len(submitted)} appeals reached a unit")
    last = max(sent + dt.timedelta(milliseconds=latencies[number])
               for number, sent in submitted.items())
    handled_span = (last - min(submitted.values())).total_seconds()
    values = list(latencies.values())
    print(f"submitted {len(submitted)} appeals at {len(submitted) / submit_span:.1f}/s "
          f"(target {args.rate:g}/s)")
    print(f"submission → lead unit's 签收 task: p50 {percentile(values, .5):.0f} ms   "
          f"p95 {percentile(values, .95):.0f} ms   max {max(values):.0f} ms")
    print(f"throughput: {len(submitted) / handled_span:.1f} appeals/s dispatched end to end")
    per_appeal = {name: seconds / len(submitted) * 1000 for name, seconds in cpu_used.items()}
    print("CPU per appeal (during the run, measuring included): " + ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in per_appeal.items())
        + f"; total {sum(per_appeal.values()):.0f} ms")
    cores = psutil.cpu_count()
    print(f"all {cores} cores busy at about "
          f"{cores * 1000 / max(sum(per_appeal.values()), 1):.1f} appeals/s")


if __name__ == "__main__":
    main()
