"""Long actions of the console run as jobs (console/jobs.py): the page shows progress (n of N)
and the elapsed time, the button disables, a second start meanwhile is refused by the server,
and the result stays on the page. Here with the admin's 演示数据 page, in Chromium."""
from __future__ import annotations

import re

from tests.admin_console import ConsoleSession


def test_the_admin_runs_demo_appeals_with_progress_and_cannot_start_them_twice(
        console_page, settings, screenshot):
    admin = ConsoleSession(settings, settings.admin_user, settings.admin_password)
    refused = admin.post("/admin/demo", {"count": "0"})
    assert refused.status_code == 400
    assert refused.json()["errors"] == {"count": ["「工单数量」应为 1 到 2000"]}

    page = console_page(settings.admin_user)
    page.goto(f"{settings.console_url}/admin/demo")
    page.get_by_label("工单数量").fill("3")
    button = page.get_by_role("button", name="生成演示工单")
    button.press("Enter")  # the keyboard is enough
    status = page.locator('[data-job-status="demo-appeals"]')
    status.get_by_text(re.compile(r"正在生成演示工单… 已(登记|办结) \d+ 件 第 \d / 6 项 · 已用时 \d+ 秒")).wait_for()
    assert button.is_disabled()
    assert status.get_by_role("progressbar").get_attribute("aria-valuemax") == "6"
    screenshot(page, "console-demo-running")

    # Meanwhile a second start, from another session, is refused by the server.
    second = admin.post("/admin/demo", {"count": "1"})
    assert second.status_code == 409
    assert "「生成演示工单」正在进行" in second.json()["errors"]["_job"][0]
    # A reload finds the job still running and follows it.
    page.reload()
    status.get_by_text("正在生成演示工单").wait_for()
    assert button.is_disabled()

    status.get_by_text("生成演示工单已完成").wait_for(timeout=300_000)
    assert re.search(r"已生成并办结 3 件演示工单: \S+ … \S+", status.inner_text())
    assert button.is_enabled()
    screenshot(page, "console-demo-done")
    page.reload()  # the result stays
    status.get_by_text("已生成并办结 3 件演示工单").wait_for()
