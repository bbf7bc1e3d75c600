"""One stack per test session: the real engine (built by `suban`), deployed models, the
directory, workers and console, on free ports and in a fresh data folder."""
from __future__ import annotations

import os
import shutil
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from cli import operations
from deploy.deployment import deploy, process_keys
from admin_data.environment import REPO_ROOT, Settings
from admin_data.loader import SHIPPED_FILES
from external_tasks.camunda import EngineClient, to_typed_map
from external_tasks.runtime import TaskRouter, Worker, WorkerOptions
from tests.admin_console import ConsoleSession
from tests.local_servers import CALLER_SMS, RecordingGateway, RecordingSmtp

TESTS = Path(__file__).resolve().parent
SCREENSHOTS = REPO_ROOT / "data" / "screenshots"
#: A test's worker takes only the test processes' tasks; the stack's own workers serve the rest.
TEST_PROCESSES = tuple(process_keys(sorted((TESTS / "bpmn").glob("*.bpmn"))))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def stack_settings(data_dir: Path, **overrides: str) -> Settings:
    """A stack of its own, with copies of the admin files and models: what the admin pages
    change in a test never reaches the repository's files (nor another session's)."""
    models = data_dir / "models"
    shutil.copytree(SHIPPED_FILES, data_dir / "config", dirs_exist_ok=True)
    for folder in ("bpmn", "forms"):
        shutil.copytree(REPO_ROOT / folder, models / folder, dirs_exist_ok=True)
    # The suite runs on the engine the caller chose (SUBAN_ENGINE=operaton).
    env = {"SUBAN_ENGINE": os.environ.get("SUBAN_ENGINE", ""),
           "SUBAN_DATA_DIR": str(data_dir), "SUBAN_ENGINE_PORT": str(free_port()),
           "SUBAN_CONSOLE_PORT": str(free_port()), "SUBAN_CONFIG_DIR": str(data_dir / "config"),
           "SUBAN_MODELS_DIR": str(models),
           # As behind nginx: the tests give a caller's address as X-Forwarded-For.
           "SUBAN_TRUSTED_PROXIES": "1"}
    return Settings.from_env(env | overrides)


@pytest.fixture(scope="session")
def settings(tmp_path_factory) -> Settings:
    settings = stack_settings(tmp_path_factory.mktemp("stack"))
    try:
        operations.up(settings)
    except BaseException:
        operations.down(settings)
        raise
    yield settings
    operations.down(settings)


@pytest.fixture(scope="session")
def engine(settings) -> EngineClient:
    """The engine as its administrator."""
    return EngineClient.as_admin(settings)


@pytest.fixture(scope="session")
def as_user(settings):
    """The engine as a demo user, the way Tasklist calls it for that user."""
    clients: dict[str, EngineClient] = {}

    def client(user_id: str) -> EngineClient:
        if user_id not in clients:
            clients[user_id] = EngineClient(settings.engine_rest_url, user_id,
                                            settings.demo_password)
        return clients[user_id]
    return client


@pytest.fixture
def appeals(settings, engine, as_user):
    """Appeals driven the way people do: the console API, then each unit's own tasks."""
    from tests.appeal_driver import AppealDriver
    return AppealDriver(settings, engine, as_user)


@pytest.fixture(scope="session")
def test_models(engine) -> None:
    files = sorted((TESTS / "bpmn").glob("*.bpmn"))
    deploy(engine, files, root=TESTS, name="suban-tests")


@pytest.fixture
def start_instance(engine, test_models):
    """Start test process instances; those still running at the end of the test are deleted,
    so no test's worker meets another test's tasks."""
    started = []

    def start(key: str, variables: dict | None = None) -> dict:
        business_key = f"TEST-{uuid.uuid4().hex[:10]}"
        instance = engine.post(f"/process-definition/key/{key}/start", {
            "businessKey": business_key, "variables": to_typed_map(variables)})
        started.append(instance["id"])
        return instance | {"businessKey": business_key}

    yield start
    running = engine.post("/process-instance", {"processInstanceIds": started}) if started else []
    for instance in running:
        engine.rest("DELETE", f"/process-instance/{instance['id']}",
                    params={"skipCustomListeners": "true"})


