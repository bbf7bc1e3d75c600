"""The agent's desk: suggestions while the caller talks (API and page), and an intake from the
desk that records the suggested category beside the chosen one."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import requests

from admin_data.workdays import SHANGHAI
from external_tasks.appeal import APPEAL_PROCESS
from external_tasks.camunda import from_typed
from tests.appeal_driver import unique_phone
from tests.conftest import wait_until
from tests.helpers import INTAKE_APPEAL

STREET_LAMP = {"title": "路灯不亮", "content": "官桥镇中心街的路灯坏了一个星期，晚上一片漆黑，行人容易摔倒"}


@pytest.fixture
def desk_page(console_page, settings):
    """The desk in Chromium, as the hotline centre's demo user."""
    page = console_page("hotline01")
    page.goto(f"{settings.console_url}/desk/")
    page.get_by_role("heading", name="受理台").wait_for()
    return page


def suggestions(settings, body, token=None):
    return requests.post(f"{settings.console_url}/api/v1/suggestions", json=body, timeout=30,
                         headers={"Authorization": f"Bearer {token or settings.api_token}"})


def submit(settings, appeal: dict) -> str:
    response = requests.post(f"{settings.console_url}/api/v1/appeals", json=appeal, timeout=30,
                             headers={"Authorization": f"Bearer {settings.api_token}"})
    assert response.status_code in (201, 202), response.text  # 202: the engine was slow
    return response.json()["appealNumber"]


def test_a_place_bound_complaint_gets_category_units_and_township(settings):
    response = suggestions(settings, STREET_LAMP)
    assert response.status_code == 200, response.text
    found = response.json()
    assert "citymgmt.municipalFacilities" in [category["code"] for category in found["categories"]]
    assert found["township"]["status"] == "found"
    assert found["township"]["township"] == {"id": "guanqiao", "name": "官桥镇"}
    assert "官桥镇" in found["township"]["matched"]
    assert found["scope"] == []


def test_the_chosen_category_decides_the_route_with_its_reason(settings):
    found = suggestions(settings, STREET_LAMP | {"categoryCode": "citymgmt.municipalFacilities"}).json()
    route = found["route"]
    assert route["categoryCode"] == "citymgmt.municipalFacilities"
    assert (route["basis"], route["leadUnit"]["id"]) == ("matter", "urbanmgmt")
    assert "guanqiao" in [unit["id"] for unit in route["coUnits"]]
    assert "属事原则" in route["note"] and route["autoDispatch"] is True


@pytest.mark.parametrize("text, code, kind, transfer", [
    ("我已经申请劳动仲裁了，仲裁委一直不开庭，老板还是不给钱", "arbitration", "excluded", None),
    ("楼下饭店着火了，烟很大，快来人", "fire119", "emergency", "119"),
])
def test_scope_warnings_say_where_the_caller_should_go(settings, text, code, kind, transfer):
    warnings = suggestions(settings, {"content": text}).json()["scope"]
    warning = next(warning for warning in warnings if warning["code"] == code)
    assert (warning["kind"], warning["transferTo"]) == (kind, transfer)
    assert warning["referral"] and warning["evidence"]


def test_the_callers_earlier_appeals_are_listed(settings):
    phone = unique_phone()
    number = submit(settings, INTAKE_APPEAL | {"callerPhone": phone})
    earlier = wait_until(lambda: suggestions(settings, {"phone": phone}).json()["earlierAppeals"],
                         what="the caller's earlier appeal")
    assert [brief["appealNumber"] for brief in earlier] == [number]
    assert earlier[0]["title"] == INTAKE_APPEAL["title"] and earlier[0]["state"] == "办理中"
    assert suggestions(settings, {"phone": unique_phone()}).json()["earlierAppeals"] == []


def test_similar_open_appeals_of_the_same_township_and_category(settings):
    # A second caller on the same matter (other tests leave alike appeals open too).
    text = {"title": "金水湾小区三号楼电梯困人无人管", "content": "金水湾小区三号楼电梯又困人了，物业一直不修"}
    number = submit(settings, INTAKE_APPEAL | text | {"callerPhone": unique_phone()})
    asked = text | {"township": "fengcheng", "categoryCode": "construction.propertyService"}
    similar = wait_until(lambda: suggestions(settings, asked).json()["similarOpenAppeals"],
                         what="the open appeal among the similar ones")
    assert number in [brief["appealNumber"] for brief in similar]
    assert all(brief["similarity"] >= 0.15 for brief in similar)
    elsewhere = suggestions(settings, asked | {"township": "guanqiao"}).json()["similarOpenAppeals"]
    assert number not in [brief["appealNumber"] for brief in elsewhere]


