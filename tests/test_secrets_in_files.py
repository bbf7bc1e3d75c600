"""No caller's phone, password or key in what the stack writes: every log file, the assessment
store, and the exports and bulletins, after this session's appeals, logins (one with a wrong
password) and API calls with a client's key. Run it last, with the other modules, to check what
they wrote too: it reads every phone the engine's history holds."""
from __future__ import annotations

import io
import re
import secrets
import zipfile

import requests

from assessment.store import store_path
from tests.admin_console import ConsoleSession
from tests.appeal_driver import AppealDriver

NEW_KEY = re.compile(r'<pre id="new-key">([^<]+)</pre>')
EXPORTS = ("/api/v1/assessment/indicators.csv", "/api/v1/assessment/bulletin.xlsx",
           "/api/v1/assessment/bulletin", "/api/v1/assessment/analysis")


def readable(content: bytes) -> bytes:
    """A workbook's text is in the zipped XML; anything else as it is."""
    if content.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(content)) as workbook:
            return b"".join(workbook.read(name) for name in workbook.namelist())
    return content


def exported(settings, key: str, month: str) -> dict[str, bytes]:
    headers = {"Authorization": f"Bearer {key}"}
    sync = requests.post(f"{settings.console_url}/api/v1/assessment/sync", headers=headers,
                         timeout=300)
    assert sync.status_code == 200, sync.text
    answers = {path: requests.get(settings.console_url + path, headers=headers, timeout=300,
                                  params={"month": month}) for path in EXPORTS}
    assert all(answer.status_code == 200 for answer in answers.values()), answers
    return {path: readable(answer.content) for path, answer in answers.items()}


def test_no_phone_password_or_key_in_logs_store_exports_or_bulletins(settings, engine, as_user):
    driver = AppealDriver(settings, engine, as_user)
    number = driver.submit()
    month = f"{number[2:6]}-{number[6:8]}"  # XS20261205-0001: the appeal's month
    driver.task(number, "fengcheng01", "Task_SignForAppeal")
    user, password = "secretcheck01", f"Pw-{secrets.token_hex(8)}"
    wrong = f"No-{secrets.token_hex(8)}"
    engine.post("/user/create", {"profile": {"id": user, "firstName": "密钥", "lastName": "检查",
                                             "email": f"{user}@suban.invalid"},
                                 "credentials": {"password": password}})
    # The wrong password under another name: the engine holds back the next login of a user
    # who just failed one.
    assert ConsoleSession(settings).post("/login", {"username": "nosuchsecretcheck",
                                                    "password": wrong}).status_code == 401
    ConsoleSession(settings, user, password)
    admin = ConsoleSession(settings, settings.admin_user, settings.admin_password)
    registered = admin.post("/admin/api-clients", {"name": "secretcheck", "scopes": ["admin"],
                                                   "reason": "检查日志中的密钥"})
    key = NEW_KEY.search(registered.text).group(1)
    try:
        written = {f"API {path}": content
                   for path, content in exported(settings, key, month).items()}
    finally:  # SUBAN_API_TOKEN works again for the rest of the session
        admin.post("/admin/api-clients/secretcheck/revoke", {"reason": "检查结束"})
    for path in [*settings.log_dir.rglob("*"), *store_path(settings).parent.glob("*"),
                 *settings.data_dir.rglob("*.csv"), *settings.data_dir.rglob("*.xlsx")]:
        if path.is_file():
            written[str(path)] = readable(path.read_bytes())
    phones = {variable["value"] for variable in engine.get(
        "/history/variable-instance", variableName="callerPhone", maxResults=100_000)}
    assert driver.status(number)["appealNumber"] == number and phones
    kept_secret = phones | {password, wrong, key, settings.api_token} | {
        secret for secret in (settings.admin_password, settings.worker_password,
                              settings.demo_password) if len(secret) >= 8}  # "demo" is a word
    found = {(where, secret) for where, content in written.items()
             for secret in kept_secret if secret.encode() in content}
    assert not found, sorted(found)
    assert any(where.endswith("console.log") for where in written)
