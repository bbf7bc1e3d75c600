"""The deploy page: uploads are checked like CI checks them before anything is deployed; the
deployed versions list what changed; running instances move to a new version only through the
engine's migration API, after a dry run."""
from __future__ import annotations

import html
from pathlib import Path

import pytest

from tests.helpers import BROKEN_BPMN

MODELS = Path(__file__).resolve().parent / "admin_models"
PROBE = "admin_probe"


def deployment_count(engine) -> int:
    return engine.get("/deployment/count", name="suban")["count"]


def upload(session, *files: tuple[str, bytes], reason: str = "上传测试模型"):
    return session.post("/admin/deploy", {"reason": reason}, files=[
        ("files", (name, content, "application/octet-stream")) for name, content in files])


@pytest.mark.parametrize("name, content, problem", [
    ("broken.bpmn", b"<bpmn:definitions", "bpmn/broken.bpmn:1:"),
    ("broken.bpmn", BROKEN_BPMN.encode(), "camunda-compat/history-time-to-live"),
    ("broken.form", b'{"components": []}', 'a Camunda Form needs a string "id"'),
])
def test_a_model_that_fails_a_check_is_refused_and_nothing_is_deployed(
        settings, engine, console_as, name, content, problem):
    admin = console_as(settings.admin_user)
    before = deployment_count(engine)
    refused = admin.job("deploy", upload(admin, (name, content)))
    report = "\n".join(refused["lines"])
    assert refused["failed"] and "未部署任何文件" in report and problem in report, report
    assert deployment_count(engine) == before
    assert not (settings.models_dir / "bpmn" / name).exists()


def test_an_uploaded_time_limit_table_with_a_bad_cell_is_refused(settings, engine, console_as):
    admin = console_as(settings.admin_user)
    path = settings.models_dir / "bpmn" / "time_limits.dmn"
    original = path.read_bytes()
    broken = original.replace(b"<text>15</text>", b"<text>fifteen</text>", 1)
    assert broken != original
    before = deployment_count(engine)
    refused = admin.job("deploy", upload(admin, ("time_limits.dmn", broken)))
    assert refused["failed"] and "time_limits.dmn: 第 4 行: 「办结时限」应为正数" in "\n".join(
        refused["lines"])
    assert deployment_count(engine) == before and path.read_bytes() == original


@pytest.fixture
def probe_cleanup(settings, engine):
    yield
    for deployment in engine.get("/deployment", name="suban"):
        resources = engine.get(f"/deployment/{deployment['id']}/resources")
        if [resource["name"] for resource in resources] == [f"bpmn/{PROBE}.bpmn"]:
            engine.rest("DELETE", f"/deployment/{deployment['id']}", params={"cascade": "true"},
                        expect_json=False)
    (settings.models_dir / "bpmn" / f"{PROBE}.bpmn").unlink(missing_ok=True)


def test_running_instances_migrate_to_a_new_version_after_a_dry_run(
        settings, engine, console_as, probe_cleanup):
    admin = console_as(settings.admin_user)
    first = admin.job("deploy", upload(admin, (f"{PROBE}.bpmn",
                                               (MODELS / f"{PROBE}_v1.bpmn").read_bytes())))
    assert not first["failed"], first
    instance = engine.post(f"/process-definition/key/{PROBE}/start", {"businessKey": "PROBE-1"})
    second = admin.job("deploy", upload(admin, (f"{PROBE}.bpmn", (
        MODELS / f"{PROBE}_v2.bpmn").read_bytes()), reason="增加复核环节"))
    assert not second["failed"] and "已部署" in second["lines"][0], second
    assert (settings.models_dir / "bpmn" / f"{PROBE}.bpmn").read_bytes() == \
        (MODELS / f"{PROBE}_v2.bpmn").read_bytes()

    page = html.unescape(admin.get("/admin/deploy").text)
    assert f"{PROBE} v2" in page and "新增 userTask Task_Check「复核测试」" in page
    source = engine.get(f"/process-instance/{instance['id']}")["definitionId"]
    assert f"/admin/migration?source={source}" in page  # v1 still has a running instance

    report = admin.get("/admin/migration", source=source)
    assert report.status_code == 200
    assert engine.get(f"/process-instance/{instance['id']}")["definitionId"] == source  # dry run
    text = html.unescape(report.text)
    assert "PROBE-1" in text and "可迁移" in text and "Task_Review" in text
    target = engine.get(f"/process-definition/key/{PROBE}")
    no_reason = admin.post("/admin/migration", {"source": source, "target": target["id"],
                                                "instances": instance["id"]})
    assert no_reason.status_code == 400 and "修改原因" in no_reason.json()["errors"]["reason"][0]
    assert engine.get(f"/process-instance/{instance['id']}")["definitionId"] == source
    migrated = admin.post("/admin/migration", {"source": source, "target": target["id"],
                                               "instances": instance["id"],
                                               "reason": "在办实例改用新版本"})
    migrated = admin.job("migration", migrated)
    assert migrated["lines"] == [f"已将 1 个运行中的实例迁移到版本 {target['version']}"], migrated
    assert engine.get(f"/process-instance/{instance['id']}")["definitionId"] == target["id"]
    audit = html.unescape(admin.get("/admin/audit").text)
    assert "增加复核环节" in audit and "在办实例改用新版本" in audit
