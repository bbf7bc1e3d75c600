"""Tasklist and the server judge a form the same way: form-js 1.8.7 (Tasklist's renderer, run
headless in Node) and our marshmallow schema derived from the same `.form` file must refuse
exactly the same fields for the same submissions."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from console.form_schema import FORMS_DIR, input_components, schema_for_form
from admin_data.environment import REPO_ROOT

MODELING = REPO_ROOT / "deploy" / "modeling"
SAMPLES = {"callerPhone": "13912345678", "newLeadUnit": "longhe", "leadUnit": "longhe"}
WHEN = "2026-11-28T10:00+08:00"


@pytest.fixture(scope="module")
def form_js():
    """Judge submissions with form-js; installs the Node tools on first use."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.fail("Node.js and npm are needed to check forms with form-js (apt-get install nodejs npm)")
    if not (MODELING / "node_modules" / "@bpmn-io" / "form-js-viewer").exists():
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=MODELING,
                       check=True)

    def judge(form: dict, submissions: list[dict]) -> list[set[str]]:
        result = subprocess.run(["node", "validate-form.cjs"], cwd=MODELING, check=True,
                                input=json.dumps({"schema": form, "submissions": submissions}),
                                capture_output=True, text=True, timeout=120)
        return [set(errors) for errors in json.loads(result.stdout)]
    return judge


def valid_value(component: dict):
    key, rules = component["key"], component.get("validate") or {}
    if component["type"] == "checkbox":
        return True
    if component["type"] == "datetime":
        return WHEN
    if component.get("values"):
        value = component["values"][0]["value"]
        return [value] if component["type"] in ("taglist", "checklist") else value
    if component["type"] == "number":
        return rules.get("min", 1)
    return SAMPLES.get(key, "测" * max(rules.get("minLength", 0), 6))


def submissions_for(form: dict) -> list[dict]:
    components = input_components(form)
    valid = {component["key"]: valid_value(component) for component in components}
    cases = [{}, valid]
    for component in components:
        key, rules = component["key"], component.get("validate") or {}
        cases.append({k: v for k, v in valid.items() if k != key})  # left empty
        if rules.get("maxLength"):
            cases.append(valid | {key: "长" * (rules["maxLength"] + 1)})
        if rules.get("minLength", 0) > 1:
            cases.append(valid | {key: "短" * (rules["minLength"] - 1)})
        if rules.get("pattern"):
            cases.append(valid | {key: "abc"})
    # Every choice of a field others depend on: shows and hides the conditional fields.
    for component in components:
        for option in component.get("values") or ():
            if component["type"] in ("radio", "select"):
                cases.append(valid | {component["key"]: option["value"]})
        if component["type"] == "checkbox":
            cases.append(valid | {component["key"]: False})
    return cases


FORMS = sorted(path.stem for path in FORMS_DIR.glob("*.form"))


@pytest.mark.parametrize("form_id", FORMS)
def test_form_js_and_server_refuse_the_same_fields(form_js, form_id):
    form = json.loads((FORMS_DIR / f"{form_id}.form").read_text("utf-8"))
    schema = schema_for_form(form)()
    cases = submissions_for(form)
    judged_by_form_js = form_js(form, cases)
    for case, form_js_errors in zip(cases, judged_by_form_js):
        assert set(schema.validate(case)) == form_js_errors, case
