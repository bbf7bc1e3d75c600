"""`suban deploy`: every BPMN, DMN and form as one deployment, changed resources only.

Sent with plain REST rather than pycamunda's `deployment.Create`, which posts without a timeout
and keeps only the engine's message, dropping the per-file parse errors with line numbers.
"""
from __future__ import annotations

import dataclasses
import json
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from admin_data.environment import REPO_ROOT
from external_tasks.camunda import EngineClient, EngineError

DEPLOYMENT_NAME = "suban"
MODEL_FOLDERS = (("bpmn", ("*.bpmn", "*.dmn")), ("forms", ("*.form",)))


def model_files(root: Path = REPO_ROOT) -> list[Path]:
    files = []
    for folder, patterns in MODEL_FOLDERS:
        for pattern in patterns:
            files += sorted((root / folder).rglob(pattern))
    return files


@dataclasses.dataclass
class DeploymentResult:
    deployment_id: str | None
    deployed: list[str]        # resource names the engine stored anew
    unchanged: list[str]


class DeploymentRefused(Exception):
    """The engine refused the deployment; nothing was deployed. The message names each file."""


def _describe_refusal(exc: EngineError) -> str:
    lines = [str(exc)]
    details = exc.details if isinstance(exc.details, dict) else {}
    for resource, report in details.items():
        if not isinstance(report, dict):
            continue
        for problem in report.get("errors", []):
            where = f"{resource}"
            if problem.get("line") is not None:
                where += f":{problem['line']}"
                if problem.get("column") is not None:
                    where += f":{problem['column']}"
            element = f" [{problem['mainElementId']}]" if problem.get("mainElementId") else ""
            lines.append(f"  {where}{element}: {problem.get('message')}")
    return "\n".join(lines)


BPMN_NAMESPACE = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def process_keys(files: list[Path]) -> list[str]:
    """The keys of the executable processes in these BPMN files."""
    keys = []
    for path in files:
        if path.suffix == ".bpmn":
            root = ElementTree.parse(path).getroot()
            keys += [process.get("id") for process in root.iter(f"{BPMN_NAMESPACE}process")
                     if process.get("isExecutable") == "true"]
    return keys


def check_file(path: Path, resource: str) -> str | None:
    """What is wrong with a model file that the engine would accept or reject without a line.

    The engine takes any JSON object as a form and parses DMN expressions only when a decision
    runs, and it names no line for XML that is not well-formed.
    """
    text = path.read_bytes()
    if path.suffix == ".form":
        try:
            form = json.loads(text)
        except ValueError as exc:
            return f"{resource}:{exc.lineno}:{exc.colno}: not valid JSON: {exc.msg}"
        if not isinstance(form, dict) or not isinstance(form.get("id"), str) or not form["id"]:
            return f"{resource}: a Camunda Form needs a string \"id\" (formRef refers to it)"
        if not isinstance(form.get("components"), list):
            return f"{resource}: a Camunda Form needs a \"components\" list"
        return None
    try:
        ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        line, column = exc.position
        reason = exc.msg.split(": line ")[0]
        return f"{resource}:{line}:{column}: not well-formed XML: {reason}"
    return None


def deploy(client: EngineClient, files: list[Path], root: Path = REPO_ROOT,
           name: str = DEPLOYMENT_NAME) -> DeploymentResult:
    """One deployment of `files`, named by their path under `root`; unchanged ones are skipped.

    Nothing is deployed when any file is refused, by our checks or by the engine.
    """
    if not files:
        return DeploymentResult(None, [], [])
    names = [path.relative_to(root).as_posix() for path in files]
    problems = [problem for path, resource in zip(files, names)
                if (problem := check_file(path, resource))]
    if problems:
        raise DeploymentRefused("nothing deployed:\n  " + "\n  ".join(problems))
    multipart = [(resource, (resource, path.read_bytes(), "application/octet-stream"))
                 for resource, path in zip(names, files)]
    data = {"deployment-name": name, "deploy-changed-only": "true",
            "deployment-source": "suban deploy", "enable-duplicate-filtering": "true"}
    previous = latest_deployment_id(client, name)
    try:
        response = client.rest("POST", "/deployment/create", data=data, files=multipart)
    except EngineError as exc:
        if exc.status in (400, 500):
            raise DeploymentRefused(_describe_refusal(exc)) from None
        raise
    if response["id"] == previous:  # nothing changed: the engine hands back the last deployment
        return DeploymentResult(previous, [], sorted(names))
    # With deploy-changed-only the new deployment holds just the resources that changed.
    deployed = sorted(resource["name"] for resource
                      in client.get(f"/deployment/{response['id']}/resources"))
    return DeploymentResult(response["id"], deployed, sorted(set(names) - set(deployed)))


def latest_deployment_id(client: EngineClient, name: str = DEPLOYMENT_NAME) -> str | None:
    found = client.get("/deployment", name=name, sortBy="deploymentTime", sortOrder="desc",
                       maxResults=1)
    return found[0]["id"] if found else None
