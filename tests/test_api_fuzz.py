"""Bad input at scale: the console API fuzzed from its own OpenAPI document (schemathesis).

Every operation gets a fixed number of generated requests, valid and invalid, drawn
deterministically: no answer is a 500, every answer conforms to the document, and every 4xx
body is the error schema naming the field at fault. Reads go to the test stack's engine;
starts go to a closed port, so valid appeals are queued in a throwaway outbox and no fuzzed
appeal reaches the engine or another test's units.
"""
from __future__ import annotations

import collections
import json

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given
from schemathesis import GenerationMode

from console import create_app
from console.api import MAX_BODY_BYTES
from console.outbox import IntakeOutbox
from external_tasks.camunda import EngineClient
from external_tasks.intake import take_offline_series
from tests.conftest import free_port
from tests.test_intake_outbox import APPEAL

EXAMPLES = 40  # per operation and generation mode
#: Some rules JSON Schema in OpenAPI 3.0 cannot state: a field required only when another is
#: set, a receipt time not in the future. Schema-valid data may break them and get a 400, whose
#: body must still name the field (checked below), so "valid data is accepted" is not checked.
RULES_BEYOND_SCHEMA = [schemathesis.checks.positive_data_acceptance]


@pytest.fixture(scope="module")
def app(settings, engine, tmp_path_factory):
    app = create_app(settings)
    app.config["SUBAN_INTAKE_OUTBOX"] = IntakeOutbox(
        tmp_path_factory.mktemp("fuzz") / "outbox.sqlite")
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
     json.dumps(APPEAL | {"receivedAt": "2999-01-01T09:00:00+08:00"}), 400, "receivedAt"),
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
