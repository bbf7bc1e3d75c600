"""Console login with the engine's accounts, roles from engine groups, admins only on every admin
page and action, CSRF protection of forms; the token API is unchanged."""
from __future__ import annotations

import re

import requests

from console import create_app
from console.errors import CSRF_REFUSED
from tests.admin_console import ConsoleSession, errors_of

#: One user per role, by the groups the directory sync gives them (leader: the leaders' group).
NON_ADMINS = {"hotline01": "热线中心", "countyleaders01": "县领导", "housing01": "只读"}
#: Path arguments for every admin route (the values need not exist: the role check comes first).
ARGUMENTS = {"name": "taxonomy", "version_id": "1", "key_id": "1"}


def admin_routes(settings) -> list[tuple[str, str]]:
    """Every (method, path) of the admin blueprint, read from the console's own URL map, so a
    page added later is covered too."""
    app = create_app(settings)
    routes = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("admin."):
            path = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: ARGUMENTS[match.group(1)], rule.rule)
            routes += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return routes


def test_login_with_engine_accounts_gives_roles_from_engine_groups(settings, console_as):
    for user_id, role in NON_ADMINS.items():
        home = console_as(user_id).get("/")
        assert home.status_code == 200
        assert f"({user_id}) · {role}" in home.text
    admin_home = console_as(settings.admin_user).get("/")
    assert "· 管理员" in admin_home.text and "/admin/" in admin_home.text


def test_a_wrong_password_is_refused_and_leaves_the_visitor_out(settings):
    visitor = ConsoleSession(settings)
    # A user that does not exist: the engine refuses further logins of an existing user for a
    # while after a failed one, and other tests log in as every demo user.
    refused = visitor.post("/login", {"username": "nosuchuser", "password": "not-the-password"})
    assert refused.status_code == 401
    assert "用户名或密码错误" in errors_of(refused)
    assert visitor.get("/admin/").status_code == 302


def test_every_admin_page_and_action_is_refused_to_non_admins(settings, console_as):
    routes = admin_routes(settings)
    assert ("POST", "/admin/time-limits") in routes and ("POST", "/admin/deploy") in routes
    taxonomy = (settings.config_dir / "taxonomy.yaml").read_bytes()
    for user_id in NON_ADMINS:
        session = console_as(user_id)
        for method, path in routes:
            response = (session.get(path) if method == "GET"
                        else session.post(path, {"content": "x", "reason": "越权尝试"}))
            assert response.status_code == 403, (user_id, method, path, response.status_code)
            assert "此页面仅限管理员使用" in response.text
    assert (settings.config_dir / "taxonomy.yaml").read_bytes() == taxonomy


def test_visitors_are_sent_to_the_login_page(settings):
    visitor = ConsoleSession(settings)
    for method, path in admin_routes(settings):
        response = visitor.get(path) if method == "GET" else visitor.post(path, {})
        assert response.status_code == 302, (method, path)
        assert response.headers["Location"].startswith("/login?next=")


def test_admins_reach_the_admin_pages(settings, console_as):
    session = console_as(settings.admin_user)
    for path in ("/admin/", "/admin/files/taxonomy", "/admin/time-limits", "/admin/deploy",
                 "/admin/audit"):
        assert session.get(path).status_code == 200, path


def test_a_form_without_the_csrf_token_is_refused(settings, console_as):
    session = console_as(settings.admin_user)
    path = settings.config_dir / "holidays.yaml"
    before = path.read_bytes()
    for token in (None, "forged-token"):
        data = {"content": before.decode() + "\n# changed\n", "reason": "没有 CSRF 令牌的修改",
                "action": "save"} | ({"csrf_token": token} if token else {})
        refused = session.post("/admin/files/holidays", data, csrf=False)
        assert refused.status_code == 400
        assert CSRF_REFUSED in refused.text and "CSRF token" not in refused.text  # Chinese only
    assert path.read_bytes() == before
    assert "没有 CSRF 令牌的修改" not in session.get("/admin/audit").text


def test_the_token_api_needs_no_session_and_no_csrf_token(settings):
    response = requests.get(f"{settings.console_url}/api/v1/units", timeout=30,
                            headers={"Authorization": f"Bearer {settings.api_token}"})
    assert response.status_code == 200 and response.json()["units"]
    refused = requests.get(f"{settings.console_url}/api/v1/units", timeout=30)
    assert refused.status_code == 401
