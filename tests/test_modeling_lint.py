"""The checks of the designers' own tools (npm, in deploy/modeling), run in CI: bpmnlint with the
Camunda 7.24 compatibility rules (deploy/modeling/.bpmnlintrc) on every BPMN in bpmn/, Camunda
Modeler's form linter and Tasklist's form-js on every form, and the official validator on the
element templates. A failure shows the tool's own report. The hand-written fixtures in
tests/bpmn/ are not linted: they have no diagram and are never opened in Modeler, and the engine
parses them in every test session."""
from __future__ import annotations

import json
import shutil
import subprocess

import pytest

from deploy.model_checks import bpmnlint, ensure_tools, lint_forms, run_tool
from admin_data.environment import REPO_ROOT
from deploy.templates import TEMPLATES_FILE
from tests.helpers import BROKEN_BPMN

BPMN_FILES = sorted((REPO_ROOT / "bpmn").glob("*.bpmn"))
FORM_FILES = sorted((REPO_ROOT / "forms").glob("*.form"))

#: An executable process without historyTimeToLive (refused by the 7.24 engine) and a diagram.


@pytest.fixture(scope="module")
def node_tools():
    """The pinned tools (`suban test` installs them; a missing Node.js fails here by name)."""
    if not shutil.which("node") or not shutil.which("npm"):
        pytest.fail("Node.js and npm are needed for the modeling checks (apt-get install nodejs npm)")
    ensure_tools()


def report(tool: str, result: subprocess.CompletedProcess) -> str:
    return f"{tool} (exit {result.returncode}):\n{result.stdout}{result.stderr}"


def test_bpmn_models_pass_bpmnlint_for_camunda_7_24(node_tools):
    assert BPMN_FILES
    result = bpmnlint(*BPMN_FILES)
    assert result.returncode == 0, report("bpmnlint, rules in deploy/modeling/.bpmnlintrc", result)


def test_bpmnlint_reports_what_camunda_7_24_refuses(node_tools, tmp_path):
    broken = tmp_path / "broken.bpmn"
    broken.write_text(BROKEN_BPMN, encoding="utf-8")
    result = bpmnlint(broken)
    assert result.returncode == 1, report("bpmnlint", result)
    assert "camunda-compat/history-time-to-live" in result.stdout
    assert "StartEvent_Alone" in result.stdout and "no-bpmndi" in result.stdout


def test_forms_fit_the_camunda_7_24_tasklist(node_tools):
    assert FORM_FILES
    result = lint_forms(*FORM_FILES)
    assert result.returncode == 0, report("deploy/modeling/lint-forms.mjs", result)


def test_form_lint_reports_what_tasklist_cannot_show(node_tools, tmp_path):
    form = json.loads(FORM_FILES[0].read_text("utf-8"))
    form["components"].append({"type": "filepicker", "id": "Field_Upload", "key": "upload",
                               "label": "附件"})
    broken = tmp_path / "broken.form"
    broken.write_text(json.dumps(form, ensure_ascii=False), encoding="utf-8")
    result = lint_forms(broken)
    assert result.returncode == 1, report("lint-forms.mjs", result)
    assert "Field_Upload: error: A <Filepicker> is not supported by the 7.24 Tasklist" in result.stdout
    assert "form-js 1.8.7 import: form field of type <filepicker> not supported" in result.stdout


def test_element_templates_pass_the_official_validator(node_tools):
    result = run_tool("node", "validate-element-templates.mjs", TEMPLATES_FILE)
    assert result.returncode == 0, report("@bpmn-io/element-templates-validator", result)


def test_template_validator_reports_a_broken_template(node_tools, tmp_path):
    templates = json.loads(TEMPLATES_FILE.read_text("utf-8"))
    del templates[0]["name"]
    templates[1]["properties"][0]["binding"]["type"] = "camunda:unknown"
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(templates, ensure_ascii=False), encoding="utf-8")
    result = run_tool("node", "validate-element-templates.mjs", broken)
    assert result.returncode == 1, report("validate-element-templates.mjs", result)
    assert f"template [0] {templates[0]['id']}: /: missing template name" in result.stdout
    assert "/properties/0/binding/type: invalid property.binding type" in result.stdout
