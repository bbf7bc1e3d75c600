"""The admin data floor: one folder, one loader, one error type, one cache; and a bad file or a
missing calendar year is an incident on the first attempt."""
from __future__ import annotations

import ast
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml

from admin_data import loader
from admin_data.assessment import ASSESSMENT
from admin_data.directory import DIRECTORY
from admin_data.duty_roster import ROSTER
from admin_data.gazetteer import GAZETTEER
from admin_data.hotline import HOTLINE, HotlineSettingsError, load_hotline_settings
from admin_data.loader import SHIPPED_FILES, AdminFile, ConfigFileError
from admin_data.notifications import NOTIFICATIONS
from admin_data.scope_rules import SCOPE_RULES
from admin_data.taxonomy import TAXONOMY
from admin_data.workdays import HOLIDAYS
from external_tasks import routing, scope_check
from external_tasks.runtime import TaskRouter
from tests.conftest import TESTS, wait_until

EVERY_FILE = (DIRECTORY, TAXONOMY, GAZETTEER, HOLIDAYS, ROSTER, HOTLINE, NOTIFICATIONS, ASSESSMENT,
              SCOPE_RULES)


@pytest.fixture
def config_folder(tmp_path, monkeypatch) -> Path:
    """A copy of the shipped files as SUBAN_CONFIG_DIR, the way a county's host has its own."""
    folder = tmp_path / "config"
    shutil.copytree(SHIPPED_FILES, folder)
    monkeypatch.setenv("SUBAN_CONFIG_DIR", str(folder))
    return folder


def touch_later(path: Path) -> None:
    """A save within the same clock tick still counts as a change."""
    later = time.time() + 5
    os.utime(path, (later, later))


@pytest.mark.parametrize("admin_file", EVERY_FILE, ids=lambda admin_file: admin_file.filename)
def test_every_shipped_file_loads_from_the_one_folder(admin_file, config_folder):
    assert admin_file.path() == config_folder / admin_file.filename
    assert admin_file.current() is not None
    assert admin_file.current() is admin_file.current()  # cached while unchanged


def test_every_admin_file_is_declared_once():
    """Each shipped file has exactly one `AdminFile` (one schema, one loader)."""
    shipped = sorted(path.name for path in SHIPPED_FILES.glob("*.yaml"))
    assert sorted(admin_file.filename for admin_file in EVERY_FILE) == shipped


def test_an_edited_file_is_read_again(config_folder):
    before = SCOPE_RULES.current()
    path = SCOPE_RULES.path()
    path.write_text(path.read_text("utf-8").replace("name: 仲裁", "name: 劳动仲裁"), "utf-8")
    touch_later(path)
    assert SCOPE_RULES.current() is not before
    assert SCOPE_RULES.current().matter("arbitration").name == "劳动仲裁"


def test_a_file_is_read_again_when_a_file_it_names_changes(config_folder):
    """The taxonomy is checked against the directory: saving the directory checks it again."""
    taxonomy = TAXONOMY.current()
    touch_later(DIRECTORY.path())
    assert TAXONOMY.current() is not taxonomy
    assert SCOPE_RULES.current() is SCOPE_RULES.current()


def test_the_folder_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SUBAN_CONFIG_DIR", raising=False)
    assert loader.config_dir() == SHIPPED_FILES
    monkeypatch.setenv("SUBAN_CONFIG_DIR", str(tmp_path))
    assert DIRECTORY.path() == tmp_path / "directory.yaml"


def test_one_error_type_names_file_entry_and_problem(config_folder):
    path = TAXONOMY.path()
    path.write_text(path.read_text("utf-8").replace("lead: territory", "lead: township", 1),
                    "utf-8")
    touch_later(path)
    with pytest.raises(ConfigFileError) as refused:
        TAXONOMY.current()
    message = str(refused.value)
    assert "taxonomy.yaml" in message
    assert "categories[0]（" in message and ".lead: 应为 territory（属地牵头）或 matter（属事牵头）" in message


def test_a_check_inside_a_field_validator_is_an_admin_file_error(tmp_path):
    """hotline.yaml's per-level check raised a plain ValueError before, which went through the
    retries like any fault instead of becoming an incident at once."""
    settings = yaml.safe_load((SHIPPED_FILES / "hotline.yaml").read_text("utf-8"))
    settings["supervision"]["response_working_days"] = {1: 2, 2: 2}
    path = tmp_path / "hotline.yaml"
    path.write_text(yaml.safe_dump(settings, allow_unicode=True), "utf-8")
    with pytest.raises(HotlineSettingsError, match="supervision.response_working_days: 应为一级"):
        load_hotline_settings(path)


def test_no_module_outside_admin_data_reads_an_admin_file_itself():
    """Workers, console and assessment read admin data only through `admin_data`: none of them
    parses YAML where an admin file is named, or looks at SUBAN_CONFIG_DIR."""
    admin_files = [admin_file.filename for admin_file in EVERY_FILE]
    offenders = []
    root = TESTS.parent
    for package in ("external_tasks", "connectors", "console", "assessment", "deploy", "cli"):
        for path in (root / package).rglob("*.py"):
            if "node_modules" in path.parts:
                continue
            text = path.read_text("utf-8")
            imports_yaml = any(isinstance(node, ast.Import) and any(
                alias.name == "yaml" for alias in node.names) for node in ast.walk(ast.parse(text)))
            names_admin_file = any(filename in text for filename in admin_files)
            if (imports_yaml and names_admin_file) or "SUBAN_CONFIG_DIR" in text:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []


# -- on the real engine: an incident on the first attempt -----------------------------------------

def test_a_bad_admin_file_is_an_incident_at_once(engine, start_instance, run_worker,
                                                 config_folder):
    path = TAXONOMY.path()
    path.write_text(path.read_text("utf-8").replace("lead: matter", "lead: department", 1),
                    "utf-8")
    touch_later(path)
    instance = start_instance("test_scope_and_routing", {
        "kind": "complaint", "title": "讨薪", "content": "工资拖欠三个月",
        "categoryCode": "labour.wageArrears", "township": "", "difficulty": "ordinary"})
    both = TaskRouter()
    both.include(scope_check.router)
    both.include(routing.router)
    run_worker(both, retries=5)
    incidents = wait_until(lambda: engine.get("/incident", processInstanceId=instance["id"]),
                           what="an incident")
    message = incidents[0]["incidentMessage"]
    assert message.startswith("管理数据有误")
    assert "taxonomy.yaml" in message and "lead: 应为 territory" in message
    task = engine.get("/external-task", processInstanceId=instance["id"])[0]
    assert task["retries"] == 0  # no attempt spent on what only an admin can fix
    log = engine.get("/history/external-task-log", processInstanceId=instance["id"],
                     failureLog="true")
    assert len(log) == 1


def test_admin_file_is_read_through_the_declared_loader():
    """`AdminFile.current` calls the module's own loader with the file's path."""
    calls = []
    declared = AdminFile("directory.yaml", lambda path: calls.append(path) or len(calls))
    assert declared.current() == 1 and declared.current() == 1
    assert calls == [DIRECTORY.path()]
