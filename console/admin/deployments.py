"""The deploy page: BPMN, DMN and forms edited in Modeler are uploaded, checked with everything
CI checks (well-formedness, bpmnlint for Camunda 7.24, the element templates of our workers, the
form linter with Tasklist's form-js, the time-limit table's cells) and only then deployed, as
`suban deploy` does (one deployment named `suban`, changed resources only). The accepted files
are written into the models folder, so that bpmn/ and forms/ stay the one source.

Running appeals keep the version they started on. Moving them to a newer version goes through
the engine's migration API: a dry run first (the engine's plan, its validation and, per running
instance, the activities the plan cannot map), then the migration of the instances the dry run
found movable.
"""
from __future__ import annotations

import json
import re
import tempfile
import shutil
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from flask import flash, redirect, render_template, request, url_for
from marshmallow import ValidationError, fields, validate
from werkzeug.exceptions import NotFound

from console.admin import ReasonSchema, admin, settings, store, user_id
from console.admin import dmn_table
from console.admin.auth import ADMIN
from console.api import error_response
from console.jobs import Job, JobFailed, JobKind
from console.admin.files import TIME_LIMITS
from deploy.deployment import (BPMN_NAMESPACE, DEPLOYMENT_NAME, DeploymentRefused, check_file,
                               deploy)
from deploy.form_options import sync_form_options
from deploy.model_checks import bpmnlint, lint_forms, tools_missing
from deploy.templates import TEMPLATES_FILE, misfits
from external_tasks.camunda import EngineClient, EngineError

FOLDERS = {".bpmn": "bpmn", ".dmn": "bpmn", ".form": "forms"}
FILE_NAME = re.compile(r"^[A-Za-z0-9_-]+\.(bpmn|dmn|form)$")
LISTED_DEPLOYMENTS = 20
#: One check-and-deploy at a time, one migration at a time: a second one (another tab, a
#: double click) is refused.
DEPLOY_JOB = JobKind("deploy", "检查并部署", (ADMIN,))
DEPLOY_STAGES = ("同步表单选项", "检查文件 (可能需要几分钟)", "部署到流程引擎", "写入模型目录")
MIGRATION_JOB = JobKind("migration", "迁移运行中的工单", (ADMIN,))


class MigrationFormSchema(ReasonSchema):
    source = fields.String(required=True, validate=validate.Length(min=1))
    target = fields.String(required=True, validate=validate.Length(min=1))
    instances = fields.List(fields.String(), required=True, validate=validate.Length(
        min=1, error="预演报告中没有可迁移的工单"))


# -- checks before deployment --------------------------------------------------------------------

def _tool_report(tool: str, result, root: Path) -> list[str]:
    if result.returncode == 0:
        return []
    output = (result.stdout + result.stderr).replace(f"{root}/", "").strip()
    return [f"{tool}:"] + output.splitlines()


def check_models(root: Path, files: list[Path]) -> list[str]:
    """Everything wrong with the files (paths under `root`), as CI would report it."""
    problems = [problem for path in files
                if (problem := check_file(path, path.relative_to(root).as_posix()))]
    if problems:
        return problems  # the linters need well-formed files
    missing = tools_missing()
    if missing:
        return [f"无法运行设计检查工具, 未部署: 请先安装 {missing} (modeling checks unavailable)"]
    bpmn = [path for path in files if path.suffix == ".bpmn"]
    forms = [path for path in files if path.suffix == ".form"]
    if bpmn:
        problems += _tool_report("bpmnlint (Camunda 7.24)", bpmnlint(*bpmn), root)
        templates = json.loads(TEMPLATES_FILE.read_text("utf-8"))
        problems += [line for path in bpmn for line in misfits(path, templates)]
    if forms:
        problems += _tool_report("表单检查 (form-js 1.8.7)", lint_forms(*forms), root)
    for path in files:
        if path.relative_to(root) == TIME_LIMITS.path(settings()).relative_to(
                settings().models_dir):
            try:
                dmn_table.check(dmn_table.parse(path.read_bytes())[1])
            except dmn_table.TableError as exc:
                problems += [f"{path.name}: {problem}" for problem in exc.problems]
    return problems


def _uploads(root: Path) -> tuple[list[Path], list[str]]:
    """The uploaded files written under `root` (bpmn/, forms/), and what is wrong with names."""
    files, problems = [], []
    for upload in request.files.getlist("files"):
        name = Path(upload.filename or "").name
        if not name:
            continue
        if not FILE_NAME.match(name):
            problems.append(f"{name}: 文件名只能用英文字母、数字、- 和 _, 扩展名为 .bpmn、.dmn 或 .form")
            continue
        path = root / FOLDERS[Path(name).suffix] / name
        if path in files:
            problems.append(f"{name}: 同名文件上传了两次")
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        upload.save(path)
        files.append(path)
    if not files and not problems:
        problems.append("请选择要部署的 BPMN、DMN 或表单文件")
    return files, problems


