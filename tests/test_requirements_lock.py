"""A fresh clone installs exactly the packages of requirements.lock: `./suban` builds its
virtualenv from the lock, and installs again when the lock or pyproject.toml changes.

The set-up runs on a copy of the clone's files in a temporary folder, with the real registry.
Its lock pins one package below the version a resolver picks today, so that only an install
from the lock can match it.
"""
from __future__ import annotations

import dataclasses
import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "requirements.lock"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
INSTALLING = "suban: installing the locked Python packages"
#: A package pinned in the copy's lock at the oldest version pyproject.toml allows.
OLDER = ("tqdm", "4.66.0")
#: A package that nothing else in the lock needs, dropped from the lock in the reinstall test.
DROPPED = "pytest-timeout"


def pins(text: str) -> dict[str, str]:
    """Name → version of the `name==version` lines of a lock or of `pip freeze`."""
    return {canonicalize_name(name): version for name, version in
            re.findall(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", text, re.MULTILINE)}


def without_package(lock: str, name: str) -> str:
    """The lock without the entry of `name`: its pin, hashes and `# via` lines."""
    return re.sub(rf"(?ms)^{re.escape(name)}==.*?(?=^\S|\Z)", "", lock)


def pinned_with_hash(lock: str, name: str, version: str, wheel_hash: str) -> str:
    return without_package(lock, name) + f"{name}=={version} \\\n    --hash=sha256:{wheel_hash}\n"


def wheel_hash(folder: Path, name: str, version: str) -> str:
    subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                    "--only-binary", ":all:", f"{name}=={version}", "-d", str(folder)],
                   check=True, timeout=300)
    wheel, = folder.glob(f"{name}-{version}-*.whl")
    return hashlib.sha256(wheel.read_bytes()).hexdigest()


def set_up(root: Path) -> str:
    """Run the clone's `./suban` as a user would; returns what it said on stderr."""
    done = subprocess.run([str(root / "suban"), "--help"], cwd=root, capture_output=True,
                          text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert "Usage: suban" in done.stdout
    return done.stderr


def installed(root: Path) -> dict[str, str]:
    """What the clone's virtualenv holds besides pip and the project itself."""
    freeze = subprocess.run([str(root / ".venv/bin/python"), "-m", "pip", "freeze",
                             "--exclude-editable"], capture_output=True, text=True, check=True)
    return pins(freeze.stdout)


@dataclasses.dataclass
class Clone:
    root: Path
    first_set_up: str              # stderr of the first `./suban`
    installed_first: dict[str, str]


@pytest.fixture(scope="module")
def clone(tmp_path_factory) -> Clone:
    root = tmp_path_factory.mktemp("clone")
    for name in ("suban", "pyproject.toml"):
        shutil.copy2(REPO / name, root / name)
    for package in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]:
        shutil.copytree(REPO / package.rstrip("*"), root / package.rstrip("*"),
                        ignore=shutil.ignore_patterns("__pycache__", "target", "node_modules"))
    name, version = OLDER
    assert pins(LOCK.read_text())[name] != version, f"pick another {name} for the test"
    (root / "requirements.lock").write_text(pinned_with_hash(
        LOCK.read_text(), name, version, wheel_hash(tmp_path_factory.mktemp("wheels"), *OLDER)))
    stderr = set_up(root)
    return Clone(root, stderr, installed(root))


def test_the_lock_pins_every_requirement_of_pyproject():
    locked = pins(LOCK.read_text())
    requirements = [Requirement(text) for text in
                    PYPROJECT["project"]["dependencies"]
                    + PYPROJECT["project"]["optional-dependencies"]["test"]]
    for requirement in requirements:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements.lock: run deploy/lock-requirements.sh"
        assert requirement.specifier.contains(locked[name], prereleases=True), \
            f"requirements.lock pins {name}=={locked[name]}, pyproject.toml asks {requirement}"


def test_a_fresh_clone_installs_exactly_the_locked_versions(clone):
    assert clone.installed_first == pins((clone.root / "requirements.lock").read_text())
    assert clone.installed_first[OLDER[0]] == OLDER[1]
    assert INSTALLING in clone.first_set_up
    project = subprocess.run([str(clone.root / ".venv/bin/python"), "-c",
                              "import deploy; print(deploy.__file__)"],
                             cwd=clone.root.parent, capture_output=True, text=True, check=True)
    assert Path(project.stdout.strip()).is_relative_to(clone.root)  # editable, from the clone


def test_the_set_up_installs_again_when_the_lock_or_pyproject_changes(clone):
    assert INSTALLING not in set_up(clone.root)

    lock = clone.root / "requirements.lock"
    lock.write_text(without_package(LOCK.read_text(), DROPPED))
    assert INSTALLING in set_up(clone.root)
    assert installed(clone.root) == pins(lock.read_text())  # upgraded OLDER, removed DROPPED
    assert INSTALLING not in set_up(clone.root)

    pyproject = clone.root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + "\n# changed\n")
    assert INSTALLING in set_up(clone.root)
