"""`suban up` / `down` / `status` as an operator runs them: a second, separate stack."""
import json
import os
import shutil
import sys
import socket

import psutil
import pytest

from deploy import stack
from admin_data.environment import Settings
from external_tasks.category_suggester import category_model_files
from tests.conftest import TESTS, stack_settings
from tests.helpers import run_suban




def recorded_pids(settings: Settings) -> dict[str, int]:
    return {item.name: process.pid for item in stack.COMPONENTS
            if (process := stack.running_process(settings, item.name))}


@pytest.fixture
def second_stack(tmp_path, settings):
    own = stack_settings(tmp_path / "second")
    yield own
    run_suban(own, "down")


def test_up_is_idempotent_and_down_leaves_no_process(second_stack):
    first = run_suban(second_stack, "up")
    assert first.returncode == 0, first.stderr
    assert "宿事速办 is up" in first.stdout
    assert "hotline01 / demo" in first.stdout
    # Day one: the desk's category suggester starts on a model, not on keywords alone.
    [model] = category_model_files(second_stack.data_dir / "suggester")
    assert f"category model {model.name}" in first.stderr
    pids = recorded_pids(second_stack)
    assert set(pids) == {"engine", "workers", "console"}
    processes = [psutil.Process(pid) for pid in pids.values()]
    family = {child.pid for process in processes for child in process.children(recursive=True)}

    again = run_suban(second_stack, "up")
    assert again.returncode == 0, again.stderr
    assert again.stderr.count("already running") == 3
    assert "0 change(s) in the engine" in again.stderr
    assert "category model" not in again.stderr
    assert recorded_pids(second_stack) == pids

    status = run_suban(second_stack, "status")
    assert status.returncode == 0 and status.stdout.count("running (pid") == 3

    down = run_suban(second_stack, "down")
    assert down.returncode == 0, down.stderr
    for pid in set(pids.values()) | family:
        assert not psutil.pid_exists(pid) or \
            psutil.Process(pid).status() == psutil.STATUS_ZOMBIE, f"pid {pid} survived down"
    assert not stack.port_in_use(second_stack.engine_port)
    assert not stack.port_in_use(second_stack.console_port)
    assert run_suban(second_stack, "status").returncode == 3
    assert list((second_stack.data_dir / "logs").glob("*.log"))


def test_port_taken_names_the_port_and_the_setting(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        own = stack_settings(tmp_path / "busy", SUBAN_ENGINE_PORT=str(port))
        result = run_suban(own, "up")
    assert result.returncode == 1
    assert f"port {port} is already in use" in result.stderr
    assert "SUBAN_ENGINE_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_java_says_what_to_install(tmp_path):
    bare = tmp_path / "bin"
    bare.mkdir()
    os.symlink(sys.executable, bare / "python3")
    own = stack_settings(tmp_path / "nojava")
    result = run_suban(own, "up", env={"PATH": str(bare)})
    assert result.returncode == 1
    assert "'java' was not found" in result.stderr
    assert "openjdk-17" in result.stderr


def test_wrong_credentials_give_a_clear_message(settings):
    # An account that does not exist: after a failed login the engine refuses further logins of
    # an existing user for a while, and the supervision tests log in as every demo user.
    result = run_suban(settings, "deploy", env={"SUBAN_ADMIN_USER": "no-such-admin",
                                            "SUBAN_ADMIN_PASSWORD": "wrong-password",
                                            "SUBAN_MODELS_DIR": str(TESTS)})
    assert result.returncode == 1
    assert "refused the credentials of user 'no-such-admin' (401 Unauthorized)" in result.stderr
    assert "Traceback" not in result.stderr


def test_missing_maven_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setattr(stack, "engine_jar_is_current", lambda engine: False)
    real_which = shutil.which
    monkeypatch.setattr(stack.shutil, "which",
                        lambda tool: None if tool == "mvn" else real_which(tool))
    with pytest.raises(stack.StackError, match="'mvn' was not found.*apt-get install maven"):
        stack.build_engine("camunda")


def test_a_recorded_process_is_known_by_its_command_not_its_start_time(tmp_path):
    """psutil derives a process's start time from the wall clock: a clock step moved it on a
    running engine, and `down` took the engine for gone. A pid now used by another command is
    still not ours."""
    own = stack_settings(tmp_path / "records")
    own.run_dir.mkdir(parents=True)
    command = [sys.executable, "-c", "import time; time.sleep(60)"]
    sleeper = psutil.Popen(command)
    try:
        record = stack._record_path(own, "workers")
        record.write_text(json.dumps({"pid": sleeper.pid, "command": command,
                                      "create_time": sleeper.create_time() - 34}))
        assert stack.running_process(own, "workers").pid == sleeper.pid
        record.write_text(json.dumps({"pid": sleeper.pid, "command": [*command, "other"]}))
        assert stack.running_process(own, "workers") is None
    finally:
        sleeper.kill()
        sleeper.wait()