def test_an_inquiry_gets_knowledge_answers_to_read_out(settings):
    found = suggestions(settings, {"kind": "inquiry", "title": "孩子刚出生怎么上户口",
                                   "content": "孩子刚出生，想问问怎么给孩子办户口"}).json()
    assert found["knowledge"], "no knowledge entry for a newborn's household registration"
    first = found["knowledge"][0]
    assert "户口" in first["question"] and first["answer"] and first["version"] >= 1


@pytest.mark.parametrize("body, field", [
    ({"content": "路" * 10_000}, "content"),
    ({"title": 5}, "title"),
    ({"content": "路灯坏了", "colour": "red"}, "colour"),
    ([], "_schema"),
])
def test_bad_input_is_refused_naming_the_field(settings, body, field):
    response = suggestions(settings, body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_suggestions_need_the_token(settings):
    assert suggestions(settings, STREET_LAMP, token="wrong").status_code == 401


def test_the_agent_takes_a_suggestion_and_submits_from_the_desk(desk_page, engine, screenshot):
    page = desk_page
    page.get_by_label("诉求类型").select_option("complaint")
    page.get_by_label("标题").fill(STREET_LAMP["title"])
    page.get_by_label("诉求内容").fill(STREET_LAMP["content"])
    phone = unique_phone()
    page.get_by_label("联系电话").fill(phone)
    received = (dt.datetime.now(SHANGHAI) - dt.timedelta(hours=2)).strftime("%Y-%m-%d %H:%M")
    page.get_by_label("受理时间").fill(received)  # entered later: the original receipt time
    panel = page.locator("#p-categories")
    panel.get_by_role("button", name="采用").first.wait_for()
    page.locator("#p-township").get_by_text("官桥镇").wait_for()
    page.keyboard.press("Alt+1")
    chosen = page.get_by_label("诉求分类").input_value()
    page.locator("#p-route").get_by_text("牵头：").first.wait_for()
    screenshot(page, "desk-suggestions", full_page=True)
    page.get_by_role("button", name="提交受理").click()
    page.locator("#result").get_by_text("工单编号").wait_for(timeout=30_000)
    screenshot(page, "desk-submitted", full_page=True)
    assert page.get_by_label("标题").input_value() == ""  # ready for the next call
    assert page.locator("#p-categories").inner_text() == "输入标题或内容后给出建议"
    number = page.locator("#result").inner_text().split()[-1]
    roots = wait_until(lambda: engine.get("/history/process-instance", processInstanceBusinessKey=number,
                                          processDefinitionKey=APPEAL_PROCESS), what="the appeal")
    recorded = {variable["name"]: from_typed(variable) for variable in engine.post(
        "/history/variable-instance?deserializeValues=false", {
            "processInstanceId": roots[0]["id"],
            "variableNameIn": ["categorySuggested", "categoryChosen", "categoryCode", "callerPhone",
                               "receivedAt"]})}
    assert recorded["categoryChosen"] == recorded["categoryCode"] == chosen
    assert recorded["categorySuggested"] == chosen  # Alt+1 took the first suggestion
    assert recorded["callerPhone"] == phone
    assert recorded["receivedAt"].startswith(received.replace(" ", "T"))


def test_an_invalid_field_is_shown_next_to_it_and_nothing_is_registered(desk_page, screenshot):
    page = desk_page
    page.get_by_label("标题").fill("路灯")
    page.get_by_label("诉求内容").fill("楼下饭店着火了，烟很大")
    page.locator("#p-scope").get_by_text("紧急事项，请转 119").wait_for()
    page.get_by_label("诉求内容").fill("")
    page.get_by_label("联系电话").fill("12345")
    page.get_by_role("button", name="提交受理").click()
    page.locator("#e-callerPhone").get_by_text("联系电话").wait_for()
    screenshot(page, "desk-invalid", full_page=True)
    assert "未提交" in page.locator("#result").inner_text()
    assert page.get_by_label("标题").input_value() == "路灯"  # nothing typed is lost


def test_only_the_hotline_centre_opens_the_desk(console_as):
    assert console_as("housing01").get("/desk/").status_code == 403
    assert console_as("hotline01").get("/desk/").status_code == 200
    refused = console_as("housing01").http.post(
        console_as("housing01").base + "/desk/suggestions", data=json.dumps(STREET_LAMP),
        headers={"Content-Type": "application/json"}, timeout=30)
    assert refused.status_code in (400, 403)  # no CSRF token, and not the role
