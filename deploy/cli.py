"""`suban`: one command for the whole stack.

    suban up              build the engine if needed, start it, deploy, sync the directory,
                          start workers and the web console (starts nothing twice)
    suban down            stop exactly what `up` started
    suban status          what runs, where
    suban deploy          deploy all BPMN, DMN and forms (changed resources only)
    suban sync-directory  sync deploy/config/directory.yaml into engine groups and users
    suban workers         run the external-task workers in the foreground
    suban console         run the web console (and its intake relay) in the foreground
    suban templates       write Camunda Modeler's element templates of the workers
    suban test [ARGS]     run the test suite (pytest ARGS); it starts its own stack
    suban assessment sync | load-synthetic | remove-synthetic   the 考核/研判 store
    suban demo-appeals    run realistic demo appeals through the engine, then sync
"""
from __future__ import annotations

import argparse
import logging
import os
import sys

from deploy import stack
from deploy.settings import DEMO_API_TOKEN, DEMO_PASSWORD, REPO_ROOT, Settings
from external_tasks.camunda import EngineClient, EngineError


def admin_client(settings: Settings) -> EngineClient:
    return EngineClient(settings.engine_rest_url, settings.admin_user, settings.admin_password)


def deploy_models(settings: Settings) -> None:
    from deploy.deployment import deploy, model_files

    from deploy.form_options import sync_form_options

    for changed in sync_form_options(settings.models_dir / "forms"):
        stack.say(f"form options refreshed from the data files: {changed.name}")
    files = model_files(settings.models_dir)
    if not files:
        stack.say(f"deploy: no BPMN, DMN or form files under {settings.models_dir}/bpmn and /forms")
        return
    result = deploy(admin_client(settings), files, settings.models_dir)
    if result.deployed:
        stack.say(f"deployed {len(result.deployed)} changed resource(s) "
                  f"(deployment {result.deployment_id}): {', '.join(result.deployed)}")
    else:
        stack.say(f"deploy: all {len(result.unchanged)} resources unchanged, nothing deployed")


def sync_directory(settings: Settings) -> None:
    from deploy.directory import DirectorySync, load_directory

    directory = load_directory(settings.config_dir / "directory.yaml")
    report = DirectorySync(admin_client(settings), settings).run(directory)
    stack.say(f"directory: {len(directory.units)} units, {len(directory.leaders)} leaders, "
              f"{len(report.changes)} change(s) in the engine")


def up(settings: Settings) -> None:
    from deploy.model_checks import ensure_tools

    refuse_demo_passwords(settings)
    stack.build_engine(settings.engine)
    ensure_tools()  # the console's deploy page runs the designers' checks on every upload
    for item in stack.COMPONENTS:
        if item.name == "workers":
            # Workers log in with the account the directory sync creates.
            deploy_models(settings)
            sync_directory(settings)
        process, started = stack.start(settings, item)
        if not started:
            stack.say(f"{item.title} already running (pid {process.pid})")
    print_summary(settings)


def down(settings: Settings) -> None:
    stopped = [item.title for item in reversed(stack.COMPONENTS) if stack.stop(settings, item)]
    stack.say("stopped: " + ", ".join(stopped) if stopped else "nothing was running")


def status(settings: Settings) -> int:
    running = 0
    for item in stack.COMPONENTS:
        process = stack.running_process(settings, item.name)
        healthy = process is not None and item.healthy(settings)
        running += bool(process)
        state = ("running" if healthy else "starting or unhealthy") if process else "stopped"
        pid = f" (pid {process.pid})" if process else ""
        print(f"{item.title:24} {state}{pid}")
    print(f"{'data folder':24} {settings.data_dir}")
    return 0 if running == len(stack.COMPONENTS) else 3


def print_summary(settings: Settings) -> None:
    from deploy.directory import load_directory

    directory = load_directory()
    examples = [unit for unit in directory.units if unit.id in ("hotline", "housing", "fengcheng")]
    print(f"""
宿事速办 is up.
  Tasklist / Cockpit / Admin  {settings.webapps_url}/
  Engine REST API             {settings.engine_rest_url}
  Web console                 {settings.console_url}/
  Logs                        {settings.log_dir}

Logins (user / password):
  {settings.admin_user} / {'demo' if settings.admin_password == DEMO_PASSWORD else '(SUBAN_ADMIN_PASSWORD)'}   administrator""")
    for unit in examples:
        print(f"  {unit.demo_user} / {settings.demo_password}   {unit.name}")
    print(f"  ... one demo user per unit: <unit id>01, {len(directory.units)} units in "
          "deploy/config/directory.yaml")
    warn_demo_passwords(settings)


def demo_secrets(settings: Settings) -> list[str]:
    """The settings that still hold a secret shipped for the demo."""
    return [name for name, value, shipped in (
        ("SUBAN_ADMIN_PASSWORD", settings.admin_password, DEMO_PASSWORD),
        ("SUBAN_WORKER_PASSWORD", settings.worker_password, DEMO_PASSWORD),
        ("SUBAN_DEMO_PASSWORD", settings.demo_password, DEMO_PASSWORD),
        ("SUBAN_API_TOKEN", settings.api_token, DEMO_API_TOKEN)) if value == shipped]


def refuse_demo_passwords(settings: Settings) -> None:
    """The production profile starts nothing while a demo secret is in use."""
    shipped = demo_secrets(settings)
    if settings.profile == "production" and shipped:
        raise stack.StackError(
            f"SUBAN_PROFILE=production refuses the demo secrets still in {', '.join(shipped)}: "
            "set each to a secret of your own (SUBAN_PROFILE=demo runs the embedded demo).")


