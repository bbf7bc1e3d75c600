"""Admin data files (YAML): read, validated with marshmallow, errors named for the admins.

Every file hotline admins edit under deploy/config/ goes through `load_admin_file`, so a bad
entry is reported the same way everywhere: file, entry (by position and code), field, problem.
"""
from __future__ import annotations

import typing
from pathlib import Path

import yaml
from marshmallow import Schema, ValidationError


class ConfigFileError(ValueError):
    """An admin data file is not valid; the message names each bad entry and field (in Chinese)."""


#: marshmallow's default messages, put in the admins' language (the original kept for searching).
_MESSAGES_IN_CHINESE = {
    "Missing data for required field.": "缺少必填项",
    "Unknown field.": "未知的项（拼写错误？）",
    "Not a valid string.": "应为文字",
    "Not a valid boolean.": "应为 true 或 false",
    "Not a valid list.": "应为列表",
    "Field may not be null.": "不能为空",
    "Invalid input type.": "格式不对",
}


def _in_chinese(message: str) -> str:
    chinese = _MESSAGES_IN_CHINESE.get(message)
    return f"{chinese} ({message})" if chinese else message


def _entry_label(entry: typing.Any) -> str:
    if isinstance(entry, dict):
        for key in ("code", "unit", "name", "id"):
            if isinstance(entry.get(key), (str, int)):
                return str(entry[key])
    return ""


def describe_errors(messages: typing.Any, raw: typing.Any, path: str = "") -> list[str]:
    """marshmallow's nested messages as lines `matters[3]（arbitration）.patterns[1]: …`.

    `raw` is the data as loaded from YAML, walked alongside so that a list entry is also named by
    its code (admins know entries by code, not by position).
    """
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        where = path.lstrip(".") or "文件"
        return [f"{where}: {_in_chinese(str(message))}" for message in items]
    lines = []
    for key, value in messages.items():
        if key == "_schema":
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


def load_admin_file(path: Path, schema: Schema, error_type: type[ConfigFileError]) -> dict:
    """Parse a YAML admin file and validate it; `error_type` names the file's kind of error."""
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise error_type(f"{path}: 无法读取文件 (cannot read): {exc}") from None
    except (yaml.YAMLError, ValueError) as exc:  # PyYAML raises ValueError for a date like 2026-13-01
        raise error_type(f"{path}: 不是有效的 YAML (not valid YAML): {exc}") from None
    try:
        return schema.load(raw or {})
    except ValidationError as exc:
        raise error_type(f"{path}:\n  " + "\n  ".join(describe_errors(exc.messages, raw))) from None


def file_version(path: Path) -> tuple[int, int]:
    """Changes when an admin saves the file: workers pick up edits without a restart."""
    stat = path.stat()
    return stat.st_mtime_ns, stat.st_size
