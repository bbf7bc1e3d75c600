"""Open311 GeoReport v2 driven as an outside app would: the published client `georeport` (PyPI)
lists the services and reads requests back, in JSON and XML; submitting is a form-encoded POST
with the partner's api_key (georeport has no call for it, so the app posts with `requests`, as
the standard describes). A request goes through the intake, routing and the units' work in the
engine, and the partner follows it through its stages; bad input starts nothing."""
from __future__ import annotations

import dataclasses
import html
import re
import sqlite3

import pytest
import requests
from georeport import GeoReport

from admin_data.taxonomy import TAXONOMY
from console import create_app
from console.api_clients import APPEALS_CREATE, OPEN311_CREATE, ApiClientStore
from console.outbox import SETTLE_S, IntakeOutbox, outbox_path
from external_tasks import appeal
from external_tasks.appeal import APPEAL_PROCESS
from tests.admin_console import ConsoleSession, errors_of
from tests.appeal_driver import unique_phone
from tests.conftest import free_port, wait_until

PARTNER = "城市 App 合作方"
CODE = "construction.propertyService"
REPLY = "经街道协调, 物业已清理楼道垃圾并建立每日巡查制度。"
CALLER = {"first_name": "小明", "last_name": "王", "email": "wang.xm@example.cn"}
DESCRIPTION = "小区楼道垃圾堆积一周无人清理, 物业不作为, 气味很大"


@pytest.fixture(scope="module")
def partner_key(settings):
    """A partner registered by an admin with the Open311 scope. Afterwards every client is
    revoked, so that SUBAN_API_TOKEN works again for the rest of the suite."""
    admin = ConsoleSession(settings, settings.admin_user, settings.admin_password)
    registered = admin.post("/admin/api-clients", {"name": PARTNER, "scopes": [OPEN311_CREATE],
                                                   "reason": "Open311 合作方接入"})
    assert registered.status_code == 200, errors_of(registered)
    yield html.unescape(re.search(r'<pre id="new-key">([^<]+)</pre>', registered.text).group(1))
    page = admin.get("/admin/api-clients").text
    for name in set(re.findall(r'/admin/api-clients/([^/"]+)/revoke', page)):
        admin.post(f"/admin/api-clients/{name}/revoke", {"reason": "测试结束, 吊销"})


@pytest.fixture
def endpoint(settings) -> str:
    return f"{settings.console_url}/open311/v2"


def submit(endpoint: str, key: str, **fields) -> requests.Response:
    form = {"api_key": key, "service_code": CODE, "description": DESCRIPTION,
            "address_string": "萧县凤城街道民主路幸福小区 3 栋", "phone": unique_phone()
            } | CALLER | fields
    return requests.post(f"{endpoint}/requests.json", timeout=60,
                         data={name: value for name, value in form.items() if value is not None})


def request_id(endpoint: str, created: requests.Response) -> str:
    """The appeal number of a submitted request: at once (201), or through its token once the
    outbox has started it (202: the engine did not answer within the intake's wait)."""
    assert created.status_code in (201, 202), created.text
    [answer] = created.json()
    if created.status_code == 201:
        return answer["service_request_id"]
    return wait_until(lambda: requests.get(f"{endpoint}/tokens/{answer['token']}.json", timeout=60)
                      .json()[0].get("service_request_id"), timeout=SETTLE_S + 120,
                      what="the queued request to start")


def appeal_count(engine) -> int:
    return engine.get("/history/process-instance/count",
                      processDefinitionKey=APPEAL_PROCESS)["count"]


def outbox_rows(settings) -> int:
    with sqlite3.connect(outbox_path(settings)) as db:
        return db.execute("SELECT count(*) FROM intake_outbox").fetchone()[0]


def test_services_are_the_category_leaves_in_json_and_xml(endpoint):
    services = GeoReport(endpoint).get_service_list()
    leaves = TAXONOMY.current().leaves
    assert [service["service_code"] for service in services] == [leaf.code for leaf in leaves]
    service = next(service for service in services if service["service_code"] == CODE)
    assert (service["service_name"], service["group"], service["metadata"], service["type"]) == (
        "物业服务", "城乡建设", True, "realtime")
    in_xml = GeoReport(endpoint, output_format="xml").get_service_list()
    assert [service["service_code"] for service in in_xml] == [leaf.code for leaf in leaves]

    definition = GeoReport(endpoint).get_service_definition(CODE)
    attributes = {attribute["code"]: attribute for attribute in definition["attributes"]}
    assert set(attributes) == {"kind", "title", "urgency", "confidential"}
    assert {"key": "inquiry", "name": "咨询"} in attributes["kind"]["values"]
    assert GeoReport(endpoint, output_format="xml").get_service_definition(CODE)[
        "service_code"] == CODE
    with pytest.raises(requests.HTTPError):
        GeoReport(endpoint).get_service_definition("construction.noSuchThing")


