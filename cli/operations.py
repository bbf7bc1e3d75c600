"""What the `suban` commands do, as plain functions of the settings (the test suite calls them
too): bring the stack up and down, deploy, sync the directory, run workers and console."""
from __future__ import annotations

import datetime as dt
import logging
import os
import sys

from admin_data.directory import load_directory
from admin_data.environment import DEMO_API_TOKEN, DEMO_PASSWORD, REPO_ROOT, Settings
from admin_data.workdays import SHANGHAI
from external_tasks.calendar_check import missing_calendar_year
from deploy import stack
from deploy.directory_sync import DirectorySync
from external_tasks.camunda import EngineClient, EngineError


def deploy_models(settings: Settings) -> None:
    from deploy.deployment import deploy, model_files

    from deploy.form_options import sync_form_options

    for changed in sync_form_options(settings.models_dir / "forms"):
        stack.say(f"form options refreshed from the data files: {changed.name}")
    files = model_files(settings.models_dir)
    if not files:
        stack.say(f"deploy: no BPMN, DMN or form files under {settings.models_dir}/bpmn and /forms")
        return
    result = deploy(EngineClient.as_admin(settings), files, settings.models_dir)
    if result.deployed:
        stack.say(f"deployed {len(result.deployed)} changed resource(s) "
                  f"(deployment {result.deployment_id}): {', '.join(result.deployed)}")
    else:
        stack.say(f"deploy: all {len(result.unchanged)} resources unchanged, nothing deployed")


def sync_directory(settings: Settings) -> None:
    directory = load_directory(settings.config_dir / "directory.yaml")
    report = DirectorySync(EngineClient.as_admin(settings), settings).run(directory)
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
            train_first_category_model(settings)
        process, started = stack.start(settings, item)
        if not started:
            stack.say(f"{item.title} already running (pid {process.pid})")
    print_summary(settings)


def train_category_model(settings: Settings, engine: EngineClient | None) -> None:
    """A new version of the desk's category suggester (with an engine: from its closed appeals
    too)."""
    from external_tasks import category_suggester

    info = category_suggester.train(engine, settings)
    stack.say(f"category model {info.path.name}: {info.examples} examples, "
              f"{info.from_appeals} of them closed appeals, "
              f"trained {info.trained_at:%Y-%m-%d %H:%M} UTC")


def train_first_category_model(settings: Settings) -> None:
    """Day one: without a usable model the desk would start on keyword suggestions alone."""
    from external_tasks import category_suggester

    if category_suggester.newest_usable_model(category_suggester.model_folder(settings)) is None:
        train_category_model(settings, EngineClient.as_admin(settings))


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
    print(f"{'working-day calendar':24} {calendar_state(settings)}")
    return 0 if running == len(stack.COMPONENTS) else 3


def calendar_state(settings: Settings, today: dt.date | None = None) -> str:
    """Whether the holiday data covers the years deadlines reach into (the console's warning)."""
    missing = missing_calendar_year(EngineClient.as_admin(settings),
                                    today or dt.datetime.now(SHANGHAI).date(), settings.config_dir)
    return f"缺少 {missing.year} 年 — {missing.describe()}" if missing else "ok"


def print_summary(settings: Settings) -> None:
    directory = load_directory(settings.config_dir / "directory.yaml")
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
          f"{settings.config_dir / 'directory.yaml'}")
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
    client = EngineClient.as_worker(settings, pool_size=settings.worker_concurrency + 4)
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
    from external_tasks.runtime import configure_logging

    configure_logging()  # JSON lines at INFO: every API call with its client's name

    # Appeals taken while the engine was away are started by this thread once it answers.
    IntakeRelay(IntakeOutbox(outbox_path(settings)), EngineClient.as_admin(settings)).start()
    # The client's address (login throttle, self-query limits) and scheme (Secure cookie) come
    # from X-Forwarded-For/-Proto only through SUBAN_TRUSTED_PROXIES (create_app's ProxyFix):
    # waitress passes the headers on untouched.
    waitress.serve(create_app(settings), host="127.0.0.1", port=settings.console_port,
                   threads=8, ident="suban-console", clear_untrusted_proxy_headers=False)


CHROMIUM = "/usr/bin/chromium"
#: A font with Chinese glyphs: without one the browser tests' screenshots show empty boxes.
CJK_FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


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
    """The Tasklist tests drive Debian's Chromium, and look at Chinese pages."""
    if not os.path.exists(CHROMIUM):
        apt_install("chromium", CHROMIUM, "the Tasklist tests")
    if not os.path.exists(CJK_FONT):
        apt_install("fonts-wqy-microhei", CJK_FONT, "the browser tests' Chinese screenshots")


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


def sync_assessment(settings: Settings) -> None:
    from assessment import store
    from assessment.sync import sync

    path = store.store_path(settings)
    report = sync(EngineClient.as_admin(settings), path)
    stack.say(f"assessment store {path}: {report.closed} closed and {report.open} open "
              f"appeals read, {report.removed} removed; watermark {report.watermark}")
