"""What users see when something is refused or fails, in Chinese: the console's error pages
(404, 405, 403, 500) in its look, without werkzeug's English or a stack trace; the API's errors
as JSON with a Chinese message; the engine's pages instead of Spring Boot's English "Whitelabel
Error Page"."""
from __future__ import annotations

from console import create_app
from tests.conftest import DESKTOP


def test_console_error_pages_are_chinese_in_the_console_look(console_page, settings,
                                                              screenshot):
    page = console_page("hotline01")
    answer = page.goto(f"{settings.console_url}/no-such-page")
    assert answer.status == 404
    assert page.get_by_role("heading", name="页面不存在").is_visible()
    assert page.get_by_role("navigation", name="主菜单").is_visible()  # the console's look
    page.get_by_role("link", name="返回首页").focus()  # reachable from the keyboard
    body = page.locator("body").inner_text()
    assert "Not Found" not in body and "requested URL" not in body
    screenshot(page, "console-error-404")

    answer = page.goto(f"{settings.console_url}/logout")  # an address for forms only
    assert answer.status == 405
    assert page.get_by_role("heading", name="不支持此操作").is_visible()
    assert "Method Not Allowed" not in page.locator("body").inner_text()

    answer = page.goto(f"{settings.console_url}/admin/")  # not for the hotline centre
    assert answer.status == 403
    assert page.get_by_role("heading", name="无权访问").is_visible()
    assert "此页面仅限管理员使用" in page.locator("body").inner_text()
    screenshot(page, "console-error-403")


def test_a_failure_shows_no_stack_trace_on_a_page_nor_in_the_api(settings):
    app = create_app(settings)

    def fail():
        raise RuntimeError("internal detail of the failure")
    app.add_url_rule("/test-failure", "test_failure", fail)
    app.add_url_rule("/api/v1/test-failure", "api_test_failure", fail)
    client = app.test_client()

    page = client.get("/test-failure")
    text = page.get_data(as_text=True)
    assert page.status_code == 500 and page.content_type.startswith("text/html")
    assert "<h1 id=\"error-title\">服务器内部错误</h1>" in text and "详情已记入控制台日志" in text
    for leak in ("internal detail", "Traceback", "RuntimeError", "Internal Server Error"):
        assert leak not in text, leak

    failed = client.get("/api/v1/test-failure")
    assert failed.status_code == 500
    assert failed.json == {"errors": {"_server": ["服务器内部错误, 详情已记入控制台日志 (internal error)"]}}
    missing = client.get("/api/v1/no-such-path")
    assert missing.status_code == 404
    assert missing.json == {"errors": {"_path": ["没有这个接口 (no such API path)"]}}


def test_the_engine_error_pages_are_chinese(browser, settings, screenshot):
    page = browser.new_page(viewport=DESKTOP, locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        answer = page.goto(f"{settings.webapps_url}/tasklist/default/no-such-page")
        assert answer.status == 404
        assert page.get_by_role("heading", name="页面不存在").is_visible()
        assert page.get_by_role("link", name="打开任务列表").get_attribute("href") == \
            "/camunda/app/tasklist/"
        assert "Whitelabel" not in page.locator("body").inner_text()
        screenshot(page, "engine-error-404")

        answer = page.goto(f"{settings.webapps_url}/no-such-app/")  # fails inside
        assert answer.status == 500
        assert page.get_by_role("heading", name="流程引擎出错").is_visible()
        assert "Exception" not in page.locator("body").inner_text()
    finally:
        page.context.close()
