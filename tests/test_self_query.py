"""Citizen self-query on the stack: appeal number + last four phone digits → the public progress
and nothing else; one answer for wrong numbers and digits; the lockouts; a confidential appeal;
the page at phone width."""
from __future__ import annotations

import dataclasses
import sqlite3

import pytest
import requests

from console import create_app
from console.self_query import IP_MISSES, NOT_FOUND, NUMBER_MISSES
from external_tasks import appeal
from external_tasks.appeal import APPEAL_PROCESS
from tests.conftest import wait_until

CALLER_NAME = "赵铁柱"
REPLY = "经现场核查, 物业已清理楼道垃圾并承诺每日清运。"
CO_UNIT_OPINION = "配合督促物业整改到位"  # the driver's co-unit opinion: never shown


@pytest.fixture(autouse=True)
def fresh_attempts(settings):
    """Each test starts with no attempts counted: the limits are per IP, and all come from here."""
    log = settings.data_dir / "console" / "self_query.sqlite"
    if log.exists():
        with sqlite3.connect(log) as db:
            db.execute("DELETE FROM attempt")


@pytest.fixture
def ask(settings):
    def query(number: str, last4: str) -> requests.Response:
        return requests.post(f"{settings.console_url}/api/v1/self-query", timeout=30,
                             json={"appealNumber": number, "phoneLast4": last4})
    return query


def submitted(appeals, **fields) -> tuple[str, str]:
    number = appeals.submit(callerName=CALLER_NAME, **fields)
    appeals.task(number, "fengcheng01", "Task_SignForAppeal")
    # (processInstanceBusinessKey is no filter of /history/variable-instance: it is ignored)
    root = appeal.family(appeals.engine, number)[0]
    phone = appeal.variables_by_instance(appeals.engine, [root["id"]], ("callerPhone",))[
        root["id"]]["callerPhone"]
    return number, phone


def assert_nothing_internal(text: str, phone: str) -> None:
    for secret in (CALLER_NAME, CALLER_NAME[0] + "*", phone, phone[:3] + "****", CO_UNIT_OPINION,
                   "已联系物业公司", "fengcheng01", "callerPhone"):
        assert secret not in text, secret


def test_right_digits_show_the_progress_and_nothing_else(appeals, ask, settings, engine):
    number, phone = submitted(appeals)
    response = ask(number, phone[-4:])
    assert response.status_code == 200, response.text
    found = response.json()
    assert (found["stage"], found["status"], found["leadUnitName"]) == (
        "待承办单位签收", "处理中", "凤城街道")
    assert {deadline["name"] for deadline in found["deadlines"]} >= {"签收时限", "办结时限"}
    assert found["reply"] is None and found["evaluationUrl"] is None
    appeals.reply_approved(number, REPLY)
    found = wait_until(lambda: (body := ask(number, phone[-4:]).json())["evaluationUrl"] and body,
                       what="the callback to be due")
    assert (found["stage"], found["reply"]) == ("待回访评价", REPLY)
    assert_nothing_internal(ask(number, phone[-4:]).text, phone)
    # The evaluation link takes the caller's own evaluation for the centre's 回访.
    page = requests.Session()
    form = page.get(found["evaluationUrl"], timeout=30)
    token = form.text.split('name="csrf_token" value="')[1].split('"')[0]
    done = page.post(found["evaluationUrl"], timeout=30, data={
        "csrf_token": token, "phoneLast4": phone[-4:], "evaluation": "satisfied"})
    assert done.status_code == 200 and "感谢您的评价" in done.text
    variable, = engine.get("/variable-instance", processInstanceIdIn=appeals.engine.get(
        "/process-instance", businessKey=number, processDefinitionKey=APPEAL_PROCESS)[0]["id"],
        variableName="citizenEvaluation")
    assert variable["value"] == "satisfied"


