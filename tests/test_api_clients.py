"""API clients with their own keys and scopes, registered by an admin on the console's page:
each scope allows exactly its calls (the calls read from the OpenAPI document), the caller's data
only with its scope, a key shown once and stored as a hash, rotation with two valid keys, a
revoked key refused at once, every call logged with the client's name, and SUBAN_API_TOKEN
accepted only while no client is registered."""
from __future__ import annotations

import html
import re
import shutil

import pytest
import requests

from admin_data.environment import REPO_ROOT
from console.api_clients import (ADMIN, APPEALS_CREATE, APPEALS_READ, APPEALS_READ_CALLER,
                                 ASSESSMENT_READ, SCOPE_NAMES, SUPERVISION_CREATE)
from tests.admin_console import ConsoleSession, errors_of
from tests.conftest import wait_until
from tests.helpers import INTAKE_APPEAL

#: Every call of the API that needs a key, and the scopes that allow it (admin allows all).
#: Reference data any registered client may read.
ANY = {APPEALS_CREATE, APPEALS_READ, APPEALS_READ_CALLER, ASSESSMENT_READ, SUPERVISION_CREATE}
CALL_SCOPES = {
    ("get", "/api/v1/units"): ANY,
    ("get", "/api/v1/knowledge/search"): ANY,
    ("get", "/api/v1/knowledge/entries/{entry_id}"): ANY,
    ("get", "/api/v1/knowledge/gaps"): ANY,
    ("post", "/api/v1/suggestions"): {APPEALS_READ},
    ("post", "/api/v1/appeals"): {APPEALS_CREATE},
    ("get", "/api/v1/appeals/{number}"): {APPEALS_READ, APPEALS_READ_CALLER},
    ("post", "/api/v1/appeals/{number}/supervisions"): {SUPERVISION_CREATE},
    ("post", "/api/v1/appeals/{number}/merge"): {APPEALS_CREATE},
    ("post", "/api/v1/appeals/{number}/unmerge"): {APPEALS_CREATE},
    ("get", "/api/v1/assessment/indicators"): {ASSESSMENT_READ},
    ("get", "/api/v1/assessment/indicators.csv"): {ASSESSMENT_READ},
    ("get", "/api/v1/assessment/analysis"): {ASSESSMENT_READ},
    ("get", "/api/v1/assessment/bulletin"): {ASSESSMENT_READ},
    ("get", "/api/v1/assessment/bulletin.xlsx"): {ASSESSMENT_READ},
    ("get", "/api/v1/assessment/indicators/explain"): {ASSESSMENT_READ},
    ("get", "/api/v1/assessment/analysis/explain"): {ASSESSMENT_READ},
    ("get", "/api/v1/assessment/trend"): {ASSESSMENT_READ},
    ("post", "/api/v1/assessment/sync"): set(),
}
NEW_KEY = re.compile(r'<pre id="new-key">([^<]+)</pre>')
UNKNOWN_APPEAL = "XS20990101-0001"


def client_name(scope: str) -> str:
    return f"测试客户端 {scope}"


@pytest.fixture(scope="module")
def admin_page(settings):
    return ConsoleSession(settings, settings.admin_user, settings.admin_password)


def register(admin_page: ConsoleSession, name: str, scopes: list[str]) -> str:
    response = admin_page.post("/admin/api-clients", {"name": name, "scopes": scopes,
                                                      "reason": "接口权限测试"})
    assert response.status_code == 200, errors_of(response)
    return html.unescape(NEW_KEY.search(response.text).group(1))


@pytest.fixture(scope="module")
def keys(admin_page, settings):
    """One client per scope. Afterwards every client is revoked, so that SUBAN_API_TOKEN works
    again for the rest of the suite (it does while no client is registered)."""
    yield {scope: register(admin_page, client_name(scope), [scope]) for scope in SCOPE_NAMES}
    page = admin_page.get("/admin/api-clients").text
    for name in set(re.findall(r'/admin/api-clients/([^/"]+)/revoke', page)):
        admin_page.post(f"/admin/api-clients/{name}/revoke", {"reason": "测试结束, 吊销"})
    assert call(settings, "get", "/api/v1/units", settings.api_token).status_code == 200


def call(settings, method: str, path: str, key: str) -> requests.Response:
    path = path.replace("{number}", UNKNOWN_APPEAL).replace("{entry_id}", "1")
    return requests.request(method, settings.console_url + path,
                            headers={"Authorization": f"Bearer {key}"},
                            json={} if method == "post" else None, timeout=120)


def test_the_table_names_every_call_that_needs_a_key(settings):
    document = requests.get(f"{settings.console_url}/api/v1/openapi.json", timeout=30).json()
    secured = {(method, path) for path, operations in document["paths"].items()
               for method, operation in operations.items() if operation.get("security")}
    assert secured == set(CALL_SCOPES)


@pytest.mark.parametrize("scope", SCOPE_NAMES)
def test_each_scope_allows_exactly_its_calls(settings, keys, scope):
    answers = {(method, path): call(settings, method, path, keys[scope]).status_code
               for method, path in CALL_SCOPES}
    refused = {each for each, status in answers.items() if status == 403}
    assert refused == {each for each, scopes in CALL_SCOPES.items()
                       if scope != ADMIN and scope not in scopes}
    assert 401 not in answers.values(), answers