@admin.get("/deploy")
def deploy_page():
    client = EngineClient.as_admin(settings())
    return render_template("admin/deploy.html", deployments=deployments(client),
                           migrations=migration_candidates(client))


@admin.post("/deploy")
def upload_models():
    """Check and deploy the uploaded files as a job (202); a form at fault is refused (400)."""
    try:
        reason = ReasonSchema().load(request.form.to_dict())["reason"].strip()
    except ValidationError as error:
        return error_response(error.messages)
    root = Path(tempfile.mkdtemp(prefix="suban-deploy-"))
    files, problems = _uploads(root)
    if problems:
        shutil.rmtree(root)
        return error_response({"files": problems})
    user = user_id()

    def work(job: Job) -> list[str]:
        try:
            return _check_and_deploy(job, root, files, user, reason)
        finally:
            shutil.rmtree(root)
    answer = DEPLOY_JOB.started(work)
    if answer[1] == 409:
        shutil.rmtree(root)
    return answer


def _check_and_deploy(job: Job, root: Path, files: list[Path], user: str,
                      reason: str) -> list[str]:
    def stage(done: int) -> None:
        job.progress(done, len(DEPLOY_STAGES), DEPLOY_STAGES[done])
    stage(0)
    if (root / "forms").exists():
        sync_form_options(root / "forms")  # as `suban deploy` does
    stage(1)
    problems = check_models(root, files)
    if problems:
        raise JobFailed(["未部署任何文件 (nothing deployed):"] + problems)
    stage(2)
    try:
        result = deploy(EngineClient.as_admin(settings()), files, root, name=DEPLOYMENT_NAME)
    except DeploymentRefused as exc:
        raise JobFailed(str(exc).splitlines()) from None
    stage(3)
    for path in files:
        _keep(path, path.relative_to(root), user, reason)
    job.progress(len(DEPLOY_STAGES))
    names = ", ".join(path.relative_to(root).as_posix() for path in files)
    detail = (f"部署 {result.deployment_id}: 已部署 {', '.join(result.deployed) or '无'}; "
              f"未变 {', '.join(result.unchanged) or '无'}")
    store().record(user, "部署", names, reason, detail)
    return [detail if result.deployed else "文件与已部署的版本相同, 没有部署新版本"]


def _keep(path: Path, resource: Path, user: str, reason: str) -> None:
    """Write an accepted file into the models folder, keeping the version it replaces."""
    target = settings().models_dir / resource
    content = path.read_bytes()
    previous = target.read_bytes() if target.exists() else None
    if previous == content:
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(content)
    name = (TIME_LIMITS.name if target == TIME_LIMITS.path(settings())
            else f"model:{resource.as_posix()}")
    store().save_version(name, previous, content, user, reason)


# -- deployed versions ---------------------------------------------------------------------------

def _elements(xml: str) -> dict[str, tuple[str, str]]:
    """Flow elements by id: (kind, name)."""
    root = ElementTree.fromstring(xml.encode("utf-8"))
    found = {}
    for process in root.iter(f"{BPMN_NAMESPACE}process"):
        for element in process.iter():
            if element.get("id") and element is not process:
                found[element.get("id")] = (element.tag.removeprefix(BPMN_NAMESPACE),
                                            element.get("name") or "")
    return found


def changes(client: EngineClient, definition: dict) -> list[str]:
    """What a process definition changed against its previous version."""
    if definition["version"] == 1:
        return ["首个版本"]
    previous = client.get("/process-definition", key=definition["key"],
                          version=definition["version"] - 1)
    if not previous:
        return ["上一版本已删除"]
    before = _elements(client.get(f"/process-definition/{previous[0]['id']}/xml")["bpmn20Xml"])
    after = _elements(client.get(f"/process-definition/{definition['id']}/xml")["bpmn20Xml"])
    lines = [f"新增 {kind} {element_id}「{name}」" for element_id, (kind, name) in after.items()
             if element_id not in before]
    lines += [f"删除 {kind} {element_id}「{name}」" for element_id, (kind, name) in before.items()
              if element_id not in after]
    lines += [f"修改 {element_id}: {before[element_id]} → {after[element_id]}"
              for element_id in after if element_id in before and before[element_id] != after[element_id]]
    return lines or ["元素未变 (属性或图形有改动)"]


def deployments(client: EngineClient) -> list[dict]:
    """The latest deployments of the models, each with its resources and process versions."""
    listed = []
    for deployment in client.get("/deployment", name=DEPLOYMENT_NAME, sortBy="deploymentTime",
                                 sortOrder="desc", maxResults=LISTED_DEPLOYMENTS):
        definitions = client.get("/process-definition", deploymentId=deployment["id"])
        listed.append(deployment | {
            "resources": sorted(resource["name"] for resource
                                in client.get(f"/deployment/{deployment['id']}/resources")),
            "definitions": [definition | {
                "running": client.get("/process-instance/count",
                                      processDefinitionId=definition["id"])["count"],
                "changes": changes(client, definition)} for definition in definitions],
            "decisions": client.get("/decision-definition", deploymentId=deployment["id"])})
    return listed