def wait_until(condition, timeout: float = 20, interval: float = 0.1, what: str = "condition"):
    """Poll `condition` until it returns something truthy (and return that)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


@pytest.fixture
def run_worker(settings):
    """Run a Worker for `router` in a thread for the rest of the test."""
    running: list[tuple[Worker, threading.Thread]] = []

    def run(router: TaskRouter, client: EngineClient | None = None, **options) -> Worker:
        client = client or EngineClient(settings.engine_rest_url, settings.worker_user,
                                        settings.worker_password)
        defaults = {"long_poll_ms": 1_000, "backoff_ms": 100, "lock_ms": 10_000,
                    "process_definition_keys": TEST_PROCESSES}
        worker = Worker(client, router, WorkerOptions(**(defaults | options)))
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        running.append((worker, thread))
        return worker

    yield run
    for worker, thread in running:
        worker.stop()
    for worker, thread in running:
        thread.join(timeout=30)
        assert not thread.is_alive(), "worker did not stop"


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium (installed by `suban test` when missing)."""
    from playwright.sync_api import sync_playwright

    from cli.operations import CHROMIUM

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync"])
        yield chromium
        chromium.close()


@pytest.fixture
def tasklist(browser, settings):
    """Log into Tasklist as a demo user, on the county's usual 1366×768 screen in Beijing
    time, in the webapps' Chinese (whatever language the browser asks for); returns the page."""
    pages = []

    def login(user_id: str):
        page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="en-US",
                                timezone_id="Asia/Shanghai")
        pages.append(page)
        page.goto(f"{settings.webapps_url}/tasklist/")
        page.get_by_placeholder("用户名").fill(user_id)
        page.get_by_placeholder("密码").fill(settings.demo_password)
        page.get_by_role("button", name="登录").click()
        page.locator(".task-filters").get_by_text("本单位待办").wait_for()
        return page

    yield login
    for page in pages:
        page.context.close()


@pytest.fixture
def screenshot(tmp_path):
    """Save a page's screenshot in the test's folder and in data/screenshots/ (to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str, full_page: bool = False) -> None:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=path, full_page=full_page)
        shutil.copy(path, SCREENSHOTS / path.name)
    return take


#: The screens the console is used on: the county's desktops and a leader's phone.
DESKTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def console_page(browser, settings):
    """Log into the console in Chromium as a user (demo users have the demo password), in
    Beijing time on a screen (DESKTOP or PHONE); returns the page, on the home page. No page
    may open a dialog (such as a prompt for a token): one fails the test."""
    pages, dialogs = [], []

    def login(user_id: str, screen: dict = DESKTOP):
        page = browser.new_page(viewport=screen, locale="zh-CN", timezone_id="Asia/Shanghai",
                                is_mobile=screen is PHONE, has_touch=screen is PHONE)
        pages.append(page)
        page.on("dialog", lambda dialog: dialogs.append(dialog.message) or dialog.dismiss())
        page.goto(f"{settings.console_url}/login")
        page.get_by_label("用户名").fill(user_id)
        page.get_by_label("密码").fill(settings.admin_password if user_id == settings.admin_user
                                      else settings.demo_password)
        page.get_by_label("密码").press("Enter")  # the keyboard is enough
        page.wait_for_url(f"{settings.console_url}/")
        return page

    yield login
    for page in pages:
        page.context.close()
    assert not dialogs, f"a console page opened a dialog: {dialogs}"


@pytest.fixture
def console_as(settings):
    """A console session logged in as a user (demo users have the demo password)."""
    def login(user_id: str | None, password: str | None = None) -> ConsoleSession:
        if user_id == settings.admin_user:
            password = password or settings.admin_password
        return ConsoleSession(settings, user_id, password or settings.demo_password)
    return login


@pytest.fixture
def restore_config(settings):
    """Put the stack's admin files back as they were, whatever the test did to them."""
    originals = {path: path.read_bytes() for path in settings.config_dir.glob("*.yaml")}
    yield
    for path, content in originals.items():
        if path.read_bytes() != content:
            path.write_bytes(content)


# -- local servers the connectors send to --------------------------------------------------------

@pytest.fixture
def gateway():
    server = RecordingGateway()
    yield server
    server.close()


@pytest.fixture
def smtp():
    handler = RecordingSmtp()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    handler.port = controller.port
    yield handler
    controller.stop()


@pytest.fixture(scope="module")
def sms_gateway() -> Iterator[RecordingGateway]:
    """A local SMS gateway for the module's own stack: the workers it starts send through it."""
    server = RecordingGateway()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SUBAN_SMS_URL", server.url(CALLER_SMS))
        yield server
    server.close()

