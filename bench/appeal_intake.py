"""Benchmark of intake to dispatch, and of an appeal's whole life, on the real stack.

    .venv/bin/python bench/appeal_intake.py [--appeals 200] [--rate 10] [--whole-life 20]

Uses the stack of the current SUBAN_* settings (`suban up` starts it if it is not running).
Submits appeals through `POST /api/v1/appeals` at a steady rate, with a category and township
that are dispatched automatically, and measures from submission until the lead unit's 签收 task
exists (the engine's task start time): p50/p95, and appeals/second handled. It also prints the
CPU time each process of the stack spent per appeal, and the rate at which the machine's cores
would be fully busy: above that rate appeals queue, whatever the latency at lower rates.

Beside wall-clock figures, which other load on the machine distorts, it prints what does not
depend on it much: the engine's CPU time per appeal (user + system time of the Java process,
/proc/<pid>/stat) and the engine's transactions per appeal (its outermost commands, counted by
`GET /engine-rest/suban/engine-work`), with the commands that make up most of them.

`--whole-life N` then takes N appeals from intake to closed (sign for, handle, reply, review,
callback, evaluation: the plans of `suban demo-appeals`, worked through the engine's REST API)
and prints the same engine figures per appeal for the whole life.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import random
import sys
import time
from pathlib import Path

import psutil
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.worker_throughput import percentile  # noqa: E402
from cli import operations  # noqa: E402
from console.demo_appeals import run_demo  # noqa: E402
from deploy import stack  # noqa: E402
from admin_data.environment import Settings  # noqa: E402
from external_tasks.camunda import EngineClient, parse_engine_date  # noqa: E402

TOWNSHIPS = ("fengcheng", "longhe", "jinping", "huangkou", "yanglou", "shengquan")
SAMPLE_KIND, SAMPLE_CATEGORY = "complaint", "construction.propertyService"


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


#: The JVM's own threads by the start of their names (/proc/<pid>/task/<tid>/comm): compiling
#: code (a freshly started engine keeps its C2 compiler busy for minutes) and collecting garbage.
JVM_THREADS = {"compiling (JIT)": ("C1 CompilerThre", "C2 CompilerThre"),
               "garbage collection": ("GC Thread", "G1 ")}


def engine_threads_cpu(settings: Settings) -> dict[str, float]:
    """CPU seconds the engine's threads have used so far: the JVM's compiler and GC threads
    (JVM_THREADS) and all others, the engine's own work."""
    process = stack.running_process(settings, "engine")
    used = dict.fromkeys([*JVM_THREADS, "engine work"], 0.0)
    if process is None:
        return used
    for thread in process.threads():
        try:
            name = Path(f"/proc/{process.pid}/task/{thread.id}/comm").read_text().strip()
        except OSError:  # the thread ended meanwhile
            continue
        kind = next((kind for kind, prefixes in JVM_THREADS.items()
                     if name.startswith(prefixes)), "engine work")
        used[kind] += thread.user_time + thread.system_time
    return used


def engine_work(engine: EngineClient) -> dict:
    """The engine's transactions so far, in all and by command."""
    return engine.get("/suban/engine-work")


class EngineMeter:
    """The engine's CPU time and transactions between `start` and `report`."""

    def __init__(self, settings: Settings, engine: EngineClient):
        self.settings = settings
        self.engine = engine
        self.cpu = self.work = self.threads = None

    def start(self) -> None:
        self.cpu = cpu_seconds(self.settings)
        self.threads = engine_threads_cpu(self.settings)
        self.work = engine_work(self.engine)

    def report(self, what: str, appeals: int) -> dict[str, float]:
        """Prints engine CPU and transactions per appeal; returns every process's CPU ms per
        appeal."""
        cpu_used = {name: seconds - self.cpu.get(name, 0.0)
                    for name, seconds in cpu_seconds(self.settings).items()}
        work = engine_work(self.engine)
        transactions = work["transactions"] - self.work["transactions"]
        commands = {name: count - self.work["commands"].get(name, 0)
                    for name, count in work["commands"].items()}
        top = sorted(((count, name) for name, count in commands.items() if count), reverse=True)
        print(f"{what}: engine CPU {cpu_used.get('engine', 0.0) / appeals * 1000:.0f} ms per "
              f"appeal, engine transactions {transactions / appeals:.1f} per appeal")
        threads = engine_threads_cpu(self.settings)
        print("  engine CPU per appeal by thread: " + ", ".join(
            f"{kind} {(seconds - self.threads[kind]) / appeals * 1000:.0f} ms"
            for kind, seconds in threads.items()))
        print("  transactions per appeal by command: " + ", ".join(
            f"{name} {count / appeals:.1f}" for count, name in top[:12]))
        return {name: seconds / appeals * 1000 for name, seconds in cpu_used.items()}


def task_number(engine, task: dict) -> str:
    """The appeal number (business key) of a historic task's process instance."""
    instance_id = task["processInstanceId"]
    if instance_id not in _numbers:
        _numbers[instance_id] = engine.get(f"/history/process-instance/{instance_id}")["businessKey"]
    return _numbers[instance_id]


