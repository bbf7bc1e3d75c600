"""Bring the stack up and down: engine, workers and web console as recorded processes.

`up` starts only what is not already running and records each process (pid and start time)
under <data>/run; `down` stops exactly those processes. Logs go to <data>/logs.
"""
from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

import psutil
import requests

from admin_data.environment import REPO_ROOT, Settings

ENGINE_PROJECT = REPO_ROOT / "deploy" / "engine"
#: Where the Maven build of each engine (SUBAN_ENGINE) puts the jar: the Maven profiles of
#: deploy/engine/pom.xml keep Operaton's build apart from Camunda's.
ENGINE_JARS = {"camunda": ENGINE_PROJECT / "target" / "suban-engine.jar",
               "operaton": ENGINE_PROJECT / "target" / "operaton" / "suban-engine.jar"}


class StackError(RuntimeError):
    """Something the operator must fix; the message says what and how."""


def say(message: str) -> None:
    print(f"suban: {message}", file=sys.stderr, flush=True)


# -- engine build ----------------------------------------------------------------------------------

def require_tool(tool: str, purpose: str, install: str) -> str:
    path = shutil.which(tool)
    if not path:
        raise StackError(f"'{tool}' was not found: it is needed {purpose}. Install it "
                         f"(Debian: apt-get install {install}) and run the command again.")
    return path


def engine_sources() -> list[Path]:
    return [ENGINE_PROJECT / "pom.xml", *sorted((ENGINE_PROJECT / "src").rglob("*"))]


def engine_jar_is_current(engine: str) -> bool:
    jar = ENGINE_JARS[engine]
    if not jar.exists():
        return False
    built = jar.stat().st_mtime
    return all(source.stat().st_mtime <= built for source in engine_sources() if source.is_file())


def build_engine(engine: str, force: bool = False) -> Path:
    """Build the engine jar of `engine` (SUBAN_ENGINE) with Maven unless it is newer than its
    sources."""
    require_tool("java", "to run the Camunda engine (Java 17)", "openjdk-17-jdk-headless")
    jar = ENGINE_JARS[engine]
    if not force and engine_jar_is_current(engine):
        return jar
    mvn = require_tool("mvn", "to build the Camunda engine", "maven")
    say(f"building the engine on {engine} with Maven (the first build downloads it and Spring "
        "Boot: a few minutes) ...")
    command = [mvn, "-B", "package", "-DskipTests", f"-P{engine}",
               "-f", str(ENGINE_PROJECT / "pom.xml")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               text=True, cwd=ENGINE_PROJECT)
    downloads, tail = 0, []
    for line in process.stdout:
        tail = (tail + [line.rstrip()])[-40:]
        if line.startswith("Downloaded from"):
            downloads += 1
            if downloads % 25 == 0:
                say(f"  engine build: {downloads} artifacts downloaded ...")
        elif line.startswith("[INFO] Building ") or line.startswith("[INFO] BUILD"):
            say("  " + line.strip())
    if process.wait() != 0:
        raise StackError("the engine build failed; Maven's last lines:\n" + "\n".join(tail))
    say(f"engine built: {jar.relative_to(REPO_ROOT)}")
    return jar


# -- recorded processes ----------------------------------------------------------------------------

@dataclasses.dataclass
class Component:
    name: str
    title: str
    port: Callable[[Settings], int | None]
    port_setting: str | None
    command: Callable[[Settings], list[str]]
    healthy: Callable[[Settings], bool]
    start_timeout_s: float
    stop_timeout_s: float


def _python_command(*args: str) -> Callable[[Settings], list[str]]:
    return lambda settings: [sys.executable, "-m", "cli", *args]


def _engine_command(settings: Settings) -> list[str]:
    java = require_tool("java", "to run the Camunda engine (Java 17)", "openjdk-17-jdk-headless")
    return [java, "-Xms256m", "-Xmx1g", "-Dfile.encoding=UTF-8", "-jar",
            str(build_engine(settings.engine))]


def engine_healthy(settings: Settings) -> bool:
    try:
        response = requests.get(f"{settings.engine_base_url}/actuator/health", timeout=3)
        return response.ok and response.json().get("status") == "UP"
    except (requests.RequestException, ValueError):
        return False


def console_healthy(settings: Settings) -> bool:
    try:
        return requests.get(f"{settings.console_url}/api/v1/health", timeout=3).ok
    except requests.RequestException:
        return False


def workers_ready_file(settings: Settings) -> Path:
    return settings.run_dir / "workers.ready"


def workers_healthy(settings: Settings) -> bool:
    """The worker process marks itself ready once it has reached the engine."""
    process = running_process(settings, "workers")
    ready = workers_ready_file(settings)
    return bool(process and ready.exists() and ready.stat().st_mtime >= process.create_time() - 1)


