"""The designers' own checks, from npm (deploy/modeling): bpmnlint with the Camunda 7.24 rules
(deploy/modeling/.bpmnlintrc) and the form linter with the Tasklist's form-js 1.8.7. CI runs them
on the repository's models (tests/test_modeling_lint.py); the console's deploy page runs them on
every upload before anything is deployed."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

from admin_data.environment import REPO_ROOT

MODELING = REPO_ROOT / "deploy" / "modeling"
BPMNLINT = MODELING / "node_modules" / ".bin" / "bpmnlint"


def tools_missing() -> str | None:
    """What to install before the checks can run, or None."""
    if not shutil.which("node"):
        return "Node.js (apt-get install nodejs npm)"
    if not BPMNLINT.exists():
        return f"the npm tools of {MODELING} (npm ci there)"
    return None


def installed_version(package: str) -> str | None:
    manifest = MODELING / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text("utf-8"))["version"] if manifest.exists() else None


def ensure_tools() -> None:
    """The tools pinned in deploy/modeling/package.json, installed with `npm ci` when any is
    missing or stale (a fresh clone has none). Without Node.js nothing happens: the checks then
    say what to install."""
    if not shutil.which("node") or not shutil.which("npm"):
        return
    pinned = json.loads((MODELING / "package.json").read_text("utf-8"))["dependencies"]
    if any(installed_version(package) != version for package, version in pinned.items()):
        subprocess.run(["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=MODELING,
                       check=True, timeout=600)


def run_tool(*command) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], cwd=MODELING, capture_output=True,
                          text=True, timeout=300, env=os.environ | {"NO_COLOR": "1"})


def bpmnlint(*files: Path) -> subprocess.CompletedProcess:
    return run_tool(BPMNLINT, "--max-warnings=0", *files)


def lint_forms(*files: Path) -> subprocess.CompletedProcess:
    return run_tool("node", "lint-forms.mjs", *files)
