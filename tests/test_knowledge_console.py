"""The knowledge base in the console on the stack: a unit writes, the hotline centre publishes,
another unit cannot touch it; the JSON API searches only what is published and valid; the
pages in Chinese."""
from __future__ import annotations

import datetime as dt
import uuid

import pytest
import requests

from external_tasks import appeal
from tests.admin_console import errors_of
from tests.conftest import wait_until


def entry_form(**changes) -> dict:
    today = dt.date.today()
    return {"question": f"公租房申请需要什么条件？{uuid.uuid4().hex[:6]}",
            "answer": "本县户籍、家庭人均收入和住房面积低于规定标准的家庭，可向所在社区提出申请。",
            "keywords": "公租房,廉租房,申请住房", "category": "construction.affordableHousing",
            "policy_doc": "演示文件", "policy_url": "", "valid_from": today.isoformat(),
            "valid_until": (today + dt.timedelta(days=365)).isoformat()} | changes


@pytest.fixture
def search_api(settings):
    def search(q: str, **params) -> requests.Response:
        return requests.get(f"{settings.console_url}/api/v1/knowledge/search",
                            params={"q": q} | params, timeout=30,
                            headers={"Authorization": f"Bearer {settings.api_token}"})
    return search


def created_entry(session, **changes) -> tuple[int, dict]:
    form = entry_form(**changes) | {"unit": "housing"}
    response = session.post("/knowledge/new", form)
    assert response.status_code == 302, errors_of(response)
    return int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1]), form


def test_a_unit_edits_and_the_centre_publishes(console_as, search_api):
    housing, hotline = console_as("housing01"), console_as("hotline01")
    entry_id, form = created_entry(housing)
    assert all(hit["entry_id"] != entry_id for hit in search_api("公租房申请").json()["hits"])
    assert f"/knowledge/{entry_id}" in hotline.get("/knowledge/").text  # pending review
    published = hotline.post(f"/knowledge/{entry_id}/publish", {"version": 1})
    assert published.status_code == 302, errors_of(published)
    hit = next(hit for hit in search_api("公租房怎么申请").json()["hits"]
               if hit["entry_id"] == entry_id)
    assert hit["version"] == 1
    edited = housing.post(f"/knowledge/{entry_id}", form | {
        "answer": "符合条件的家庭可在「皖事通」或社区提交申请，经审核公示后轮候配租。",
        "base_version": 1})
    assert edited.status_code == 302, errors_of(edited)
    hit = next(hit for hit in search_api("公租房怎么申请").json()["hits"]
               if hit["entry_id"] == entry_id)
    assert hit["version"] == 1  # agents keep the published text until the centre publishes
    assert hotline.post(f"/knowledge/{entry_id}/publish", {"version": 2}).status_code == 302
    hit = next(hit for hit in search_api("公租房怎么申请").json()["hits"]
               if hit["entry_id"] == entry_id)
    assert hit["version"] == 2 and "轮候配租" in hit["answer"]
    versions = housing.get(f"/knowledge/{entry_id}").text
    assert "hotline01 于" in versions and "版本记录" in versions


def test_another_unit_can_neither_edit_nor_see_it(console_as):
    housing = console_as("housing01")
    entry_id, form = created_entry(housing)
    other = console_as("naturalres01")
    refused = other.post(f"/knowledge/{entry_id}", form | {"base_version": 1})
    assert refused.status_code == 403 and "县住建局" in refused.text
    assert other.get(f"/knowledge/{entry_id}").status_code == 403
    assert f"/knowledge/{entry_id}\"" not in other.get("/knowledge/").text
    assert other.post("/knowledge/new", entry_form() | {"unit": "housing"}).status_code == 400
    # The centre reviews but does not write a unit's text.
    assert console_as("hotline01").post(f"/knowledge/{entry_id}",
                                        form | {"base_version": 1}).status_code == 403
    # Only the centre publishes.
    assert housing.post(f"/knowledge/{entry_id}/publish", {"version": 1}).status_code == 403


def test_expired_entries_are_hidden_from_agents(console_as, search_api):
    housing, hotline = console_as("housing01"), console_as("hotline01")
    yesterday = dt.date.today() - dt.timedelta(days=1)
    entry_id, _ = created_entry(housing, question="过期的公租房补贴标准是多少？",
                                valid_from=(yesterday - dt.timedelta(days=30)).isoformat(),
                                valid_until=yesterday.isoformat())
    assert hotline.post(f"/knowledge/{entry_id}/publish", {"version": 1}).status_code == 302
    assert all(hit["entry_id"] != entry_id
               for hit in search_api("过期的公租房补贴标准").json()["hits"])
    assert "已过期" in housing.get(f"/knowledge/{entry_id}").text


def test_bad_entries_are_refused_naming_the_field(console_as):
    housing = console_as("housing01")
    response = housing.post("/knowledge/new", entry_form(category="nosuch.leaf") | {
        "unit": "housing"})
    assert response.status_code == 400 and "「诉求分类」nosuch.leaf" in errors_of(response)
    response = housing.post("/knowledge/new", entry_form(valid_until="2020-01-01") | {
        "unit": "housing"})
    assert response.status_code == 400
    assert "「失效日期」不能早于「生效日期」" in errors_of(response)


@pytest.mark.parametrize("params, field", [({"q": ""}, "q"), ({"q": "社保", "limit": "x"}, "limit"),
                                           ({"q": "社保", "category": "nosuch"}, "category")])
