"""Structured editors: an admin file's marshmallow schema (admin_data, the one source of truth) as
a form of labelled fields, the posted form back as the file's data, and the schema's errors next
to the field they concern.

Every input is named by its path in the file, steps joined by "-": `supervision-response_working_days-2`,
`matters-3-patterns`. A list of entries posts one group of inputs per entry (an entry whose inputs
are all empty, or whose `…-delete` box is ticked, is left out); a list of texts is a text area,
one per line, or one input per entry (`…-0`, `…-1`) when its field's metadata asks for `items`;
a mapping of entries (template id → template) posts one group of inputs per key. Labels, units,
choices and allowed ranges come from the schema's fields: the label and unit from `metadata`, the
range from a `validate.Range`, the choices from a `validate.OneOf` (their names from
`metadata["choices"]`).
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing

from marshmallow import Schema, ValidationError, fields, missing, validate

from admin_data.loader import in_chinese

SEPARATOR = "-"
#: Texts longer than this get a text area.
LONG_TEXT = 40


def _key(name: str, field: fields.Field) -> str:
    return field.data_key or name


def _join(prefix: str, step: typing.Any) -> str:
    return f"{prefix}{SEPARATOR}{step}" if prefix else str(step)


def _validator(field: fields.Field, kind: type):
    validators = field.validators if isinstance(field.validators, list) else [field.validators]
    return next((found for found in validators if isinstance(found, kind)), None)


def _entries(field: fields.Field) -> Schema | None:
    """The schema of a list's entries, when it is a list of entries."""
    if isinstance(field, fields.List) and isinstance(field.inner, fields.Nested):
        return field.inner.schema
    return None


# -- the posted form → the file's data -------------------------------------------------------------

def _scalar(field: fields.Field, text: str) -> typing.Any:
    """A form value as the schema expects it (left as text when it is not: the schema names it)."""
    text = text.replace("\r\n", "\n").strip()
    if isinstance(field, fields.Boolean):
        return {"true": True, "false": False}.get(text, text)
    if isinstance(field, fields.Integer) and re.fullmatch(r"-?\d+", text):
        return int(text)
    if isinstance(field, fields.Float) and re.fullmatch(r"-?\d+(\.\d+)?", text):
        return float(text) if "." in text else int(text)
    return text


def _indexes(form: typing.Mapping[str, str], prefix: str) -> list[int]:
    pattern = re.compile(re.escape(prefix + SEPARATOR) + r"(\d+)(?:-|$)")
    return sorted({int(found.group(1)) for key in form if (found := pattern.match(key))})


def _blank(form: typing.Mapping[str, str], prefix: str) -> bool:
    return all(not value.strip() for key, value in form.items()
               if key.startswith(prefix + SEPARATOR) and not key.endswith("-delete"))


def form_data(schema: Schema, form: typing.Mapping[str, str], prefix: str = "") -> dict:
    """The data a posted form stands for, ready for `schema.load`. A field absent from the form
    (or an empty optional one) is left out, so the schema reports what is required."""
    data: dict = {}
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        key = _key(name, field)
        path = _join(prefix, key)
        entries = _entries(field)
        if isinstance(field, fields.Nested):
            data[key] = form_data(field.schema, form, path)
        elif entries is not None:
            data[key] = [form_data(entries, form, _join(path, index))
                         for index in _indexes(form, path)
                         if not form.get(_join(path, f"{index}-delete"))
                         and not _blank(form, _join(path, index))]
        elif isinstance(field, fields.List):
            if path in form:
                data[key] = [line.strip() for line in form[path].splitlines() if line.strip()]
            elif field.metadata.get("items"):
                data[key] = [form[_join(path, index)].strip() for index in _indexes(form, path)
                             if form.get(_join(path, index), "").strip()
                             and not form.get(_join(path, f"{index}-delete"))]
        elif isinstance(field, fields.Dict) and isinstance(field.value_field, fields.Nested):
            data[key] = {name: form_data(field.value_field.schema, form, _join(path, name))
                         for name in _names(form, path)}
        elif isinstance(field, fields.Dict):
            data[key] = {_scalar(field.key_field, step): _scalar(field.value_field, value)
                         for step, value in _mapping_items(form, path)}
        elif path in form and (form[path].strip() or field.required):
            data[key] = _scalar(field, form[path])
    return data


