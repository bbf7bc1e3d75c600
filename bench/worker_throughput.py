"""Benchmark of the worker runtime beside the official Camunda Java client, on one engine.

    .venv/bin/python bench/worker_throughput.py [--instances 1000] [--rate 20] [--seconds 10]

Starts the engine of the current SUBAN_* settings with Tomcat's access log on (stop it first,
`suban down`, when it runs without one: the engine calls are counted from that log), and builds
the Java client in bench/java-client with Maven. Each contender, a worker process of its own,
meets the same engine in turn, as ../shared/bench-peers/compare.py runs them: it drains a backlog
of N instances of a one-external-task process (throughput: instances/s), then serves instances
started at a steady rate (latency: instance start → end, from history, p50/p95). Per task it
prints the engine calls the worker made (fetches + completions, and any unlock or extension;
overall, while draining the backlog and while serving the steady arrivals), the engine's CPU
and the worker's CPU; then our figures against the tuned Java client's.
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import datetime as dt
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from admin_data.environment import Settings  # noqa: E402
from deploy import stack  # noqa: E402
from deploy.deployment import deploy  # noqa: E402
from external_tasks.camunda import EngineClient  # noqa: E402
from external_tasks.runtime import TaskRouter, Worker, WorkerOptions  # noqa: E402

BENCH = Path(__file__).resolve().parent
JAVA_CLIENT = BENCH / "java-client"
KEY = "bench_one_task"
TOPIC = "bench-noop"
#: Our configurations: the defaults, and one tuned for a backlog (a batch of up to 200 tasks).
OUR_CONFIGURATIONS = {"ours-default": WorkerOptions(),
                      "ours-tuned": WorkerOptions(max_tasks=200, concurrency=8)}
JAVA_MODES = {"java-default": "default", "java-tuned": "tuned"}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


# -- the contenders ------------------------------------------------------------------------------

def serve(settings: Settings, contender: str) -> None:
    """Run our worker on the bench topic until SIGTERM (a contender's process)."""
    router = TaskRouter()
    router.task(TOPIC)(lambda: {})
    options = OUR_CONFIGURATIONS[contender]
    client = EngineClient.as_admin(settings, pool_size=options.concurrency + 4)
    Worker(client, router, options).run()


def java_client_jar() -> Path:
    """The Java client's jar, built with Maven when it is missing or older than its sources."""
    jars = list((JAVA_CLIENT / "target").glob("*-jar-with-dependencies.jar"))
    sources = [JAVA_CLIENT / "pom.xml", *(JAVA_CLIENT / "src").rglob("*.java")]
    if not jars or any(source.stat().st_mtime > jars[0].stat().st_mtime for source in sources):
        mvn = stack.require_tool("mvn", "to build the Java client", "maven")
        stack.say("building the official Java client (bench/java-client) with Maven ...")
        subprocess.run([mvn, "-q", "-DskipTests", "package"], cwd=JAVA_CLIENT, check=True)
        jars = list((JAVA_CLIENT / "target").glob("*-jar-with-dependencies.jar"))
    return jars[0]


def worker_command(settings: Settings, contender: str) -> list[str]:
    if contender in JAVA_MODES:
        return ["java", "-jar", str(java_client_jar()), settings.engine_rest_url,
                settings.admin_user, settings.admin_password, JAVA_MODES[contender], TOPIC]
    return [sys.executable, __file__, "--serve", contender]


# -- the engine ----------------------------------------------------------------------------------

def access_log_dir(settings: Settings) -> Path:
    return settings.data_dir / "engine-access"


def start_engine(settings: Settings) -> psutil.Process:
    """The engine, started with an access log of one `METHOD PATH STATUS` line per request."""
    os.environ.update({
        "SERVER_TOMCAT_ACCESSLOG_ENABLED": "true", "SERVER_TOMCAT_ACCESSLOG_BUFFERED": "false",
        "SERVER_TOMCAT_ACCESSLOG_DIRECTORY": str(access_log_dir(settings)),
        "SERVER_TOMCAT_ACCESSLOG_PATTERN": "%m %U %s"})
    engine_component = next(item for item in stack.COMPONENTS if item.name == "engine")
    process, started = stack.start(settings, engine_component)
    if not started and not any(access_log_dir(settings).glob("*.log")):
        raise SystemExit("the engine runs without an access log, so its calls cannot be "
                         "counted: stop it (suban down) and run the bench again")
    return process


def external_task_calls(settings: Settings) -> collections.Counter:
    """Requests to the external-task API so far, by kind (fetchAndLock, complete, unlock, ...)."""
    calls = collections.Counter()
    for log_file in access_log_dir(settings).glob("*.log"):
        for line in log_file.read_text(errors="replace").splitlines():
            method, path = (line.split(" ") + ["", ""])[:2]
            if method == "POST" and "/external-task/" in path:
                calls[path.rsplit("/", 1)[1]] += 1
    return calls


def start_instances(engine: EngineClient, count: int, threads: int = 8) -> None:
    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda _: engine.post(f"/process-definition/key/{KEY}/start", {}),
                      range(count)))


def wait_until_done(engine: EngineClient, worker: subprocess.Popen, timeout_s: float) -> float:
    began = time.monotonic()
    while engine.get("/process-instance/count", processDefinitionKey=KEY)["count"]:
        if worker.poll() is not None:
            raise SystemExit(f"the worker stopped with exit code {worker.returncode}")
        if time.monotonic() - began > timeout_s:
            raise SystemExit(f"instances still running after {timeout_s:.0f} s")
        time.sleep(0.05)
    return time.monotonic() - began