def test_a_request_is_followed_through_its_stages(endpoint, partner_key, appeals, engine):
    phone = unique_phone()
    number = request_id(endpoint, submit(endpoint, partner_key, phone=phone))
    client = GeoReport(endpoint)

    def stage_is(notes: str) -> dict:
        return wait_until(lambda: (found := client.get_service_request(number))[
            "status_notes"] == notes and found, timeout=60, what=f"{number}: {notes}")

    found = wait_until(lambda: (answer := stage_is("待承办单位签收"))["expected_datetime"] and answer,
                       timeout=60, what=f"{number}: the completion deadline")
    assert (found["status"], found["service_code"], found["service_name"],
            found["agency_responsible"]) == ("open", CODE, "物业服务", "凤城街道")
    assert found["requested_datetime"].endswith("+08:00") and found["expected_datetime"]
    assert found["address"] == "萧县凤城街道民主路幸福小区 3 栋"
    # Intake as any channel: channel open311, the partner recorded.
    root = appeal.family(engine, number)[0]  # (no business-key filter for history variables)
    variables = appeal.variables_by_instance(engine, [root["id"]], (
        "channel", "partner", "callerEmail"))[root["id"]]
    assert variables == {"channel": "open311", "partner": PARTNER,
                         "callerEmail": CALLER["email"]}

    appeals.handle_to_reply(number)
    assert stage_is("承办单位办理中")["status"] == "open"
    appeals.work(number, "housing01", "Task_AssistAppeal", assistOpinion="配合督促物业整改到位")
    appeals.work(number, "fengcheng01", "Task_ReplyAppeal", replyText=REPLY, solved=True)
    stage_is("答复审核中")
    appeals.work(number, "hotline01", "Task_ReviewReply", replyApproved=True)
    stage_is("待回访评价")
    appeals.work(number, "hotline01", "Task_CallbackCaller", callbackReached=True,
                 evaluation="satisfied", solvedConfirmed=True, callbackNote="诉求人表示满意")
    closed = stage_is("已办结")
    assert closed["status"] == "closed" and closed["updated_datetime"] >= found["updated_datetime"]

    # The list finds it by code, status and number, in JSON and XML; no caller data in either.
    listed = client.get_service_requests(service_code=CODE, status="closed")
    assert number in [item["service_request_id"] for item in listed]
    assert number not in [item["service_request_id"]
                          for item in client.get_service_requests(status="open")]
    by_number = GeoReport(endpoint, output_format="xml").get_service_requests(
        service_request_id=number)
    assert by_number["service_request_id"] == number and by_number["status"] == "closed"
    for path in (f"requests/{number}.json", f"requests/{number}.xml",
                 f"requests.json?service_request_id={number}"):
        text = requests.get(f"{endpoint}/{path}", timeout=60).text
        for secret in (phone, phone[-4:], CALLER["first_name"], CALLER["email"], DESCRIPTION,
                       REPLY, "callerPhone"):
            assert secret not in text, (path, secret)


def test_a_confidential_request_shows_only_its_status(endpoint, partner_key):
    number = request_id(endpoint, submit(endpoint, partner_key, **{
        "attribute[confidential]": "true", "attribute[kind]": "report"}))
    assert GeoReport(endpoint).get_service_request(number) == {
        "service_request_id": number, "status": "open"}


@pytest.mark.parametrize("fields, status, named", [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "suban_not-a-key"}, 403, "api_key"),
    ({"service_code": "construction.noSuchThing"}, 400, "service_code"),
    ({"description": "长" * 4001}, 400, "description"),
    ({"lat": "北纬三十四度", "long": "116.9", "address_string": None}, 400, "lat"),
    ({"lat": "34.2", "long": "200", "address_string": None}, 400, "long"),
    ({"address_string": None}, 400, "address_string"),
    ({"phone": None}, 400, "phone"),
    ({"phone": "12345"}, 400, "phone"),
    ({"attribute[kind]": "praise"}, 400, "attribute[kind]"),
    ({"attribute[colour]": "red"}, 400, "attribute[colour]"),
    ({"first_name": "名" * 26}, 400, "first_name"),
    ({"email": "not-an-address"}, 400, "email"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"unknown_field": "x"}, 400, "unknown_field"),
    ({"description": "长" * 200_000}, 413, "请求体过大"),
])
def test_bad_input_is_refused_naming_the_field_and_starts_nothing(
        endpoint, partner_key, engine, settings, fields, status, named):
    before = appeal_count(engine), outbox_rows(settings)
    refused = submit(endpoint, partner_key, **fields)
    assert refused.status_code == status, refused.text
    [error] = refused.json()
    assert error["code"] == status and named in error["description"], error
    assert re.search(r"[\u4e00-\u9fff]", error["description"])  # said in Chinese
    assert (appeal_count(engine), outbox_rows(settings)) == before