def _names(form: typing.Mapping[str, str], prefix: str) -> list[str]:
    """The keys of a mapping of entries in the form, in the form's order."""
    start = prefix + SEPARATOR
    return list(dict.fromkeys(key[len(start):].split(SEPARATOR)[0] for key in form
                              if key.startswith(start) and SEPARATOR in key[len(start):]))


def outside_form(schema: Schema, data: dict) -> dict:
    """The file's sections that the form does not show: kept as they are when it is saved."""
    shown = {_key(name, field) for name, field in schema.fields.items()}
    return {key: value for key, value in data.items() if key not in shown}


def _mapping_items(form: typing.Mapping[str, str], prefix: str):
    start = prefix + SEPARATOR
    return [(key[len(start):], value) for key, value in form.items()
            if key.startswith(start) and SEPARATOR not in key[len(start):]]


# -- the schema's errors → the fields they concern ---------------------------------------------------

def field_errors(messages: typing.Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages by input name; an entry's own errors (`_schema`) and a
    mapping's key/value errors go to the entry; the file's own under ""."""
    found: dict[str, list[str]] = {}
    if not isinstance(messages, dict):
        items = messages if isinstance(messages, list) else [messages]
        found.setdefault(prefix, []).extend(in_chinese(str(item), with_original=False)
                                           for item in items)
        return found
    for step, nested in messages.items():
        path = prefix if step in ("_schema", "key", "value") else _join(prefix, step)
        for name, lines in field_errors(nested, path).items():
            found.setdefault(name, []).extend(lines)
    return found


def validate_form(schema: Schema, data: dict) -> dict[str, list[str]]:
    try:
        schema.load(data)
    except ValidationError as error:
        return field_errors(error.messages)
    return {}


# -- the schema → the form's fields ----------------------------------------------------------------

@dataclasses.dataclass
class Input:
    """One field of the form: what the template needs to draw it."""

    name: str
    label: str
    kind: str  # number text textarea lines select date | group mapping rows entry new-entry items
    value: typing.Any = ""
    required: bool = False
    unit: str = ""
    help: str = ""
    minimum: int | None = None
    maximum: int | None = None
    choices: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    children: list["Input"] = dataclasses.field(default_factory=list)
    rows: list["Input"] = dataclasses.field(default_factory=list)  # the entries of a list
    errors: list[str] = dataclasses.field(default_factory=list)

    @property
    def allowed(self) -> str:
        """The allowed range as the admin reads it."""
        if self.minimum is not None and self.maximum is not None:
            return f"{self.minimum}–{self.maximum}{self.unit}"
        return ""


def _text(value: typing.Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def form_inputs(schema: Schema, data: dict, errors: dict[str, list[str]],
                prefix: str = "", new: bool = False) -> list[Input]:
    """The inputs of `schema`'s fields holding `data` (raw, as in the file or as posted). In a
    `new` (blank) entry no choice is made beforehand, so that the entry stays blank until the
    admin fills it in."""
    inputs = []
    data = data if isinstance(data, dict) else {}
    for name, field in schema.fields.items():
        key = _key(name, field)
        path = _join(prefix, key)
        value = data.get(key)
        if value is None and not new and _plain(field.load_default):
            value = field.load_default  # what the loader reads for a field left out
        metadata = field.metadata
        item = Input(path, metadata.get("label", key), "text", required=field.required,
                     unit=metadata.get("unit", ""), help=metadata.get("help", ""),
                     errors=errors.get(path, []))
        entries = _entries(field)
        if isinstance(field, fields.Nested):
            item.kind, item.children = "group", form_inputs(field.schema, value or {}, errors,
                                                            path, new)
        elif entries is not None:
            filled = list(value or []) if isinstance(value, list) else []
            rows = filled + [{}] * field.metadata.get("blank_rows", 1)  # empty ones to add
            item.kind = "rows"
            item.rows = [Input(_join(path, index), _entry_title(index, row, index >= len(filled)),
                               "new-entry" if index >= len(filled) else "entry",
                               errors=errors.get(_join(path, index), []),
                               children=form_inputs(entries, row, errors, _join(path, index),
                                                    new=index >= len(filled)))
                         for index, row in enumerate(rows)]
        elif isinstance(field, fields.List) and metadata.get("items"):
            filled = list(value or []) if isinstance(value, list) else []
            item.kind = "items"
            item.children = [
                _scalar_input(field.inner, _join(path, index), f"第 {index + 1} 项", _text(entry),
                              errors) for index, entry in enumerate(filled + [""] * metadata.get(
                                  "blank_rows", 1))]
        elif isinstance(field, fields.List):
            item.kind, item.value = "lines", "\n".join(_text(line) for line in value or [])
            item.errors = item.errors + _line_errors(errors, path)
        elif isinstance(field, fields.Dict) and isinstance(field.value_field, fields.Nested):
            item.kind = "rows"
            item.rows = [Input(_join(path, name), _entry_title(name, entry, False), "entry",
                               errors=errors.get(_join(path, name), []),
                               children=form_inputs(field.value_field.schema, entry, errors,
                                                    _join(path, name)))
                         for name, entry in (value if isinstance(value, dict) else {}).items()]
        elif isinstance(field, fields.Dict):
            labels = metadata.get("keys", {})
            item.kind = "mapping"
            item.children = [_scalar_input(field.value_field, _join(path, step), label,
                                           _text((value or {}).get(step)), errors)
                             for step, label in labels.items()]
        else:
            item = _scalar_input(field, path, item.label, _text(value), errors, new,
                                 help=item.help)
        inputs.append(item)
    return inputs


def _plain(default: typing.Any) -> bool:
    return default is not None and default is not missing and not callable(default)


def _line_errors(errors: dict[str, list[str]], path: str) -> list[str]:
    """A text area's errors about single lines (`matters-5-patterns-3`), by line number."""
    line = re.compile(re.escape(path + SEPARATOR) + r"(\d+)")
    return [f"第 {int(found.group(1)) + 1} 行: {message}" for key, messages in errors.items()
            if (found := line.fullmatch(key)) for message in messages]


def _entry_title(index: int | str, entry: typing.Any, new: bool) -> str:
    """A list's entry by its position, a mapping's by its key; with its name when it has one."""
    if new:
        return "新增一项 (填写后即加入)"
    name = next((entry[key] for key in ("name", "year", "code", "description")
                 if isinstance(entry, dict) and entry.get(key) not in (None, "")), "")
    where = f"第 {index + 1} 项" if isinstance(index, int) else index
    return where + (f": {name}" if name else "")


def _scalar_input(field: fields.Field, path: str, label: str, value: str,
                  errors: dict[str, list[str]], new: bool = False, help: str = "") -> Input:
    item = Input(path, label, "text", value, field.required, field.metadata.get("unit", ""),
                 help or field.metadata.get("help", ""), errors=errors.get(path, []))
    one_of = _validator(field, validate.OneOf)
    in_range = _validator(field, validate.Range)
    unchosen = [("", "（请选择）")] if new or not field.required else []
    if isinstance(field, fields.Boolean):
        item.kind, item.choices = "select", unchosen * new + [("false", "否"), ("true", "是")]
    elif one_of is not None:
        names = field.metadata.get("choices", {})
        item.kind = "select"
        item.choices = unchosen + [(str(choice), names.get(choice, str(choice)))
                                   for choice in one_of.choices]
    elif isinstance(field, fields.Integer):
        item.kind = "number"
        if in_range is not None:
            item.minimum, item.maximum = in_range.min, in_range.max
    elif isinstance(field, fields.Date):
        item.kind = "date"
    elif field.metadata.get("multiline") or len(value) > LONG_TEXT:
        item.kind = "textarea"
    return item