def latencies_ms(engine: EngineClient, since: dt.datetime) -> list[float]:
    rows = engine.get("/history/process-instance", processDefinitionKey=KEY, finished="true",
                      startedAfter=since.strftime("%Y-%m-%dT%H:%M:%S.000%z"), maxResults=100000)
    moment = lambda text: dt.datetime.strptime(text[:23], "%Y-%m-%dT%H:%M:%S.%f")  # noqa: E731
    return [(moment(row["endTime"]) - moment(row["startTime"])).total_seconds() * 1000
            for row in rows]


def cpu_seconds(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def measure(settings: Settings, engine: EngineClient, engine_process: psutil.Process,
            contender: str, args: argparse.Namespace) -> dict:
    start_instances(engine, args.instances)
    calls_before, engine_cpu_before = external_task_calls(settings), cpu_seconds(engine_process)
    worker = subprocess.Popen(worker_command(settings, contender), stdout=subprocess.DEVNULL,
                              stderr=open(settings.log_dir / f"bench-{contender}.log", "w"),
                              start_new_session=True)
    worker_process = psutil.Process(worker.pid)
    drain_s = wait_until_done(engine, worker, timeout_s=900)
    calls_drained = external_task_calls(settings)
    since = dt.datetime.now().astimezone()
    arrivals = int(args.rate * args.seconds)
    began = time.monotonic()
    for index in range(arrivals):
        time.sleep(max(0.0, began + index / args.rate - time.monotonic()))
        engine.post(f"/process-definition/key/{KEY}/start", {})
    wait_until_done(engine, worker, timeout_s=120)
    worker_cpu = cpu_seconds(worker_process) + sum(
        cpu_seconds(child) for child in worker_process.children(recursive=True))
    engine_cpu = cpu_seconds(engine_process) - engine_cpu_before
    os.killpg(worker.pid, signal.SIGTERM)
    worker.wait(30)
    backlog_calls = calls_drained - calls_before
    steady_calls = external_task_calls(settings) - calls_drained
    tasks = args.instances + arrivals
    latencies = latencies_ms(engine, since)
    return {"throughput": args.instances / drain_s, "p50": percentile(latencies, .5),
            "p95": percentile(latencies, .95),
            "calls": sum((backlog_calls + steady_calls).values()) / tasks,
            "backlog_calls": sum(backlog_calls.values()) / args.instances,
            "steady_calls": sum(steady_calls.values()) / arrivals,
            "engine_cpu_ms": engine_cpu / tasks * 1000, "worker_cpu_ms": worker_cpu / tasks * 1000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000, help="backlog to drain")
    parser.add_argument("--rate", type=float, default=20, help="steady arrivals per second")
    parser.add_argument("--seconds", type=float, default=10, help="length of the steady phase")
    parser.add_argument("--contenders", nargs="+",
                        default=["ours-default", "java-default", "ours-tuned", "java-tuned"],
                        choices=[*OUR_CONFIGURATIONS, *JAVA_MODES])
    parser.add_argument("--warm-up-rounds", type=int, default=3,
                        help="unreported rounds of the first contender first")
    parser.add_argument("--serve", choices=list(OUR_CONFIGURATIONS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    settings = Settings.from_env()
    if args.serve:
        serve(settings, args.serve)
        return

    java_client_jar()
    engine_process = start_engine(settings)
    engine = EngineClient.as_admin(settings)
    deploy(engine, [BENCH / "bpmn" / f"{KEY}.bpmn"], root=BENCH, name="suban-bench")
    print(f"load average at start: {' '.join(f'{load:.1f}' for load in os.getloadavg())} "
          f"({os.cpu_count()} cores)")
    # A freshly started engine compiles its code (JIT) during its first thousands of tasks:
    # rounds of the first contender, not reported, so that none of them pays for it.
    for _ in range(args.warm_up_rounds):
        measure(settings, engine, engine_process, args.contenders[0], args)
    results = {}
    for contender in args.contenders:
        result = results[contender] = measure(settings, engine, engine_process, contender, args)
        print(f"{contender:13} throughput {result['throughput']:6.1f} /s   "
              f"latency p50 {result['p50']:5.0f} ms  p95 {result['p95']:5.0f} ms   "
              f"engine calls/task {result['calls']:.3f} (backlog {result['backlog_calls']:.3f}, "
              f"steady {result['steady_calls']:.3f})   "
              f"CPU/task engine {result['engine_cpu_ms']:.1f} ms, worker "
              f"{result['worker_cpu_ms']:.1f} ms   load {os.getloadavg()[0]:.1f}", flush=True)
    java = results.get("java-tuned")
    for contender in OUR_CONFIGURATIONS:
        if java and contender in results:
            ours = results[contender]
            ratio = {name: ours[name] / java[name] for name in ("throughput", "p95", "calls")}
            print(f"{contender:13} / java-tuned: throughput ×{ratio['throughput']:.2f} (target "
                  f"≥ 1.2), p95 ×{ratio['p95']:.2f} (target ≤ 1), engine calls/task "
                  f"×{ratio['calls']:.3f} (target ≤ 1)")


if __name__ == "__main__":
    main()
