"""Benchmark of the worker runtime on the real engine.

    .venv/bin/python bench/worker_throughput.py [--instances 2000] [--rate 20] [--seconds 20]

Uses the stack of the current SUBAN_* settings (`suban up` starts it if it is not running).
Phase 1 (throughput): N instances of a one-external-task process are started with no worker
running, then one worker drains them: tasks/second from its start to the last completion.
Phase 2 (pickup latency): with the worker running, instances arrive at a steady rate; latency
is task created (the engine's createTime) → the handler holds it, p50/p95.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from cli import operations  # noqa: E402
from deploy.deployment import deploy  # noqa: E402
from admin_data.environment import Settings  # noqa: E402
from external_tasks.camunda import EngineClient, LockedTask  # noqa: E402
from external_tasks.runtime import TaskRouter, Worker, WorkerOptions  # noqa: E402

BENCH = Path(__file__).resolve().parent
KEY = "bench_one_task"


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


class Recorder:
    def __init__(self):
        self.lock = threading.Lock()
        self.latencies_ms: list[float] = []
        self.done = 0

    def handler(self, task: LockedTask):
        latency = dt.datetime.now(dt.timezone.utc) - task.create_time
        with self.lock:
            self.latencies_ms.append(latency.total_seconds() * 1000)
            self.done += 1
        return {}


def start_instances(engine: EngineClient, count: int, threads: int = 8) -> None:
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: engine.post(f"/process-definition/key/{KEY}/start", {}),
                      range(count)))


def wait_for(recorder: Recorder, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while recorder.done < count:
        if time.monotonic() > deadline:
            raise SystemExit(f"only {recorder.done} of {count} tasks done after {timeout} s")
        time.sleep(0.02)


def run_worker(settings: Settings, recorder: Recorder, options: WorkerOptions):
    router = TaskRouter()
    router.task("bench-noop")(recorder.handler)
    client = EngineClient(settings.engine_rest_url, settings.worker_user, settings.worker_password,
                          pool_size=options.concurrency + 4)
    worker = Worker(client, router, options)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    return worker, thread


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=20, help="arrivals per second, phase 2")
    parser.add_argument("--seconds", type=float, default=20, help="length of phase 2")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--max-tasks", type=int, default=20)
    args = parser.parse_args()

    settings = Settings.from_env()
    operations.up(settings)
    engine = EngineClient.as_admin(settings)
    deploy(engine, [BENCH / "bpmn" / f"{KEY}.bpmn"], root=BENCH, name="suban-bench")
    options = WorkerOptions(max_tasks=args.max_tasks, concurrency=args.concurrency,
                            long_poll_ms=10_000)

    # Phase 1: drain a backlog.
    began = time.monotonic()
    start_instances(engine, args.instances)
    started_s = time.monotonic() - began
    recorder = Recorder()
    worker_start = time.monotonic()
    worker, thread = run_worker(settings, recorder, options)
    wait_for(recorder, args.instances, timeout=600)
    drain_s = time.monotonic() - worker_start
    print(f"engine: instance starts         {args.instances / started_s:8.1f} /s "
          f"({args.instances} instances, 8 client threads)")
    print(f"phase 1: backlog drained        {args.instances / drain_s:8.1f} tasks/s "
          f"(concurrency {args.concurrency}, maxTasks {args.max_tasks})")

    # Phase 2: steady arrivals, pickup latency.
    recorder.latencies_ms.clear()
    recorder.done = 0
    total = int(args.rate * args.seconds)
    arrivals_start = time.monotonic()
    for index in range(total):
        time.sleep(max(0.0, arrivals_start + index / args.rate - time.monotonic()))
        engine.post(f"/process-definition/key/{KEY}/start", {})
    wait_for(recorder, total, timeout=120)
    latencies = recorder.latencies_ms
    print(f"phase 2: pickup latency at {args.rate:g}/s  p50 {percentile(latencies, .5):6.0f} ms   "
          f"p95 {percentile(latencies, .95):6.0f} ms   max {max(latencies):6.0f} ms "
          f"(mean {statistics.mean(latencies):.0f} ms, {total} tasks, created → handler)")
    worker.stop()
    thread.join(30)


if __name__ == "__main__":
    main()