def test_the_callers_data_only_with_its_scope(settings, keys):
    created = requests.post(f"{settings.console_url}/api/v1/appeals", json=INTAKE_APPEAL,
                            headers={"Authorization": f"Bearer {keys[APPEALS_CREATE]}"},
                            timeout=60)
    assert created.status_code in (201, 202), created.text  # 202: queued for a busy engine
    path = f"/api/v1/appeals/{created.json()['appealNumber']}"

    def registered() -> dict | None:
        variables = call(settings, "get", path, keys[APPEALS_READ_CALLER]).json()["variables"]
        return variables if "callerPhoneMasked" in variables else None
    with_caller = wait_until(registered, timeout=120, what="the appeal's registration")
    assert with_caller["callerPhoneMasked"] == "139****5678"
    without = call(settings, "get", path, keys[APPEALS_READ]).json()["variables"]
    assert not {"callerNameMasked", "callerPhoneMasked"} & set(without)
    assert without["title"] == INTAKE_APPEAL["title"]


def test_the_bootstrap_token_ends_when_a_client_is_registered(settings, keys):
    response = call(settings, "get", "/api/v1/units", settings.api_token)
    assert response.status_code == 401
    assert "Authorization" in response.json()["errors"]


def test_a_key_is_stored_only_as_its_hash(settings, keys):
    stored = (settings.data_dir / "console" / "api_clients.sqlite").read_bytes()
    assert all(key.encode() not in stored for key in keys.values())


def test_rotation_keeps_two_keys_valid_until_the_old_one_is_retired(settings, admin_page, keys):
    name = "dashboard2"
    old = register(admin_page, name, [ASSESSMENT_READ])
    rotated = admin_page.post(f"/admin/api-clients/{name}/rotate", {"reason": "定期轮换密钥"})
    new = html.unescape(NEW_KEY.search(rotated.text).group(1))
    assert new != old
    for key in (old, new):
        assert call(settings, "get", "/api/v1/units", key).status_code == 200
    page = admin_page.get("/admin/api-clients").text
    old_id = re.findall(rf'/admin/api-clients/{name}/keys/(\d+)/retire', page)[0]
    admin_page.post(f"/admin/api-clients/{name}/keys/{old_id}/retire", {"reason": "已换用新密钥"})
    assert call(settings, "get", "/api/v1/units", old).status_code == 401
    assert call(settings, "get", "/api/v1/units", new).status_code == 200
    [row] = [row for row in admin_page.get("/admin/api-clients").text.split("<tr>")
             if f"<td>{name}</td>" in row]
    assert "最近使用: 从未" not in row and "最近使用: 20" in row


def test_a_revoked_client_is_refused_at_once_and_the_audit_shows_it(settings, admin_page, keys):
    name = "partner2"
    key = register(admin_page, name, [APPEALS_CREATE])
    assert call(settings, "get", "/api/v1/units", key).status_code == 200
    admin_page.post(f"/admin/api-clients/{name}/revoke", {"reason": "合作终止"})
    assert call(settings, "get", "/api/v1/units", key).status_code == 401
    audit = admin_page.get("/admin/audit").text
    assert "吊销API客户端" in audit and "合作终止" in audit


def test_every_call_is_logged_with_the_clients_name(settings, keys):
    call(settings, "get", "/api/v1/units", keys[ASSESSMENT_READ])
    log = (settings.log_dir / "console.log").read_text(errors="replace")
    assert f"GET /api/v1/units by client {client_name(ASSESSMENT_READ)}" in log


def test_a_client_needs_a_name_and_a_scope(admin_page):
    response = admin_page.post("/admin/api-clients", {"name": "", "reason": "接口权限测试"})
    assert response.status_code == 400
    assert "「客户端名称」" in errors_of(response) and "「权限」" in errors_of(response)


def test_an_admin_registers_a_client_and_sees_its_key_once(browser, settings, keys, tmp_path):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    refused_by_policy = []
    page.on("console", lambda message: "Content Security Policy" in message.text
            and refused_by_policy.append(message.text))
    page.goto(f"{settings.console_url}/login")
    page.get_by_label("用户名").fill(settings.admin_user)
    page.get_by_label("密码").fill(settings.admin_password)
    page.get_by_role("button", name="登录").click()
    page.goto(f"{settings.console_url}/admin/api-clients")
    page.get_by_label("客户端名称").fill("坐席系统")
    page.get_by_label("登记诉求").check()
    page.get_by_label("查询工单 (含诉求人脱敏信息)").check()
    page.get_by_label("注册原因").fill("坐席登记和查询工单")
    page.get_by_role("button", name="注册并生成密钥").click()
    key = page.locator("#new-key").inner_text().strip()
    assert call(settings, "get", "/api/v1/units", key).status_code == 200
    shot = tmp_path / "api_clients.png"
    page.screenshot(path=shot, full_page=True)
    (REPO_ROOT / "data" / "screenshots").mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, REPO_ROOT / "data" / "screenshots" / shot.name)
    page.goto(f"{settings.console_url}/admin/api-clients")
    assert key not in page.content()  # shown once
    assert refused_by_policy == []
    page.context.close()