def test_wrong_digits_and_unknown_numbers_get_one_answer(appeals, ask):
    number, phone = submitted(appeals)
    wrong_digits = ask(number, f"{(int(phone[-4:]) + 1) % 10_000:04d}")
    unknown = ask("XS20200101-9999", phone[-4:])
    assert wrong_digits.status_code == unknown.status_code == 404
    assert wrong_digits.json() == unknown.json() == {"errors": {"appealNumber": [NOT_FOUND]}}
    assert ask(number, "12a4").json()["errors"]["phoneLast4"] == ["「手机号后四位」应为 4 位数字"]


def test_misses_lock_the_number_and_then_the_address(appeals, ask, settings):
    number, phone = submitted(appeals)
    wrong = f"{(int(phone[-4:]) + 1) % 10_000:04d}"
    for _ in range(NUMBER_MISSES):
        assert ask(number, wrong).status_code == 404
    locked = ask(number, phone[-4:])  # even the right digits, while locked
    assert locked.status_code == 429 and "30 分钟" in locked.json()["errors"]["appealNumber"][0]
    for day in range(IP_MISSES - NUMBER_MISSES):
        assert ask(f"XS2020010{day + 1}-0001", "0000").status_code == 404
    assert ask("XS20200201-0001", "0000").status_code == 429  # this address is locked now
    with sqlite3.connect(settings.data_dir / "console" / "self_query.sqlite") as db:
        outcomes = [row[0] for row in db.execute("SELECT outcome FROM attempt ORDER BY id")]
    assert outcomes.count("miss") == IP_MISSES and outcomes.count("locked") == 2


def test_a_confidential_appeal_shows_only_its_stage(appeals, ask):
    number, phone = submitted(appeals, confidential=True)
    found = ask(number, phone[-4:]).json()
    assert found == {"appealNumber": number, "stage": "待承办单位签收", "confidential": True,
                     "status": None, "leadUnitName": None, "deadlines": [], "reply": None,
                     "evaluationUrl": None}


def test_the_endpoint_is_in_the_openapi_document(settings):
    spec = requests.get(f"{settings.console_url}/api/v1/openapi.json", timeout=30).json()
    operation = spec["paths"]["/api/v1/self-query"]["post"]
    assert {"404", "429"} <= set(operation["responses"]) and "security" not in operation


def test_the_page_at_phone_width(browser, settings, appeals, screenshot):
    number, phone = submitted(appeals)
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True,
                            device_scale_factor=2)
    page.goto(f"{settings.console_url}/query")
    screenshot(page, "self-query-form-phone", full_page=True)
    page.fill("#appealNumber", number)
    page.fill("#phoneLast4", phone[-4:])
    page.get_by_role("button", name="查询").click()
    page.locator("#result").wait_for()
    assert "待承办单位签收" in page.content() and "凤城街道" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling
    screenshot(page, "self-query-result-phone", full_page=True)
    page.context.close()


def logged_address(settings, trusted_proxies: int, forwarded_for: str) -> str:
    """The address the self-query counts for a call from 127.0.0.1 that claims `forwarded_for`,
    on a console trusting `trusted_proxies` proxies."""
    app = create_app(dataclasses.replace(settings, trusted_proxies=trusted_proxies))
    response = app.test_client().post(
        "/api/v1/self-query", json={"appealNumber": "XS20200301-0001", "phoneLast4": "0000"},
        headers={"X-Forwarded-For": forwarded_for}, environ_base={"REMOTE_ADDR": "127.0.0.1"})
    assert response.status_code == 404, response.text
    with sqlite3.connect(settings.data_dir / "console" / "self_query.sqlite") as db:
        return db.execute("SELECT ip FROM attempt ORDER BY id DESC LIMIT 1").fetchone()[0]


def test_a_forwarded_address_counts_only_from_a_trusted_proxy(settings):
    # No proxy configured (the default): a caller cannot pose as another address.
    assert logged_address(settings, 0, "203.0.113.7") == "127.0.0.1"
    # Behind nginx (one proxy): the address nginx saw, not what the caller wrote before it.
    assert logged_address(settings, 1, "203.0.113.7") == "203.0.113.7"
    assert logged_address(settings, 1, "198.51.100.1, 203.0.113.8") == "203.0.113.8"
