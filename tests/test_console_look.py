"""The console as the hotline centre and the leaders use it, in Debian's Chromium: one look
(Bootstrap and ECharts from our own static files), every page behind the console login, a home
page per role, long actions that show progress and cannot start twice, the county's desktop
and a leader's phone. Screenshots go to the test's folder and to data/screenshots/."""
from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.admin_console import ConsoleSession
from tests.conftest import PHONE, wait_until
from tests.helpers import assert_fits_the_screen

MODELS = Path(__file__).resolve().parent / "admin_models"
HOTLINE_QUEUES = {"Task_ReviewIntake": "审核受理", "Task_ReviewDispatch": "审核派单",
                  "Task_ReviewReply": "审核答复", "Task_CallbackCaller": "待回访"}
BEIJING_MINUTE = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$")


def test_a_leader_sees_the_days_figures_a_chart_and_the_major_risks(
        console_page, appeals, screenshot):
    number = appeals.submit(title="小区外墙脱落恐发生安全事故")
    page = console_page("countyleaders01")

    def alert_listed():
        page.reload()
        return page.locator("#risk-title + div").get_by_text(number).count() == 1
    wait_until(alert_listed, timeout=60, what="the major-risk alert on the leader's home page")
    figures = dict(zip(page.locator("#leader-figures .label").all_inner_texts(),
                       page.locator("#leader-figures .value").all_inner_texts()))
    assert list(figures) == ["今日受理", "今日办结", "在办工单", "超期在办"]
    assert int(figures["今日受理"]) >= 1
    page.locator("#intake-chart canvas").wait_for()  # drawn by ECharts
    row = page.locator("#risk-title + div tr", has_text=number)
    assert "安全事故" in row.inner_text()
    assert BEIJING_MINUTE.match(row.locator("td").nth(4).inner_text())
    screenshot(page, "console-leader-home")

    phone = console_page("countyleaders01", PHONE)
    phone.locator("#intake-chart canvas").wait_for()
    assert_fits_the_screen(phone)
    assert phone.get_by_role("button", name="展开菜单").is_visible()  # the menu folds away
    screenshot(phone, "console-leader-home-phone", full_page=True)


def test_the_hotline_centre_sees_its_queues_with_counts_and_links_to_their_filters(
        console_page, engine, tasklist, screenshot):
    page = console_page("hotline01")
    queues = page.locator("#hotline-queues")
    shown = dict(zip(queues.locator(".label").all_inner_texts(),
                     queues.locator(".value").all_inner_texts()))
    for key, name in HOTLINE_QUEUES.items():
        assert int(shown[name]) == engine.get("/task/count", taskDefinitionKey=key)["count"]
    assert "今日受理" in shown
    assert page.get_by_role("heading", name="超期在办工单").is_visible()
    assert page.locator("#intake-chart").count() == 0  # the leaders' chart is not theirs
    screenshot(page, "console-hotline-home")

    # Each queue opens Tasklist with its own filter selected.
    desk = tasklist("hotline01")
    for name in HOTLINE_QUEUES.values():
        link = queues.get_by_role("link", name=re.compile(name)).get_attribute("href")
        assert re.search(r"/tasklist/default/#/\?filter=[\w-]+$", link), link
        desk.goto(link)
        desk.locator(".task-filters .task-filter.active", has_text=name).wait_for()
    screenshot(desk, "tasklist-hotline-queue")


def test_the_deploy_page_disables_its_button_while_checks_run(console_page, settings,
                                                              screenshot):
    page = console_page(settings.admin_user)
    page.goto(f"{settings.console_url}/admin/deploy")
    page.locator("input[name=files]").set_input_files(str(MODELS / "admin_probe_v1.bpmn"))
    # Without a reason the server refuses the form: the error names the field, nothing starts.
    page.get_by_role("button", name="检查并部署").click()
    status = page.locator("[data-job-status=deploy]")
    status.get_by_text("请写明修改原因").wait_for()
    assert "reason" not in status.inner_text()
    assert page.get_by_role("button", name="检查并部署").is_enabled()
    page.get_by_label("部署原因").fill("浏览器中部署测试模型")
    # Pressed twice in a row: the button disables at once, the second press does nothing, and
    # the elapsed time shows until the checks end; then the page reloads with the result.
    with page.expect_navigation(timeout=300_000):
        disabled, progress = page.evaluate("""() => {
            const button = [...document.querySelectorAll("button")].find((b) => b.textContent === "检查并部署");
            button.click(); button.click();
            return [button.disabled, document.querySelector("[data-job-status=deploy]").textContent]; }""")
        assert disabled and "已用时" in progress
        page.get_by_text("正在检查并部署…").wait_for()
        screenshot(page, "console-deploy-running")
    status.get_by_text("检查并部署已完成").wait_for()  # the result stays on the page
    result = status.inner_text()
    assert ("已部署" in result and "admin_probe_v1.bpmn" in result) or "相同" in result, result
    assert page.get_by_role("button", name="检查并部署").is_enabled()
    screenshot(page, "console-deploy-done")


def test_console_pages_need_the_login_and_the_api_takes_it_for_the_pages(settings, console_as):
    visitor = ConsoleSession(settings)
    for path in ("/", "/assessment", "/assessment/bulletin"):
        assert visitor.get(path).headers["Location"].startswith("/login"), path
    assert visitor.get("/api/v1/assessment/trend", month="2025-06").status_code == 401
    assert console_as("housing01").get("/assessment").status_code == 403  # read-only

    leader = console_as("countyleaders01")
    trend = leader.get("/api/v1/assessment/trend", month="2025-06", months="3")
    assert trend.status_code == 200, trend.text
    assert [item["month"] for item in trend.json()["months"]] == ["2025-04", "2025-05", "2025-06"]
    assert all(item["county"]["unit"] == "county" for item in trend.json()["months"])
    assert leader.get("/api/v1/assessment/trend", month="2025-06", months="99").json() == {
        "errors": {"months": ["「月数」应为 1 到 36"]}}
    # A change through the login also needs the page's CSRF token.
    refused = leader.http.post(settings.console_url + "/api/v1/assessment/sync", timeout=30)
    assert refused.status_code == 400 and "X-CSRFToken" in refused.json()["errors"]
    synced = leader.http.post(settings.console_url + "/api/v1/assessment/sync", timeout=120,
                              headers={"X-CSRFToken": leader.csrf_token})
    assert synced.status_code == 200, synced.text
    machine = requests.get(f"{settings.console_url}/api/v1/assessment/trend",
                           params={"month": "2025-06"}, timeout=30,
                           headers={"Authorization": f"Bearer {settings.api_token}"})
    assert machine.status_code == 200 and len(machine.json()["months"]) == 12


def test_the_login_form_works_from_the_keyboard_on_a_phone(browser, settings, screenshot):
    page = browser.new_page(viewport=PHONE, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page.goto(f"{settings.console_url}/assessment")  # a page behind the login
        assert_fits_the_screen(page)
        screenshot(page, "console-login-phone")
        page.keyboard.type("countyleaders01")  # the user name field has the focus
        page.keyboard.press("Tab")
        page.keyboard.type(settings.demo_password)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{settings.console_url}/assessment")  # back where the user was going
        page.locator("#trend canvas").wait_for()
        assert_fits_the_screen(page)
        screenshot(page, "console-assessment-phone", full_page=True)
    finally:
        page.context.close()