def warn_demo_passwords(settings: Settings) -> None:
    shipped = demo_secrets(settings)
    if shipped:
        stack.say(f"WARNING: {', '.join(shipped)} still hold the demo secrets. Set them before "
                  "real use (SUBAN_PROFILE=production refuses to start with them).")


def run_workers(settings: Settings) -> None:
    import time

    from deploy.deployment import model_files, process_keys
    from external_tasks import build_router
    from external_tasks.runtime import Worker, WorkerOptions, configure_logging

    configure_logging()
    client = EngineClient(settings.engine_rest_url, settings.worker_user, settings.worker_password,
                          pool_size=settings.worker_concurrency + 4)
    while True:  # wait for the engine; a wrong password is not worth waiting for
        try:
            client.get("/version")
            break
        except EngineError as exc:
            if not exc.unreachable:
                raise
            logging.getLogger("suban.worker").warning("waiting for the engine: %s", exc)
            time.sleep(2)
    settings.run_dir.mkdir(parents=True, exist_ok=True)
    stack.workers_ready_file(settings).touch()
    Worker(client, build_router(), WorkerOptions(
        max_tasks=settings.worker_max_tasks, concurrency=settings.worker_concurrency,
        lock_ms=settings.worker_lock_ms, long_poll_ms=settings.worker_long_poll_ms,
        retries=settings.worker_retries, backoff_ms=settings.worker_backoff_ms,
        backoff_max_ms=settings.worker_backoff_max_ms,
        # Only our own processes: tasks of other processes on the engine are not ours to take.
        process_definition_keys=tuple(process_keys(model_files(settings.models_dir))))).run()


def write_element_templates(settings: Settings) -> None:
    from deploy.templates import TEMPLATES_FILE, write_templates

    state = "written" if write_templates() else "unchanged"
    stack.say(f"element templates {state}: {TEMPLATES_FILE.relative_to(REPO_ROOT)}")


def run_console(settings: Settings) -> None:
    import waitress

    from console import create_app
    from console.outbox import IntakeOutbox, IntakeRelay, outbox_path

    # Appeals taken while the engine was away are started by this thread once it answers.
    IntakeRelay(IntakeOutbox(outbox_path(settings)), admin_client(settings)).start()
    waitress.serve(create_app(settings), host="127.0.0.1", port=settings.console_port,
                   threads=8, ident="suban-console")


CHROMIUM = "/usr/bin/chromium"


def apt_install(package: str, missing: str, purpose: str) -> None:
    """Install a Debian package the tests need on a machine that lacks it (CI's fresh one)."""
    import shutil
    import subprocess

    if os.geteuid() != 0 or not shutil.which("apt-get"):
        raise stack.StackError(f"{missing} is missing: {purpose} need it "
                               f"(Debian: apt-get install {package})")
    stack.say(f"installing {package} for {purpose} (apt-get, about a minute) ...")
    quiet = {"stdout": subprocess.DEVNULL, "env": os.environ | {"DEBIAN_FRONTEND": "noninteractive"}}
    subprocess.run(["apt-get", "update", "-qq"], check=True, **quiet)
    subprocess.run(["apt-get", "install", "-y", "-qq", package], check=True, **quiet)


def ensure_test_browser() -> None:
    """The Tasklist tests drive Debian's Chromium."""
    if not os.path.exists(CHROMIUM):
        apt_install("chromium", CHROMIUM, "the Tasklist tests")


def ensure_test_postgres() -> None:
    """The cluster tests run two engine nodes on a throw-away PostgreSQL cluster."""
    from deploy import postgres

    if postgres.bin_dir() is None:
        apt_install(postgres.DEBIAN_PACKAGE, "PostgreSQL (initdb)", "the cluster tests")


def run_tests(arguments: list[str]) -> None:
    from deploy.model_checks import ensure_tools

    ensure_test_browser()
    ensure_test_postgres()
    ensure_tools()
    os.chdir(REPO_ROOT)
    os.execv(sys.executable, [sys.executable, "-m", "pytest", *arguments])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] in (["assessment"], ["demo-appeals"]):  # their own options: assessment/cli.py
        from assessment.cli import main as assessment_main
        return assessment_main(argv)
    if argv[:1] == ["test"]:
        try:
            run_tests(argv[1:])  # everything after `test` belongs to pytest
        except (stack.StackError, OSError) as exc:
            stack.say(f"error: {exc}")
            return 1
    parser = argparse.ArgumentParser(prog="suban", description="宿事速办 12345 hotline stack")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (("up", "start the whole stack"), ("down", "stop what up started"),
                            ("status", "show what runs"), ("build", "build the engine jar"),
                            ("deploy", "deploy BPMN, DMN and forms"),
                            ("sync-directory", "sync the directory of units into the engine"),
                            ("workers", "run the workers in the foreground"),
                            ("console", "run the web console in the foreground"),
                            ("templates", "write the workers' element templates for Modeler")):
        commands.add_parser(name, help=help_text)
    commands.add_parser("test", help="run the test suite; further arguments go to pytest")
    args = parser.parse_args(argv)
    settings = Settings.from_env()
    actions = {
        "up": up, "down": down, "status": status, "deploy": deploy_models,
        "build": lambda settings: stack.build_engine(settings.engine, force=True), "sync-directory": sync_directory,
        "workers": run_workers, "console": run_console, "templates": write_element_templates,
    }
    from deploy.deployment import DeploymentRefused
    from deploy.directory import DirectoryError
    from deploy.templates import TemplateSourceError

    try:
        return actions[args.command](settings) or 0
    except (stack.StackError, EngineError, DeploymentRefused, DirectoryError,
            TemplateSourceError) as exc:
        stack.say(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
