"""The code's floors: each top-level package imports only from the floors below it, so there is
no import cycle between them; one command line lists every command; workers name their engine
and task parameters alike; no two functions share a name for different jobs."""
from __future__ import annotations

import ast
import collections
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cli import main
from external_tasks import build_router
from tests.conftest import TESTS

ROOT = TESTS.parent

#: Lowest first: a package may import from the ones before it, never from one after it.
FLOORS = ("admin_data", "connectors", "external_tasks", "assessment", "deploy", "console", "cli")


def imports_of(package: str) -> dict[str, set[str]]:
    """{other top-level package: the modules of `package` that import from it}."""
    found: dict[str, set[str]] = collections.defaultdict(set)
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top in FLOORS and top != package:
                    found[top].add(str(path.relative_to(ROOT)))
    return found


def test_packages_import_only_from_lower_floors():
    upward = {f"{package} → {other}": sorted(modules)
              for package in FLOORS for other, modules in imports_of(package).items()
              if FLOORS.index(other) > FLOORS.index(package)}
    assert upward == {}


def test_suban_help_lists_every_command():
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "down", "status", "build", "deploy", "sync-directory", "workers",
                    "console", "templates", "test", "demo-appeals", "assessment"):
        assert f"\n  {command} " in result.output, command
    assessment = CliRunner().invoke(main, ["assessment", "--help"])
    for command in ("sync", "verify", "load-synthetic", "remove-synthetic"):
        assert f"\n  {command} " in assessment.output, command


def every_command(group=main, prefix=()):
    for name, command in group.commands.items():
        yield prefix + (name,)
        if hasattr(command, "commands"):
            yield from every_command(command, prefix + (name,))


@pytest.mark.parametrize("command", list(every_command()), ids=" ".join)
def test_every_command_has_its_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert f"suban {' '.join(command)}" in result.output
    assert main.get_command(None, command[0]).get_short_help_str()


def test_the_installed_entry_point_is_the_command_tree():
    """`python -m cli` is how `suban up` starts workers and console."""
    result = subprocess.run([sys.executable, "-m", "cli", "--help"], cwd=ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and "demo-appeals" in result.stdout


def test_an_unknown_command_is_refused_naming_it():
    result = CliRunner().invoke(main, ["deplyo"])
    assert result.exit_code == 2
    assert "deplyo" in result.output


def test_workers_name_the_engine_and_the_task_alike():
    handlers = build_router().handlers.values()
    assert {handler.client_parameter for handler in handlers} <= {None, "engine"}
    assert {handler.task_parameter for handler in handlers} <= {None, "task"}


#: Decorators that make a function an entry point named after its route or command (a click
#: command `up` runs `operations.up`); worker handlers (`router.task`) are not among them.
ENTRY_POINTS = {"command", "group", "get", "post", "put", "delete", "route", "errorhandler",
                "app_errorhandler", "before_request"}


def is_entry_point(function: ast.FunctionDef) -> bool:
    decorators = [decorator.func if isinstance(decorator, ast.Call) else decorator
                  for decorator in function.decorator_list]
    return any(isinstance(decorator, ast.Attribute) and decorator.attr in ENTRY_POINTS
               for decorator in decorators)


def test_no_two_functions_share_a_name_for_different_jobs():
    """A public function's name means one thing across the product: a maintainer who greps for
    it finds one definition."""
    defined: dict[str, list[str]] = collections.defaultdict(list)
    for package in FLOORS:
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.parse(path.read_text("utf-8")).body:
                if (isinstance(node, ast.FunctionDef) and not node.name.startswith("_")
                        and not is_entry_point(node)):
                    defined[node.name].append(str(path.relative_to(ROOT)))
    assert {name: places for name, places in defined.items() if len(places) > 1} == {}