def test_a_key_without_the_open311_scope_is_refused(endpoint, partner_key, settings):
    admin = ConsoleSession(settings, settings.admin_user, settings.admin_password)
    registered = admin.post("/admin/api-clients", {"name": "只能登记的客户端", "scopes": [
        APPEALS_CREATE], "reason": "Open311 权限测试"})
    key = html.unescape(re.search(r'<pre id="new-key">([^<]+)</pre>', registered.text).group(1))
    assert submit(endpoint, key).status_code == 403


def test_the_search_refuses_bad_parameters_in_the_standard_format(endpoint):
    for query, named in (({"start_date": "yesterday"}, "start_date"),
                         ({"start_date": "2026-01-01T00:00:00+08:00",
                           "end_date": "2026-06-01T00:00:00+08:00"}, "end_date"),
                         ({"status": "pending"}, "status"), ({"page_size": "1000"}, "page_size"),
                         ({"page": "two"}, "page")):
        refused = requests.get(f"{endpoint}/requests.json", params=query, timeout=60)
        assert refused.status_code == 400 and named in refused.json()[0]["description"], query
    in_xml = requests.get(f"{endpoint}/requests.xml", params={"status": "pending"}, timeout=60)
    assert in_xml.status_code == 400 and "<errors><error><code>400</code>" in in_xml.text
    assert requests.get(f"{endpoint}/requests/XS20990101-0001.json", timeout=60).status_code == 404


def test_a_request_waits_with_a_token_while_the_engine_is_away(settings, tmp_path):
    """Engine down: the appeal is kept in the outbox under the console's offline number, and the
    partner gets a token that gives the number once the appeal is in the engine."""
    away = dataclasses.replace(settings, engine_port=free_port(), data_dir=tmp_path)
    outbox = IntakeOutbox(outbox_path(away))
    outbox.keep_offline_series(7)
    key = ApiClientStore(tmp_path / "console" / "api_clients.sqlite").register(
        PARTNER, [OPEN311_CREATE], "admin")
    app = create_app(away).test_client()
    queued = app.post("/open311/v2/requests.json", data={
        "api_key": key, "service_code": CODE, "description": DESCRIPTION, "lat": "34.188",
        "long": "116.945", "phone": unique_phone()})
    assert queued.status_code == 202, queued.text
    [answer] = queued.json
    assert "service_request_id" not in answer
    token = answer["token"]
    assert app.get(f"/open311/v2/tokens/{token}.json").json == [{"token": token}]
    number, _ = outbox.claim_due()
    assert "-L7-" in number  # the offline series
    assert app.get(f"/open311/v2/requests/{number}.json").json[0]["status_notes"] == "已受理, 等待派单"
    outbox.mark_started(number, "instance-from-the-relay")
    assert app.get(f"/open311/v2/tokens/{token}.json").json == [
        {"token": token, "service_request_id": number}]
    assert app.get("/open311/v2/tokens/no-such-token.json").status_code == 404


def test_the_openapi_document_names_the_fields_and_errors(endpoint):
    document = requests.get(f"{endpoint}/openapi.json", timeout=30).json()
    assert set(document["paths"]) == {f"/open311/v2/{path}" for path in (
        "services.json", "services/{code}.json", "requests.json", "requests/{service_request_id}.json",
        "tokens/{token}.json")}
    post = document["paths"]["/open311/v2/requests.json"]["post"]
    assert "application/x-www-form-urlencoded" in post["requestBody"]["content"]
    assert {"201", "202", "400", "403", "413"} <= set(post["responses"])
    fields = document["components"]["schemas"]["ServiceRequest"]["properties"]
    assert {"api_key", "service_code", "lat", "long", "address_string", "phone", "email",
            "description"} <= set(fields)
