"""Bad input at scale: the console API fuzzed from its own OpenAPI document (schemathesis).

Every operation gets a fixed number of generated requests, valid and invalid, drawn
deterministically: no answer is a 500, every answer conforms to the document (schemathesis's
response_schema_conformance among its default checks), and every 4xx body is the error schema
naming the field at fault. Reads go to the test stack's engine; starts go to a closed port, so
valid appeals are queued in a throwaway outbox and no fuzzed appeal reaches the engine or
another test's units.

Generated queries seldom name a valid period, so the reports are also asked for periods of an
analytical store of the console's own that holds appeals in the states a sync writes, and the
operations that call the engine are asked of a console whose engine is away; those answers are
checked against the document too.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode

from assessment import store
from assessment.synthetic import synthetic_row, load_synthetic
from console import create_app
from console.api import MAX_BODY_BYTES
from console.outbox import IntakeOutbox
from external_tasks.camunda import EngineClient
from admin_data.workdays import SHANGHAI
from external_tasks.intake import take_offline_series
from tests.conftest import free_port
from tests.helpers import INTAKE_APPEAL

EXAMPLES = 40  # per operation and generation mode
#: Some rules JSON Schema in OpenAPI 3.0 cannot state: a field required only when another is
#: set, a receipt time not in the future. Schema-valid data may break them and get a 400, whose
#: body must still name the field (checked below), so "valid data is accepted" is not checked.
RULES_BEYOND_SCHEMA = [schemathesis.checks.positive_data_acceptance]


#: The live month of the console's store: appeals received, some still open and unevaluated.
LIVE_MONTH = dt.date(2026, 11, 1)
#: A past year of the store: synthetic appeals, closed and evaluated, with repeats and surges.
PAST_YEAR = 2025


def live_month_appeals() -> list[dict]:
    """Store rows as the sync writes them early in a month, one per state that leaves columns
    empty: just received (nothing judged, no evaluation), a repeat of the same caller, answered
    on the call (no unit), excluded by the scope check (no township, no category)."""
    def received(day: int) -> dt.datetime:
        return dt.datetime(LIVE_MONTH.year, LIVE_MONTH.month, day, 9, 30, tzinfo=SHANGHAI)
    same_caller = {"caller_key": "fuzz-caller", "address_key": "fengcheng|人民路1号"}
    return [
        synthetic_row("XS20261102-0001", received(2), source="engine", township="fengcheng",
                   category_code="construction.propertyService", lead_unit="fengcheng",
                   **same_caller),
        synthetic_row("XS20261103-0001", received(3), source="engine", township="fengcheng",
                   category_code="construction.propertyService", lead_unit="fengcheng",
                   **same_caller),
        synthetic_row("XS20261103-0002", received(3), source="engine", kind="inquiry",
                   township="zhaozhuang", state="closed", closed_as="answered_on_call",
                   closed_at=received(3).isoformat(), dispatched=0, unit_runs=0),
        synthetic_row("XS20261104-0001", received(4), source="engine", state="closed",
                   closed_as="excluded", closed_at=received(4).isoformat(), dispatched=0,
                   unit_runs=0),
    ]


@pytest.fixture(scope="module")
def app(settings, engine, tmp_path_factory):
    # A data folder of its own: the analytical store holds what this test put there, whatever
    # other tests of the session synced or loaded into the stack's.
    settings = dataclasses.replace(settings, data_dir=tmp_path_factory.mktemp("fuzz"))
    load_synthetic(store.store_path(settings), 2_000, PAST_YEAR, progress=False)
    db = store.connect(store.store_path(settings))
    try:
        store.upsert(db, live_month_appeals())
    finally:
        db.close()
    app = create_app(settings)
    app.config["SUBAN_INTAKE_OUTBOX"] = IntakeOutbox(settings.data_dir / "outbox.sqlite")
    # Appeals are queued under numbers of this console's offline series (it has no engine).
    app.config["SUBAN_INTAKE_OUTBOX"].keep_offline_series(take_offline_series(engine))
    app.config["SUBAN_INTAKE_ENGINE"] = EngineClient(
        f"http://127.0.0.1:{free_port()}/engine-rest", settings.admin_user,
        settings.admin_password)
    return app


@pytest.fixture
def auth(settings) -> dict:
    return {"Authorization": f"Bearer {settings.api_token}"}


def assert_names_the_problem(status: int, body) -> None:
    """A refusal is {"errors": {field: [message, ...]}} with at least one message."""
    assert isinstance(body, dict) and set(body) == {"errors"}, (status, body)
    assert body["errors"], (status, body)
    for field, messages in body["errors"].items():
        assert field and messages and all(isinstance(m, str) and m for m in messages), \
            (status, body)


@pytest.fixture(scope="module")
def api_schema(app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


#: Every operation of the document, each its own test so a failure names its operation.
OPERATIONS = [(method.upper(), path) for path, methods in
              create_app().config["OPENAPI_SPEC"]["paths"].items() for method in methods]


@pytest.mark.parametrize("method, path", OPERATIONS)
def test_fuzz_operation_from_the_openapi_document(api_schema, auth, method, path):
    operation = api_schema[path][method]
    statuses: collections.Counter = collections.Counter()
    inputs = (operation.body, operation.path_parameters, operation.query, operation.headers)
    # An operation that takes no input has no invalid request to make.
    modes = list(GenerationMode) if any(map(len, inputs)) else [GenerationMode.POSITIVE]
    for mode in modes:
        @hypothesis.settings(max_examples=EXAMPLES, derandomize=True, database=None,
                             deadline=None, phases=[Phase.explicit, Phase.generate],
                             suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy(generation_mode=mode))
        def fuzz(case):
            response = case.call_and_validate(headers=auth, excluded_checks=RULES_BEYOND_SCHEMA)
            statuses[response.status_code] += 1
            if 400 <= response.status_code < 500:
                assert_names_the_problem(response.status_code, response.json())
        fuzz()
    print(f"\nfuzzed {method} {path}: {sum(statuses.values())} cases, "
          f"statuses {dict(sorted(statuses.items()))}")
    assert sum(statuses.values()) > 0


#: Report → whether its answer counts appeals (so the check saw rows, not empty lists).
REPORTS = {
    "/api/v1/assessment/indicators": lambda body: sum(row["received"] for row in body["rows"]),
    "/api/v1/assessment/analysis": lambda body: body["weekly"] and body["problems"],
    "/api/v1/assessment/bulletin": lambda body: body["problems"],
}
PERIODS = [{"month": LIVE_MONTH.strftime("%Y-%m")}, {"quarter": "2026-Q4", "group": "township"},
           {"year": str(PAST_YEAR), "group": "department"},
           {"start": f"{PAST_YEAR}-06-01", "end": f"{PAST_YEAR}-06-30", "group": "county"}]


@pytest.mark.parametrize("query", PERIODS, ids=lambda query: "-".join(query.values()))
@pytest.mark.parametrize("path", REPORTS)
def test_reports_of_stored_appeals_answer_what_the_document_says(api_schema, auth, path, query):
    case = api_schema[path]["GET"].Case(query=query)
    response = case.call_and_validate(
        headers=auth, checks=[schemathesis.checks.response_schema_conformance])
    assert response.status_code == 200, response.text
    assert REPORTS[path](response.json()), response.text


@pytest.fixture(scope="module")
def api_without_engine(settings, tmp_path_factory):
    """The API of a console whose engine does not answer."""
    settings = dataclasses.replace(settings, data_dir=tmp_path_factory.mktemp("no-engine"),
                                   engine_port=free_port())
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", create_app(settings))


@pytest.mark.parametrize("method, path, path_parameters, body", [
    ("GET", "/api/v1/appeals/{number}", {"number": "XS20261127-0001"}, None),
    ("POST", "/api/v1/appeals/{number}/supervisions", {"number": "XS20261127-0001"},
     {"level": 3, "reason": "重大疑难, 请县领导督办"}),
    ("POST", "/api/v1/assessment/sync", {}, None),
])
def test_operations_without_their_engine_answer_what_the_document_says(
        api_without_engine, auth, method, path, path_parameters, body):
    case = api_without_engine[path][method].Case(
        path_parameters=path_parameters, **({"body": body} if body else {}))
    response = case.call_and_validate(headers=auth, checks=[
        schemathesis.checks.status_code_conformance,
        schemathesis.checks.response_schema_conformance])
    assert response.status_code == 503, response.text
    assert_names_the_problem(response.status_code, response.json())


@pytest.mark.parametrize("headers, data, status, field", [
    ({"Content-Type": "text/plain"}, "kind=complaint", 415, "_body"),
    ({}, b"", 415, "_body"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, "kind=complaint", 415, "_body"),
    ({"Content-Type": "application/json"}, '{"kind": "complaint",', 400, "_body"),
    ({"Content-Type": "application/json"}, "", 400, "_body"),
    ({"Content-Type": "application/json"}, b"\xff\xfe{", 400, "_body"),
    ({"Content-Type": "application/json"}, "[" * 50_000 + "]" * 50_000, 400, "_body"),
    ({"Content-Type": "application/json"}, "[]", 400, "_schema"),
    ({"Content-Type": "application/json"}, "null", 400, "_schema"),
    ({"Content-Type": "application/json"}, json.dumps({"content": "x" * (MAX_BODY_BYTES + 1)}),
     413, "_body"),
    ({"Content-Type": "application/json"}, r'{"title": "\ud800 lone surrogate"}', 400, "title"),
    ({"Content-Type": "application/json"}, r'{"\udfff": "lone surrogate key"}', 400, "_body"),
    ({"Content-Type": "application/json"},
     json.dumps(INTAKE_APPEAL | {"receivedAt": "2999-01-01T09:00:00+08:00"}), 400, "receivedAt"),
], ids=["text", "no-content-type", "form", "truncated", "empty", "not-utf8", "nested",
        "array", "null", "oversized", "surrogate-value", "surrogate-key", "future-receipt"])
def test_bad_bodies_are_refused_with_the_error_schema(app, auth, headers, data, status, field):
    response = app.test_client().post("/api/v1/appeals", data=data, headers=auth | headers)
    assert response.status_code == status, response.get_data(as_text=True)
    assert_names_the_problem(status, response.json)
    assert field in response.json["errors"]


@pytest.mark.parametrize("method, path, status, field", [
    ("GET", "/api/v1/no-such-thing", 404, "_path"),
    ("PUT", "/api/v1/appeals", 405, "_method"),
    ("DELETE", "/api/v1/appeals/XS20261127-0001", 405, "_method"),
    ("GET", "/api/v1/appeals/not-a-number", 404, "number"),
    ("GET", "/api/v1/appeals/XS20261127-99999999", 404, "number"),
])
def test_wrong_paths_and_methods_are_refused_with_the_error_schema(app, auth, method, path,
                                                                   status, field):
    response = app.test_client().open(path, method=method, headers=auth)
    assert response.status_code == status, response.get_data(as_text=True)
    assert_names_the_problem(status, response.json)
    assert field in response.json["errors"]
    if status == 405:
        assert response.headers["Allow"]


def test_pages_outside_the_api_keep_plain_http_errors(app):
    response = app.test_client().get("/no-such-page")
    assert response.status_code == 404 and not response.is_json
