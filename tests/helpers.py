"""What several test modules share that is not a fixture (fixtures live in conftest.py)."""
from __future__ import annotations

import os
import subprocess
import sys

import requests

from admin_data.environment import REPO_ROOT, Settings
from external_tasks.camunda import LockedTask

#: The TipDM 2020 C reference messages (real citizen messages), beside the repository.
TIPDM_DIR = REPO_ROOT.parent / "shared" / "data" / "tipdm2020c"

#: 副县长(分管城乡建设) has 凤城街道 in `in_charge_of` (admin_data/files/directory.yaml).
LEADER_OF_FENGCHENG = "leaderurban"

#: An appeal as the intake API takes it.
INTAKE_APPEAL = {"kind": "complaint", "categoryCode": "construction.propertyService",
                 "title": "小区物业不清理垃圾", "content": "小区楼道垃圾堆积一周无人清理, 物业不作为",
                 "township": "fengcheng", "callerName": "王小明", "callerPhone": "13912345678"}

#: A BPMN file the designers' checks refuse (a start event leading nowhere).
BROKEN_BPMN = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_Broken"
    targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:process id="broken" isExecutable="true">
    <bpmn:startEvent id="StartEvent_Alone" name="已开始" />
  </bpmn:process>
</bpmn:definitions>
"""


def run_suban(settings: Settings, *args: str, env: dict | None = None, timeout: float = 400):
    environment = os.environ | settings.to_env() | (env or {})
    return subprocess.run([sys.executable, "-m", "cli", *args], cwd=REPO_ROOT,
                          env=environment, capture_output=True, text=True, timeout=timeout)


def request_supervision(appeals, number, body, token=None):
    return requests.post(
        f"{appeals.settings.console_url}/api/v1/appeals/{number}/supervisions", json=body,
        headers={"Authorization": f"Bearer {token or appeals.settings.api_token}"}, timeout=30)


def locked_task(variables: dict, process_instance_id: str = "pi-direct",
                activity_instance_id: str = "Task_Notify:direct-1") -> LockedTask:
    return LockedTask(id="task-1", topic="send-notification", business_key="TEST-direct",
                      process_instance_id=process_instance_id, process_definition_key="test_notify",
                      activity_id="Task_Notify", activity_instance_id=activity_instance_id,
                      retries=None, variables=variables, create_time=None, lock_expiration=None,
                      extension_properties={})


def county_screen(browser, locale: str):
    """A page on the county's usual screen and clock, with the browser asking for `locale`."""
    return browser.new_page(viewport={"width": 1366, "height": 768}, locale=locale,
                            timezone_id="Asia/Shanghai")


def console_login(browser, base_url: str, user_id: str, password: str):
    """A Chromium page logged into the console at `base_url` (1366×768, the county's screens)."""
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    page.goto(f"{base_url}/login")
    page.get_by_label("用户名").fill(user_id)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{base_url}/")
    return page


def run_daily_process_now(engine, instance_id: str) -> str:
    """A daily process waits after its midnight start until `runAt` (hotline.yaml daily): once
    `plan-daily-run` has set it, run it now — `runAt` moved to now, its timer executed (a time
    already past has fired the timer by itself). Returns `runAt` as planned (ISO, Beijing)."""
    import datetime as dt

    from admin_data.workdays import SHANGHAI
    from external_tasks.camunda import parse_engine_date
    from tests.conftest import wait_until

    # The timer is made in the transaction that sets runAt: seen together, or the timer fired.
    [planned] = wait_until(lambda: engine.get("/history/variable-instance", variableName="runAt",
                                              processInstanceId=instance_id),
                           what="the daily run's time")
    for job in engine.get("/job", processInstanceId=instance_id, timers="true"):
        now = dt.datetime.now(SHANGHAI).replace(microsecond=0)
        if parse_engine_date(job["dueDate"]) <= now:
            continue  # a time already past: the job executor fires it within a second
        engine.post(f"/process-instance/{instance_id}/variables",
                    {"modifications": {"runAt": {"value": now.isoformat(), "type": "String"}}})
        engine.post(f"/job/{job['id']}/execute")
    return planned["value"]


def assert_fits_the_screen(page) -> None:
    """Nothing wider than the screen: a phone never scrolls sideways (wide tables scroll in
    their own box)."""
    # Against the screen, not window.innerWidth: a phone zooms out to show a page wider than
    # itself, and innerWidth grows with it.
    width = page.viewport_size["width"]
    overflow = page.evaluate("document.documentElement.scrollWidth") - width
    if overflow > 0:  # name the widest elements that stick out, to know what to fix
        sticking_out = page.evaluate("""(width) => [...document.querySelectorAll("body *")]
            .filter((element) => element.getBoundingClientRect().right > width)
            .sort((a, b) => b.getBoundingClientRect().right - a.getBoundingClientRect().right)
            .slice(0, 5).map((element) => element.outerHTML.slice(0, 100))""", width)
    assert overflow <= 0, f"{page.url}: the page is {overflow}px wider than the screen: {sticking_out}"