def migration_candidates(client: EngineClient) -> list[dict]:
    """Older process versions that still have running instances, with their latest version."""
    candidates = []
    for latest in client.get("/process-definition", latestVersion="true"):
        for older in client.get("/process-definition", key=latest["key"], sortBy="version",
                                sortOrder="desc"):
            if older["id"] == latest["id"]:
                continue
            running = client.get("/process-instance/count", processDefinitionId=older["id"])
            if running["count"]:
                candidates.append({"source": older, "target": latest, "running": running["count"]})
    return candidates


# -- migration -----------------------------------------------------------------------------------

def _activities(tree: dict) -> set[str]:
    """The activities an instance is in (its activity-instance tree, root excluded)."""
    found = set()
    for child in tree.get("childActivityInstances", []):
        found |= {child["activityId"]} | _activities(child)
    found |= {transition["activityId"] for transition in tree.get("childTransitionInstances", [])}
    return found


def dry_run(client: EngineClient, source: str, target: str) -> dict:
    """The engine's plan for source → target, its validation, and per running instance the
    activities the plan does not map (such an instance cannot move)."""
    plan = client.post("/migration/generate", {"sourceProcessDefinitionId": source,
                                               "targetProcessDefinitionId": target,
                                               "updateEventTriggers": True})
    report = client.post("/migration/validate", plan)
    problems = [f"{', '.join(item['instruction']['sourceActivityIds'])}: {failure}"
                for item in report.get("instructionReports", []) for failure in item["failures"]]
    problems += [f"变量 {name}: {failure}" for name, item in
                 (report.get("variableReports") or {}).items() for failure in item["failures"]]
    mapped = {activity for instruction in plan["instructions"]
              for activity in instruction["sourceActivityIds"]}
    instances = []
    for instance in client.get("/process-instance", processDefinitionId=source):
        active = _activities(client.get(f"/process-instance/{instance['id']}/activity-instances"))
        instances.append({"id": instance["id"], "businessKey": instance.get("businessKey"),
                          "activities": sorted(active), "unmapped": sorted(active - mapped)})
    return {"plan": plan, "problems": problems, "instances": instances,
            "movable": [] if problems else [item["id"] for item in instances
                                            if not item["unmapped"]]}


def _definition(client: EngineClient, definition_id: str) -> dict:
    try:
        return client.get(f"/process-definition/{definition_id}")
    except EngineError as exc:
        if exc.status == 404:
            raise NotFound(f"没有流程定义 {definition_id}") from None
        raise


@admin.get("/migration")
def migration_report():
    client = EngineClient.as_admin(settings())
    source = _definition(client, request.args.get("source", ""))
    target = client.get("/process-definition/key/" + source["key"])  # the latest version
    if target["id"] == source["id"]:
        flash("这已是最新版本, 无需迁移")
        return redirect(url_for("admin.deploy_page"))
    return render_template("admin/migration.html", source=source, target=target,
                           report=dry_run(client, source["id"], target["id"]))


@admin.post("/migration")
def migrate():
    """Migrate the instances the dry run found movable, as a job (202); a form at fault, or
    instances that can no longer move, are refused (400)."""
    client = EngineClient.as_admin(settings())
    form = request.form.to_dict() | {"instances": request.form.getlist("instances")}
    source = _definition(client, form.get("source", ""))
    target = _definition(client, form.get("target", ""))
    report = dry_run(client, source["id"], target["id"])
    try:
        values = MigrationFormSchema().load(form)
    except ValidationError as error:
        return error_response(error.messages)
    unmovable = sorted(set(values["instances"]) - set(report["movable"]))
    if unmovable:
        return error_response({"instances": [
            f"这些工单已不能按预演迁移, 请重新预演: {', '.join(unmovable)}"]})
    user = user_id()

    def work(job: Job) -> list[str]:
        job.progress(0, None, f"流程引擎正在迁移 {len(values['instances'])} 个实例")
        try:
            client.post("/migration/execute", {
                "migrationPlan": report["plan"], "processInstanceIds": values["instances"],
                "skipCustomListeners": False, "skipIoMappings": False})
        except EngineError as error:
            raise JobFailed([f"流程引擎拒绝迁移, 没有工单被迁移: {error}"]) from None
        detail = (f"{len(values['instances'])} 个实例 {source['id']} → {target['id']}: "
                  f"{', '.join(values['instances'])}")
        store().record(user, "迁移运行中的工单", source["key"], values["reason"].strip(), detail)
        return [f"已将 {len(values['instances'])} 个运行中的实例迁移到版本 {target['version']}"]
    return MIGRATION_JOB.started(work)
