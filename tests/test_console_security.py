"""The console against brute force and stolen sessions: security headers and no inline script
on every route (read from the app's URL map), the session cookie's flags, sessions that end on
logout and on a new password, logins throttled per user and per address with the lockout in the
audit trail, and API errors that name no engine internals."""
from __future__ import annotations

import dataclasses
import re
import shutil

import pytest
import requests

from admin_data.environment import REPO_ROOT
from console import create_app
from console.security import ADDRESS_RULE, HEADERS, USER_RULE
from tests.admin_console import ConsoleSession, errors_of
from tests.conftest import free_port

SAMPLE_ARGUMENTS = {"integer": "1"}  # other converters take "x"
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|\son[a-z]+\s*=", re.I)


def console_routes(settings) -> list[tuple[str, str]]:
    """(method, path with sample arguments) of every route of the console."""
    routes = []
    for rule in create_app(settings).url_map.iter_rules():
        path = rule.rule
        for name, converter in rule._converters.items():
            kind = type(converter).__name__.removesuffix("Converter").lower()
            path = re.sub(rf"<(?:[^:>]+:)?{name}>", SAMPLE_ARGUMENTS.get(kind, "x"), path)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            routes.append((method, path))
    return routes


def test_every_route_sends_the_security_headers_and_no_inline_script(settings, console_as):
    admin = console_as(settings.admin_user)
    routes = console_routes(settings)
    assert ("GET", "/admin/api-clients") in routes and ("POST", "/login") in routes
    for method, path in routes:
        for session in (admin.http, requests.Session()):  # logged in, and a visitor
            response = session.request(method, settings.console_url + path, timeout=120,
                                       allow_redirects=False)
            for name, value in HEADERS.items():
                assert response.headers.get(name) == value, (method, path, name)
            if response.headers.get("Content-Type", "").startswith("text/html"):
                assert not INLINE_SCRIPT.search(response.text), (method, path)
    assert "frame-ancestors 'none'" in HEADERS["Content-Security-Policy"]
    assert "'unsafe-inline'" not in HEADERS["Content-Security-Policy"].split("script-src")[1] \
        .split(";")[0]


def cookie_flags(response: requests.Response) -> str:
    return response.headers["Set-Cookie"].lower()


def test_the_session_cookie_is_httponly_samesite_and_secure_over_https(settings):
    page = ConsoleSession(settings)
    login = {"username": "hotline01", "password": settings.demo_password}
    plain = page.post("/login", login)
    assert "httponly" in cookie_flags(plain) and "samesite=lax" in cookie_flags(plain)
    assert "secure" not in cookie_flags(plain).replace("httponly", "")
    page = ConsoleSession(settings)
    over_https = page.http.post(settings.console_url + "/login", data=login | {
        "csrf_token": page.csrf_token}, allow_redirects=False, timeout=60, headers={
            "X-Forwarded-Proto": "https",  # over HTTPS, Flask-WTF checks the referrer too
            "Referer": settings.console_url.replace("http:", "https:") + "/login"})
    assert over_https.status_code == 302
    assert "; secure" in cookie_flags(over_https)


def test_a_session_ends_on_logout_even_for_a_copied_cookie(settings, console_as):
    page = console_as("hotline01")
    copied = dict(page.http.cookies)
    assert page.get("/").status_code == 200
    page.post("/logout")
    replayed = requests.get(settings.console_url + "/", cookies=copied, allow_redirects=False,
                            timeout=60)
    assert replayed.status_code == 302 and "/login" in replayed.headers["Location"]


def test_a_new_password_ends_every_session_of_the_user(settings, engine, console_as):
    user, old, new = "pwchange01", "old-password-1", "new-password-2"
    if not engine.get("/user", id=user):
        engine.post("/user/create", {"profile": {"id": user, "firstName": "改密", "lastName": "测试",
                                                 "email": f"{user}@suban.invalid"},
                                     "credentials": {"password": old}})
    first, second = console_as(user, old), console_as(user, old)
    refused = first.post("/password", {"current": old, "new": "short", "repeated": "short"})
    assert refused.status_code == 400 and "「新密码」至少 8 个字符" in errors_of(refused)
    changed = first.post("/password", {"current": old, "new": new, "repeated": new})
    assert changed.status_code == 302
    for page in (first, second):
        assert page.get("/").status_code == 302
    assert console_as(user, new).get("/").status_code == 200
    assert "修改密码" in console_as(settings.admin_user).get("/admin/audit").text


