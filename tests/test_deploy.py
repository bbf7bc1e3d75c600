"""`suban deploy`: BPMN, DMN and forms as one deployment, changed-only; bad files refused."""
import json
import textwrap

import pytest

from cli import main
from deploy.deployment import DeploymentRefused, deploy, model_files

PROCESS = textwrap.dedent("""\
    <?xml version="1.0" encoding="UTF-8"?>
    <bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
                      xmlns:camunda="http://camunda.org/schema/1.0/bpmn"
                      id="Definitions_{key}" targetNamespace="https://suban.example/tests">
      <bpmn:process id="{key}" name="测试: 表单" isExecutable="true">
        <bpmn:startEvent id="StartEvent_Started"/>
        <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_Started" targetRef="Task_Fill"/>
        <bpmn:userTask id="Task_Fill" name="填写表单" camunda:candidateGroups="hotline"
                       camunda:formRef="{key}_form" camunda:formRefBinding="deployment"/>
        <bpmn:sequenceFlow id="Flow_2" sourceRef="Task_Fill" targetRef="{target}"/>
        <bpmn:endEvent id="EndEvent_Done"/>
      </bpmn:process>
    </bpmn:definitions>
    """)


def form(key: str, label: str) -> str:
    return json.dumps({"id": f"{key}_form", "type": "default", "schemaVersion": 16,
                       "executionPlatform": "Camunda Platform", "executionPlatformVersion": "7.24.0",
                       "components": [{"key": "note", "label": label, "type": "textfield"}]},
                      ensure_ascii=False)


@pytest.fixture
def models(tmp_path):
    (tmp_path / "bpmn").mkdir()
    (tmp_path / "forms").mkdir()
    return tmp_path


def write_models(root, key, label="备注", target="EndEvent_Done"):
    (root / "bpmn" / f"{key}.bpmn").write_text(PROCESS.format(key=key, target=target), "utf-8")
    (root / "forms" / f"{key}.form").write_text(form(key, label), "utf-8")


def deployment_count(engine):
    return engine.get("/deployment/count")["count"]


def test_bpmn_and_form_deploy_together_and_only_when_changed(engine, models):
    key = "test_deploy_form"
    write_models(models, key)
    first = deploy(engine, model_files(models), models, name="suban-deploy-test")
    assert first.deployed == [f"bpmn/{key}.bpmn", f"forms/{key}.form"]

    again = deploy(engine, model_files(models), models, name="suban-deploy-test")
    assert again.deployed == [] and again.deployment_id == first.deployment_id

    write_models(models, key, label="办理意见")
    changed = deploy(engine, model_files(models), models, name="suban-deploy-test")
    assert changed.deployed == [f"forms/{key}.form"]
    assert changed.unchanged == [f"bpmn/{key}.bpmn"]


@pytest.mark.parametrize("resource, text, expected", [
    ("bpmn/broken.bpmn", '<b:definitions xmlns:b="x">\n  <b:process>\n</b:definitions>',
     "bpmn/broken.bpmn:3:2: not well-formed XML: mismatched tag"),
    ("bpmn/broken.dmn", "<definitions", "bpmn/broken.dmn:1:0: not well-formed XML: unclosed token"),
    ("forms/broken.form", '{"id": "x",\n "components": [}', "forms/broken.form:2:17: not valid JSON"),
    ("forms/noid.form", '{"components": []}', 'forms/noid.form: a Camunda Form needs a string "id"'),
])
def test_malformed_files_are_refused_naming_file_and_line(engine, models, resource, text,
                                                         expected):
    write_models(models, "test_deploy_fine")
    (models / resource).write_text(text, "utf-8")
    before = deployment_count(engine)
    with pytest.raises(DeploymentRefused) as refused:
        deploy(engine, model_files(models), models, name="suban-deploy-test")
    assert expected in str(refused.value)
    assert deployment_count(engine) == before


def test_invalid_bpmn_is_refused_with_file_and_line(engine, models):
    write_models(models, "test_deploy_dangling", target="Task_Missing")
    before = deployment_count(engine)
    with pytest.raises(DeploymentRefused) as refused:
        deploy(engine, model_files(models), models, name="suban-deploy-test")
    message = str(refused.value)
    assert "bpmn/test_deploy_dangling.bpmn:" in message  # file:line from the engine's details
    assert "Task_Missing" in message
    assert deployment_count(engine) == before


def test_deploy_command_prints_the_refusal_and_exits_non_zero(settings, engine, models,
                                                              monkeypatch, capsys):
    (models / "forms" / "oops.form").write_text("not json", "utf-8")
    (models / "bpmn" / "oops.bpmn").write_text("<oops", "utf-8")
    for name, value in (settings.to_env() | {"SUBAN_MODELS_DIR": str(models)}).items():
        monkeypatch.setenv(name, value)
    before = deployment_count(engine)
    with pytest.raises(SystemExit) as ended:
        main(["deploy"])
    assert ended.value.code == 1
    assert "oops.bpmn" in capsys.readouterr().err
    assert deployment_count(engine) == before
