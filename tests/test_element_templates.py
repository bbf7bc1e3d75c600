"""Camunda Modeler's element templates of our workers come from the workers' code: the checked-in
file is what `suban templates` writes now, every registered topic has a template, and every
external task in bpmn/ is what one of those templates writes. (The official validator checks the
file against the Camunda 7 schema in test_modeling_lint.py.)"""
from __future__ import annotations

import difflib
import xml.etree.ElementTree as ElementTree

import pytest

from deploy.deployment import model_files
from admin_data.environment import REPO_ROOT
from deploy.templates import (TEMPLATES_FILE, TemplateSourceError, element_templates, labelled,
                              misfits, templates_json, template_misfit)
from external_tasks import build_router
from external_tasks.runtime import TaskRouter

TASK = """<bpmn:serviceTask xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Task_Worker" {attributes}>
    <bpmn:extensionElements><camunda:inputOutput>{inputs}</camunda:inputOutput>
    </bpmn:extensionElements></bpmn:serviceTask>"""


def written_by(template: dict, chosen: dict[str, str] | None = None, extra: str = "") -> str:
    """The service task Modeler writes with `template`; `chosen` are the designer's values."""
    chosen = chosen or {}
    attributes, inputs = [], [extra]
    for field in template["properties"]:
        name = field["binding"]["name"]
        if field["binding"]["type"] == "property":
            attributes.append(f'{name}="{field["value"]}"')
        else:
            inputs.append(f'<camunda:inputParameter name="{name}">'
                          f'{chosen.get(name, field["value"])}</camunda:inputParameter>')
    return TASK.format(attributes=" ".join(attributes), inputs="".join(inputs))


def template(template_id: str) -> dict:
    return next(found for found in element_templates() if found["id"] == template_id)


def test_checked_in_templates_are_what_the_workers_say():
    expected = templates_json(element_templates())
    actual = TEMPLATES_FILE.read_text(encoding="utf-8") if TEMPLATES_FILE.exists() else ""
    diff = "".join(list(difflib.unified_diff(actual.splitlines(True), expected.splitlines(True),
                                             "checked in", "from the workers"))[:80])
    assert actual == expected, f"{TEMPLATES_FILE.relative_to(REPO_ROOT)} is stale: run " \
                               f"`./suban templates` and commit it.\n{diff}"


def test_every_topic_has_a_template_setting_that_topic():
    templates = element_templates()
    topics = {field["value"] for template in templates for field in template["properties"]
              if field["binding"] == {"type": "property", "name": "camunda:topic"}}
    assert topics == set(build_router().handlers)
    assert len({template["id"] for template in templates}) == len(templates)


def test_a_topic_without_template_is_named():
    router = build_router()
    extra = TaskRouter()
    extra.task("brand-new-topic")(lambda appealNumber: {})
    router.include(extra)
    with pytest.raises(TemplateSourceError, match=r"no template for \['brand-new-topic'\]"):
        element_templates(router.handlers)


def test_a_worker_value_without_label_is_named():
    with pytest.raises(TemplateSourceError, match=r"mark-overdue deadline.*no label: \['x'\]"):
        labelled(["signFor", "x"], {"signFor": "签收超期"}, "mark-overdue deadline")


@pytest.mark.parametrize("path", sorted((REPO_ROOT / "bpmn").glob("*.bpmn")), ids=lambda p: p.name)
def test_external_tasks_in_the_models_fit_a_template(path):
    assert misfits(path, element_templates()) == []


def test_a_task_that_does_not_fit_its_template_is_reported(tmp_path):
    bad = tmp_path / "bad.bpmn"
    bad.write_text(written_by(template("suban.mark-overdue"), {"deadline": "signfor"},
                              extra='<camunda:inputParameter name="extra">1</camunda:inputParameter>'))
    [line] = misfits(bad, element_templates())
    assert "Task_Worker (topic mark-overdue): fits no element template" in line
    assert "input 'deadline' is 'signfor', not one of ['signFor', 'feedback', 'completion']" in line
    assert "input parameter(s) ['extra'] that the template does not have" in line


def test_what_modeler_writes_with_any_choice_fits_the_template():
    for found in element_templates():
        for field in found["properties"]:
            for choice in field.get("choices", []):
                element = ElementTree.fromstring(
                    written_by(found, {field["binding"]["name"]: choice["value"]}))
                assert template_misfit(element, found) == [], (found["id"], choice)


def test_the_templates_folder_is_not_deployed_to_the_engine():
    assert TEMPLATES_FILE.parent.name == "element-templates"
    assert not [path for path in model_files() if TEMPLATES_FILE.parent in path.parents]