def intake(settings: Settings, engine: EngineClient, session: requests.Session, count: int,
           rate: float, first: int = 0) -> tuple[dict[str, dt.datetime], dict[str, float], float]:
    """Submits `count` appeals at `rate` per second and waits until each has its 签收 task:
    returns when each was sent, its latency in ms and how long the submissions took."""
    submitted: dict[str, dt.datetime] = {}

    def submit(index: int) -> None:
        sent = dt.datetime.now(dt.timezone.utc)
        response = session.post(f"{settings.console_url}/api/v1/appeals", timeout=30, json={
            "kind": SAMPLE_KIND, "categoryCode": SAMPLE_CATEGORY,
            "title": f"基准测试诉求 {index}", "content": "小区楼道垃圾堆积无人清理, 物业不作为",
            "township": TOWNSHIPS[index % len(TOWNSHIPS)],
            # A caller each, as on a real day: one phone for all would make every appeal a
            # repeat of all the others (重复件) and the repeat lookup the whole measurement;
            # drawn, not counted, so that no run repeats the callers of an earlier one.
            "callerPhone": f"13{random.randrange(10**9):09d}"})
        response.raise_for_status()
        submitted[response.json()["appealNumber"]] = sent

    began = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        futures = []
        for index in range(count):
            time.sleep(max(0.0, began + index / rate - time.monotonic()))
            futures.append(pool.submit(submit, first + index))
        for future in futures:
            future.result()
    submit_span = time.monotonic() - began

    # One query a second for all appeals still on their way, so the measuring itself does
    # not load the engine it measures.
    latencies: dict[str, float] = {}
    deadline = time.monotonic() + 300
    while len(latencies) < len(submitted) and time.monotonic() < deadline:
        waiting = [number for number in submitted if number not in latencies]
        # A hundred numbers a query: the engine's web server refuses a longer address.
        for chunk in range(0, len(waiting), 100):
            for task in engine.get("/history/task", taskDefinitionKey="Task_SignForAppeal",
                                   processInstanceBusinessKeyIn=",".join(
                                       waiting[chunk:chunk + 100])):
                number = task_number(engine, task)
                latencies[number] = (parse_engine_date(task["startTime"])
                                     - submitted[number]).total_seconds() * 1000
        time.sleep(1)
    time.sleep(2)  # the caller's and the unit's notifications run beside the 签收 task
    return submitted, latencies, submit_span


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appeals", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10, help="submissions per second")
    parser.add_argument("--whole-life", type=int, default=0, metavar="N",
                        help="then take N appeals from intake to closed and print their cost")
    parser.add_argument("--warm-up", type=int, default=20, metavar="N",
                        help="appeals submitted first and not measured")
    args = parser.parse_args()

    settings = Settings.from_env()
    operations.up(settings)
    engine = EngineClient.as_admin(settings)
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {settings.api_token}"
    meter = EngineMeter(settings, engine)
    if args.warm_up:
        # The engine's first appeals after a start include compiling its code (JIT): CPU that
        # a running engine no longer spends.
        intake(settings, engine, session, args.warm_up, args.rate, first=args.appeals)
    meter.start()
    submitted, latencies, submit_span = intake(settings, engine, session, args.appeals,
                                               args.rate)
    per_appeal = meter.report("intake → 签收 task", len(submitted))
    if len(latencies) < len(submitted):
        raise SystemExit(f"only {len(latencies)} of {len(submitted)} appeals reached a unit")
    last = max(sent + dt.timedelta(milliseconds=latencies[number])
               for number, sent in submitted.items())
    handled_span = (last - min(submitted.values())).total_seconds()
    values = list(latencies.values())
    print(f"submitted {len(submitted)} appeals at {len(submitted) / submit_span:.1f}/s "
          f"(target {args.rate:g}/s)")
    print("wall clock (on a loaded machine) submission → lead unit's 签收 task: "
          f"p50 {percentile(values, .5):.0f} ms   p95 {percentile(values, .95):.0f} ms   "
          f"max {max(values):.0f} ms")
    print(f"throughput: {len(submitted) / handled_span:.1f} appeals/s dispatched end to end")
    print("CPU per appeal (during the run, measuring included): " + ", ".join(
        f"{name} {ms:.0f} ms" for name, ms in per_appeal.items())
        + f"; total {sum(per_appeal.values()):.0f} ms")
    cores = psutil.cpu_count()
    print(f"all {cores} cores busy at about "
          f"{cores * 1000 / max(sum(per_appeal.values()), 1):.1f} appeals/s")
    if args.whole_life:
        meter.start()
        began = time.monotonic()
        run_demo(settings, args.whole_life)
        meter.report("whole life, intake → closed", args.whole_life)
        print(f"wall clock (on a loaded machine): {args.whole_life} appeals closed in "
              f"{time.monotonic() - began:.0f} s")


if __name__ == "__main__":
    main()