def try_login(settings, username: str, password: str, address: str) -> requests.Response:
    page = ConsoleSession(settings)
    return page.http.post(settings.console_url + "/login", data={
        "username": username, "password": password, "csrf_token": page.csrf_token},
        headers={"X-Forwarded-For": address}, allow_redirects=False, timeout=60)


def test_a_user_name_is_locked_out_after_wrong_passwords(settings, console_as):
    for _ in range(USER_RULE.failures):
        assert try_login(settings, "lockedout01", "wrong", "10.1.1.1").status_code == 401
    refused = try_login(settings, "lockedout01", "wrong", "10.1.1.2")
    assert refused.status_code == 429
    assert f"该用户已被暂时锁定, 请 {USER_RULE.lockout_s // 60:.0f} 分钟后再试" in errors_of(refused)
    audit = console_as(settings.admin_user).get("/admin/audit").text
    assert "登录锁定" in audit and "用户 lockedout01" in audit


def test_an_address_is_locked_out_after_wrong_passwords_for_many_names(settings, console_as):
    address = "10.2.2.2"
    for attempt in range(ADDRESS_RULE.failures):
        assert try_login(settings, f"guess{attempt}", "wrong", address).status_code == 401
    refused = try_login(settings, "hotline01", settings.demo_password, address)
    assert refused.status_code == 429 and "该地址已被暂时锁定" in errors_of(refused)
    assert try_login(settings, "hotline01", settings.demo_password, "10.2.2.3").status_code == 302
    assert f"地址 {address}" in console_as(settings.admin_user).get("/admin/audit").text


@pytest.fixture
def console_without_engine(settings, tmp_path):
    """The console with an engine that does not answer."""
    app = create_app(dataclasses.replace(settings, engine_port=free_port(), data_dir=tmp_path))
    return app.test_client()


@pytest.mark.parametrize("method, path", [("get", "/api/v1/appeals/XS20261201-0001"),
                                          ("post", "/api/v1/appeals/XS20261201-0001/supervisions")])
def test_api_errors_name_no_engine_internals(settings, console_without_engine, method, path):
    response = getattr(console_without_engine, method)(
        path, headers={"Authorization": f"Bearer {settings.api_token}"},
        json={"level": 3, "reason": "重大疑难件"} if method == "post" else None)
    assert response.status_code == 503
    body = response.get_data(as_text=True)
    for internal in ("engine-rest", "127.0.0.1", "Traceback", "Exception", "org.camunda",
                     "requests", str(settings.engine_port)):
        assert internal not in body, internal
    assert "流程引擎暂不可用" in body


def test_the_lockout_and_the_password_page_in_the_browser(browser, settings, engine, tmp_path):
    """What a locked-out user reads, and the password page, all in Chinese."""
    user, password = "pwpage01", "page-password-1"
    if not engine.get("/user", id=user):
        engine.post("/user/create", {"profile": {"id": user, "firstName": "页面", "lastName": "测试",
                                                 "email": f"{user}@suban.invalid"},
                                     "credentials": {"password": password}})
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    shots = REPO_ROOT / "data" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    for _ in range(USER_RULE.failures + 1):
        page.goto(f"{settings.console_url}/login")
        page.get_by_label("用户名").fill("browserlocked01")
        page.get_by_label("密码").fill("wrong-password")
        page.get_by_role("button", name="登录").click()
    assert "该用户已被暂时锁定" in page.locator(".errors").inner_text()
    page.screenshot(path=tmp_path / "login_locked.png")
    page.goto(f"{settings.console_url}/login")
    page.get_by_label("用户名").fill(user)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.get_by_role("link", name="修改密码").click()
    page.get_by_label("当前密码").fill(password)
    page.get_by_label("新密码 (至少 8 个字符)").fill("short")
    page.get_by_label("再次填写新密码").fill("other")
    page.evaluate("document.querySelectorAll('input[minlength]')"  # the server's own check
                  ".forEach(input => input.removeAttribute('minlength'))")
    page.get_by_role("button", name="修改密码").click()
    assert "「新密码」至少 8 个字符" in page.locator(".errors").inner_text()
    page.screenshot(path=tmp_path / "password.png")
    for shot in ("login_locked.png", "password.png"):
        shutil.copy(tmp_path / shot, shots / shot)
    page.context.close()