COMPONENTS = (
    Component("engine", "Camunda engine", lambda settings: settings.engine_port,
              "SUBAN_ENGINE_PORT", _engine_command, engine_healthy,
              start_timeout_s=240, stop_timeout_s=40),
    Component("workers", "external-task workers", lambda settings: None, None,
              _python_command("workers"), workers_healthy, start_timeout_s=30,
              stop_timeout_s=45),
    Component("console", "web console", lambda settings: settings.console_port,
              "SUBAN_CONSOLE_PORT", _python_command("console"), console_healthy,
              # 30 s ran out on a 2-core host at a load of 20: the imports alone took 30 s.
              start_timeout_s=90, stop_timeout_s=15),
)


def _record_path(settings: Settings, name: str) -> Path:
    return settings.run_dir / f"{name}.json"


def running_process(settings: Settings, name: str) -> psutil.Process | None:
    """The process `up` recorded for `name`, if it is still that same process and alive."""
    record_path = _record_path(settings, name)
    try:
        record = json.loads(record_path.read_text())
        process = psutil.Process(record["pid"])
        if process.status() == psutil.STATUS_ZOMBIE:
            _reap(process.pid)
            return None
        # The command line tells whether the pid was reused by another program. Not the start
        # time: psutil derives it from the wall clock, and a clock step (time sync) moved it by
        # 34 s on a running engine, which `down` then took for gone.
        if process.cmdline() != record["command"]:
            return None
        return process
    except (FileNotFoundError, ValueError, KeyError, psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def _reap(pid: int) -> None:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def port_in_use(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def start(settings: Settings, item: Component) -> tuple[psutil.Process, bool]:
    """Start `item` unless it runs already; returns the process and whether it was started."""
    existing = running_process(settings, item.name)
    if existing:
        return existing, False
    port = item.port(settings)
    if port is not None and port_in_use(port):
        raise StackError(f"port {port} is already in use by another program, so the "
                         f"{item.title} cannot start; stop that program or set "
                         f"{item.port_setting} to another port.")
    command = item.command(settings)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    settings.log_dir.mkdir(parents=True, exist_ok=True)
    log_path = settings.log_dir / f"{item.name}.log"
    with open(log_path, "ab") as log_file:
        popen = subprocess.Popen(command, cwd=REPO_ROOT, env=os.environ | settings.to_env(),
                                 stdin=subprocess.DEVNULL, stdout=log_file,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    process = psutil.Process(popen.pid)
    _record_path(settings, item.name).write_text(json.dumps(
        {"pid": popen.pid, "command": command}))
    say(f"starting the {item.title} (pid {popen.pid}, log {log_path}) ...")
    _wait_healthy(settings, item, process, log_path)
    return process, True


def _wait_healthy(settings: Settings, item: Component, process: psutil.Process,
                  log_path: Path) -> None:
    started = time.monotonic()
    next_note = started + 10
    while not item.healthy(settings):
        if not process.is_running() or process.status() == psutil.STATUS_ZOMBIE:
            _reap(process.pid)
            _record_path(settings, item.name).unlink(missing_ok=True)
            raise StackError(f"the {item.title} stopped while starting; its log ends with:\n"
                             + _tail(log_path))
        if time.monotonic() - started > item.start_timeout_s:
            raise StackError(f"the {item.title} did not become healthy within "
                             f"{item.start_timeout_s:.0f} s; its log ends with:\n" + _tail(log_path))
        if time.monotonic() > next_note:
            say(f"  still waiting for the {item.title} ({time.monotonic() - started:.0f} s) ...")
            next_note += 10
        time.sleep(0.5)
    say(f"{item.title}: ready ({time.monotonic() - started:.1f} s)")


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def stop(settings: Settings, item: Component) -> bool:
    """Stop the recorded process of `item` (and its process group); True if one was running."""
    process = running_process(settings, item.name)
    record_path = _record_path(settings, item.name)
    if not process:
        record_path.unlink(missing_ok=True)
        return False
    say(f"stopping the {item.title} (pid {process.pid}) ...")
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + item.stop_timeout_s
    while time.monotonic() < deadline and _alive(process):
        time.sleep(0.2)
    if _alive(process):
        say(f"  the {item.title} did not stop within {item.stop_timeout_s:.0f} s: killing it")
        _signal_group(process.pid, signal.SIGKILL)
        while _alive(process):
            time.sleep(0.1)
    record_path.unlink(missing_ok=True)
    return True


def _alive(process: psutil.Process) -> bool:
    try:
        if process.status() == psutil.STATUS_ZOMBIE:
            _reap(process.pid)
            return False
        return process.is_running()
    except psutil.NoSuchProcess:
        return False


def _signal_group(pid: int, signum: int) -> None:
    try:
        os.killpg(pid, signum)  # started with start_new_session: its pid is its group id
    except ProcessLookupError:
        pass
