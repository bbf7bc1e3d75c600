"""Writing an edited admin file back with its comments: a structured editor's data laid over the
file as written (ruamel.yaml's round trip), so that every comment, key order, quoting and flow
style the admins wrote stays, and only what changed is written anew.

The files are read by PyYAML (YAML 1.1), so they are written with YAML 1.1's rules too: a text that
1.1 would read as something else ("10:00" as 600, "no" as false) is quoted.
"""
from __future__ import annotations

import datetime as dt
import difflib
import io
import re
import typing

from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedBase, CommentedMap, CommentedSeq
from ruamel.yaml.error import YAMLError
from ruamel.yaml.scalarstring import (DoubleQuotedScalarString, LiteralScalarString,
                                      SingleQuotedScalarString)

from admin_data.loader import ConfigFileError

#: A new entry of a list shorter than this (as text) with no list or mapping inside is written on
#: one line ({date: 2027-01-01, leader: leaderurban}), as admins write them.
SHORT_ENTRY = 100
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DIRECTIVE = "%YAML 1.1\n---\n"


def _yaml() -> YAML:
    yaml = YAML()  # round trip
    yaml.version = (1, 1)
    yaml.preserve_quotes = True
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096  # a long line stays one line, as the admin wrote it
    yaml.allow_unicode = True
    return yaml


def updated_content(text: str, data: dict) -> bytes:
    """The file `text` with `data` (the editor's, plain Python) in place of its own data: nodes
    whose data did not change are kept as written, with their comments."""
    yaml = _yaml()
    try:
        document = yaml.load(text) if text.strip() else None
    except YAMLError as exc:
        raise ConfigFileError(f"不是有效的 YAML: {exc}") from None
    if _comparable(document) == _comparable(data):
        return text.encode("utf-8")  # nothing changed: not even the layout of a line
    merged = _merged(document, data) if isinstance(document, CommentedMap) else _node(data)
    out = io.StringIO()
    yaml.dump(merged, out)
    return out.getvalue().removeprefix(_DIRECTIVE).encode("utf-8")


def _comparable(value: typing.Any) -> typing.Any:
    """Data as the editor gives it (dates as text, a text without its final line break) to tell
    what changed."""
    if isinstance(value, dict):
        return {str(key): _comparable(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_comparable(item) for item in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value if isinstance(value, (bool, int, float, type(None))) else str(value).rstrip("\n")


def _merged(old: typing.Any, new: typing.Any) -> typing.Any:
    """`new` written over the node `old`, keeping `old` where the data is the same."""
    if _comparable(old) == _comparable(new):
        return old
    if isinstance(old, CommentedMap) and isinstance(new, dict) and (old or not new):
        for position, key in reversed(list(enumerate(old))):
            if key not in new:
                _drop(old, key, list(old)[position - 1] if position else None)
        for position, (key, value) in enumerate(new.items()):
            if key in old:
                old[key] = _merged(old[key], value)
            elif value not in ([], {}, None, ""):  # an empty default the file left out stays out
                old.insert(position, key, _node(value, in_list=False))
        return old
    if isinstance(old, CommentedSeq) and isinstance(new, list) and (old or not new):
        return _merged_list(old, new)
    return _scalar(old, new) if not isinstance(new, (dict, list)) else _node(new)


def _drop(container: CommentedBase, key: typing.Any, previous: typing.Any) -> None:
    """Remove an entry; comment lines after it (they stand before the next entry) go to the
    entry before it, its own end-of-line comment goes with it."""
    following = _following_comment(container, key)
    del container[key]
    container.ca.items.pop(key, None)
    if following and previous is not None and not container.ca.items.get(previous):
        container.ca.items[previous] = [None, None, following, None] if isinstance(
            container, CommentedMap) else [following, None]


def _following_comment(container: CommentedBase, key: typing.Any):
    """The comment lines after an entry's own line, as a comment token, or None."""
    tokens = container.ca.items.get(key) or []
    token = next((item for item in tokens if item is not None and hasattr(item, "value")), None)
    if token is None or "\n" not in token.value.rstrip("\n"):
        return None
    rest = token.value[token.value.index("\n") + 1:]
    token = type(token)(rest, token.start_mark, None)
    return token if rest.strip() else None


def _merged_list(old: CommentedSeq, new: list) -> CommentedSeq:
    """Entries matched by their data (an entry added or removed in the middle leaves the others,
    and their comments, where they were); changed entries are merged with the one they replace."""
    matcher = difflib.SequenceMatcher(None, [repr(_comparable(item)) for item in old],
                                      [repr(_comparable(item)) for item in new], autojunk=False)
    comments = dict(old.ca.items)
    items: list = []
    moved: dict[int, typing.Any] = {}
    flow = bool(old) and all(isinstance(item, CommentedMap) and item.fa.flow_style()
                             for item in old)
    for tag, first, last, start, end in matcher.get_opcodes():
        pairs = list(zip(range(first, last), range(start, end)))
        for before, after in pairs:
            if before in comments:
                moved[len(items)] = comments[before]
            items.append(old[before] if tag == "equal" else _merged(old[before], new[after]))
        items += [_node(value, in_list=True, flow=flow) for value in new[start + len(pairs):end]]
        for before in range(first + len(pairs), last):  # removed: keep the lines after them
            following = _following_comment(old, before)
            if following is not None and items and len(items) - 1 not in moved:
                moved[len(items) - 1] = [following, None]
    old.clear()
    old.ca.items.clear()
    old.extend(items)
    old.ca.items.update(moved)
    return old


def _scalar(old: typing.Any, new: typing.Any) -> typing.Any:
    """A changed value in the style of the one it replaces (quotes, a block of lines and its
    final line break); a date as a date."""
    if not isinstance(new, str):
        return new
    if "\n" in new:
        ending = "\n" if isinstance(old, str) and old.endswith("\n") else ""
        return LiteralScalarString(new.rstrip("\n") + ending)
    if isinstance(old, (DoubleQuotedScalarString, SingleQuotedScalarString)):
        return type(old)(new)
    return dt.date.fromisoformat(new) if _is_date(new) else new


def _is_date(text: str) -> bool:
    if not _ISO_DATE.fullmatch(text):
        return False
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _node(value: typing.Any, in_list: bool = False, flow: bool = False) -> typing.Any:
    """A new node for `value`; a short flat entry of a list on one line."""
    if isinstance(value, dict):
        node = CommentedMap((key, _node(item)) for key, item in value.items())
        flat = all(not isinstance(item, (dict, list)) for item in value.values())
        if in_list and (flow or flat and len(str(value)) < SHORT_ENTRY):
            node.fa.set_flow_style()
        return node
    if isinstance(value, list):
        return CommentedSeq(_node(item, in_list=True) for item in value)
    return _scalar(None, value)
