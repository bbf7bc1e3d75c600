"""Reading admin data files: where they are, how one is read and validated, how a bad entry is
reported, and the cache that reads a file again when an admin saves it.

Every file hotline admins edit goes through `load_admin_file`, so a bad entry is reported the
same way everywhere: file, entry (by position and code), field, problem; and every module of
this package declares its file once as an `AdminFile`, whose `current()` is what workers,
console and assessment read.
"""
from __future__ import annotations

import dataclasses
import os
import threading
import typing
from pathlib import Path

import yaml
from marshmallow import Schema, ValidationError

#: The files shipped with the product: the demo county's data and the starting point of a real one.
SHIPPED_FILES = Path(__file__).resolve().parent / "files"
REPO_ROOT = SHIPPED_FILES.parents[1]


def config_dir(env: typing.Mapping[str, str] | None = None) -> Path:
    """The folder of the admin data files: SUBAN_CONFIG_DIR, else the shipped files. The one
    place that decides it; read at each call, so a process started with another folder (the
    test suite's stack, a production host) reads that one."""
    env = os.environ if env is None else env
    return Path(env.get("SUBAN_CONFIG_DIR") or SHIPPED_FILES).resolve()


def display_path(path: Path) -> str:
    """The path relative to the repository when it lies inside it (as admins know it)."""
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return str(path)


class AdminDataError(Exception):
    """Admin data cannot serve a task: the message tells an admin what to fix. The worker
    runtime turns it into an incident at once, since retrying cannot fix a file."""


class ConfigFileError(AdminDataError, ValueError):
    """An admin data file is not valid; the message names the file, each bad entry and field (in
    Chinese)."""


#: marshmallow's default messages, put in the admins' language (the original kept for searching).
_MESSAGES_IN_CHINESE = {
    "Missing data for required field.": "缺少必填项",
    "Unknown field.": "未知的项（拼写错误？）",
    "Not a valid string.": "应为文字",
    "Not a valid boolean.": "应为 true 或 false",
    "Not a valid list.": "应为列表",
    "Not a valid integer.": "应为整数",
    "Not a valid number.": "应为数字",
    "Not a valid mapping type.": "应为映射（键: 值）",
    "Field may not be null.": "不能为空",
    "Invalid input type.": "格式不对",
}


def in_chinese(message: str, *, with_original: bool = True) -> str:
    """marshmallow's message in Chinese, the original after it for searching (a form shows the
    Chinese alone)."""
    chinese = _MESSAGES_IN_CHINESE.get(message)
    if not chinese:
        return message
    return f"{chinese} ({message})" if with_original else chinese


def _entry_label(entry: typing.Any) -> str:
    if isinstance(entry, dict):
        for key in ("code", "unit", "name", "id", "year"):
            if isinstance(entry.get(key), (str, int)) and not isinstance(entry.get(key), bool):
                return str(entry[key])
    return ""


def describe_errors(messages: typing.Any, raw: typing.Any, path: str = "") -> list[str]:
    """marshmallow's nested messages as lines `matters[3]（arbitration）.patterns[1]: …`.

    `raw` is the data as loaded from YAML, walked alongside so that a list entry is also named by
    its code (admins know entries by code, not by position). A Dict field's "key"/"value" and a
    whole-entry "_schema" add no step: the path already names the entry.
    """
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        where = path.lstrip(".") or "文件"
        return [f"{where}: {in_chinese(str(message))}" for message in items]
    lines = []
    for key, value in messages.items():
        if key in ("_schema", "key", "value"):
            step, child = "", raw
        elif isinstance(key, int):
            child = raw[key] if isinstance(raw, list) and 0 <= key < len(raw) else None
            label = _entry_label(child)
            step = f"[{key}]" + (f"（{label}）" if label else "")
        else:
            child = raw.get(key) if isinstance(raw, dict) else None
            step = f".{key}"
        lines += describe_errors(value, child, path + step)
    return lines


def add_error(errors: dict, path: tuple, message: str) -> None:
    """Put `message` at a nested path (list indexes included), as marshmallow reports errors."""
    node = errors
    for step in path[:-1]:
        node = node.setdefault(step, {})
    held = node.setdefault(path[-1], [])
    # A list whose entries have errors already holds a mapping: its own go under "_schema".
    (held.setdefault("_schema", []) if isinstance(held, dict) else held).append(message)


def load_admin_file(path: Path, schema: Schema, error_type: type[ConfigFileError] = ConfigFileError,
                    *, yaml_loader: type = yaml.SafeLoader) -> dict:
    """Parse a YAML admin file and validate it; `error_type` names the file's kind of error."""
    where = display_path(path)
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml_loader)
    except OSError as exc:
        raise error_type(f"{where}: 无法读取文件 (cannot read): {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for a date like 2026-13-01
        raise error_type(f"{where}: 不是有效的 YAML (not valid YAML): {exc}") from None
    if raw is not None and not isinstance(raw, dict):
        raise error_type(f"{where}: 顶层应为“项: 值”的映射 (top level must be a mapping)")
    try:
        return schema.load(raw or {})
    except ValidationError as exc:
        raise error_type(f"{where}:\n  " + "\n  ".join(describe_errors(exc.messages, raw))) from None


def file_version(path: Path) -> tuple[int, int] | None:
    """Changes when an admin saves the file (None while it does not exist)."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_mtime_ns, stat.st_size


T = typing.TypeVar("T")


@dataclasses.dataclass(frozen=True, eq=False)
class AdminFile(typing.Generic[T]):
    """One admin data file: its name in the config folder, its loader (a path → the validated
    model; it reads the files it depends on through their `current()`), and those files."""

    filename: str
    load: typing.Callable[[Path], T]
    depends_on: tuple["AdminFile", ...] = ()

    def path(self, folder: Path | None = None) -> Path:
        return (folder or config_dir()) / self.filename

    def watched(self) -> tuple[Path, ...]:
        """This file and every file it depends on, directly or not."""
        paths = [self.path()]
        for dependency in self.depends_on:
            paths += [path for path in dependency.watched() if path not in paths]
        return tuple(paths)

    def current(self) -> T:
        """The file as it is now: read again when it or a file it depends on was saved, so an
        admin's edit applies to the next task without a restart."""
        return _CACHE.get(self)


class _Cache:
    def __init__(self):
        self.lock = threading.Lock()
        self.held: dict[tuple[AdminFile, Path], tuple[tuple, typing.Any]] = {}

    def get(self, file: AdminFile[T]) -> T:
        paths = file.watched()
        key = (file, paths[0])
        versions = tuple(file_version(path) for path in paths)
        with self.lock:
            held = self.held.get(key)
        if held and held[0] == versions:
            return held[1]
        value = file.load(paths[0])  # outside the lock: loading reads dependencies' current()
        with self.lock:
            self.held[key] = (versions, value)
        return value


_CACHE = _Cache()


# -- an editor's data ↔ the file's text ---------------------------------------------------------

class TextDatesLoader(yaml.SafeLoader):
    """Leaves dates as text, so that a bad one (2027-13-01) is reported with its entry by the
    schema instead of failing the whole YAML parse."""


TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def raw_data(text: str) -> dict:
    """A file's data as written, before its schema (dates left as text), for an editor's form;
    ConfigFileError when the text is no YAML mapping."""
    try:
        data = yaml.load(text, Loader=TextDatesLoader)
    except yaml.YAMLError as exc:
        raise ConfigFileError(f"不是有效的 YAML: {exc}") from None
    if data is not None and not isinstance(data, dict):
        raise ConfigFileError("顶层应为“项: 值”的映射")
    return data or {}