def test_the_search_api_refuses_bad_input_naming_the_field(search_api, params, field):
    response = search_api(**params)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_the_api_lists_gaps_and_entries_in_openapi(settings, search_api):
    assert search_api("殡仪馆火化费减免").json()["hits"] == []
    headers = {"Authorization": f"Bearer {settings.api_token}"}
    gaps = requests.get(f"{settings.console_url}/api/v1/knowledge/gaps", headers=headers,
                        timeout=30).json()["gaps"]
    assert any(gap["query"] == "殡仪馆火化费减免" for gap in gaps)
    spec = requests.get(f"{settings.console_url}/api/v1/openapi.json", timeout=30).json()
    assert {"/api/v1/knowledge/search", "/api/v1/knowledge/entries/{entry_id}",
            "/api/v1/knowledge/gaps"} <= set(spec["paths"])
    demo = search_api("社保卡丢了").json()["hits"][0]
    entry = requests.get(f"{settings.console_url}/api/v1/knowledge/entries/{demo['entry_id']}",
                         headers=headers, timeout=30).json()
    assert entry["demo"] is True and entry["status"] == "published"


def logged_in_page(browser, settings, user_id: str):
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.goto(f"{settings.console_url}/login")
    page.fill("input[name=username]", user_id)
    page.fill("input[name=password]", settings.demo_password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(f"{settings.console_url}/")
    return page


def test_pages_are_chinese(browser, settings, screenshot, console_as):
    entry_id, _ = created_entry(console_as("housing01"))
    page = logged_in_page(browser, settings, "hotline01")
    page.goto(f"{settings.console_url}/knowledge/")
    assert "待审核" in page.content()
    screenshot(page, "knowledge-index-hotline", full_page=True)
    page.goto(f"{settings.console_url}/knowledge/search?q=孩子刚出生怎么上户口")
    assert "新生儿怎么上户口" in page.content()
    screenshot(page, "knowledge-search", full_page=True)
    page.goto(f"{settings.console_url}/knowledge/{entry_id}")
    screenshot(page, "knowledge-review", full_page=True)
    page.context.close()
    page = logged_in_page(browser, settings, "housing01")
    page.goto(f"{settings.console_url}/knowledge/{entry_id}")
    assert "保存修改" in page.content()
    screenshot(page, "knowledge-entry-unit", full_page=True)
    page.context.close()


# -- 当场解答 with a knowledge entry, on the engine ----------------------------------------------

INQUIRY = {"kind": "inquiry", "categoryCode": "labour.socialInsurance", "answeredOnCall": True,
           "title": "社保卡丢失补办", "content": "来电人社保卡丢失, 询问如何补办", "township": "fengcheng",
           "callerName": "李四", "answer": "已按知识库口径告知挂失和补卡办理方式。"}


def process_variable(engine, number: str, name: str) -> tuple[str, object]:
    """The appeal's variable (type, value) as history holds it last: a variable whose type
    changed is a new one (the old one kept, DELETED or not yet marked so)."""
    # processInstanceBusinessKey is no filter of /history/variable-instance: by instance id.
    found = engine.get("/history/variable-instance", variableName=name,
                       processInstanceId=appeal.family(engine, number)[0]["id"])
    newest = max((item for item in found if item["state"] == "CREATED"),
                 key=lambda item: item["createTime"])
    return newest["type"], newest["value"]


def test_the_answer_on_the_call_records_the_entry_and_its_version(appeals, search_api, engine):
    hit = search_api("社保卡丢了").json()["hits"][0]
    number = appeals.submit(**INQUIRY, knowledgeEntryId=hit["entry_id"])
    status = appeals.closed(number)
    assert status["closedAs"] == "answered_on_call"
    assert (status["variables"]["knowledgeEntryId"],
            status["variables"]["knowledgeVersion"]) == (hit["entry_id"], hit["version"])
    assert process_variable(engine, number, "knowledgeVersion") == ("Integer", hit["version"])


def test_an_entry_not_published_cannot_be_recorded(appeals, console_as):
    entry_id, _ = created_entry(console_as("housing01"))
    refused = appeals.post(INQUIRY | {"knowledgeEntryId": entry_id, "callerPhone": "13900000001"})
    assert refused.status_code == 400
    assert "尚未发布" in refused.json()["errors"]["knowledgeVersion"][0]
    refused = appeals.post(INQUIRY | {"knowledgeEntryId": 987654, "callerPhone": "13900000001"})
    assert "没有编号为 987654" in refused.json()["errors"]["knowledgeEntryId"][0]


def test_the_tasklist_start_form_path_records_whole_numbers(engine, appeals, search_api):
    """Tasklist submits the form's numbers as doubles; registration keeps whole numbers."""
    hit = search_api("停电了").json()["hits"][0]
    started = engine.post("/process-definition/key/hotline_appeal/submit-form", {
        "variables": {name: {"value": value} for name, value in INQUIRY.items()} | {
            "callerPhone": {"value": "13900000002"},
            "knowledgeEntryId": {"value": float(hit["entry_id"]), "type": "Double"},
            "knowledgeVersion": {"value": float(hit["version"]), "type": "Double"}}})
    number = wait_until(lambda: engine.get(f"/history/process-instance/{started['id']}")
                        .get("businessKey"), what="the appeal's number")
    appeals.closed(number)
    assert process_variable(engine, number, "knowledgeEntryId") == ("Integer", hit["entry_id"])
