"""Marshmallow schemas derived from Camunda Forms: what Tasklist checks, the server checks.

A `.form` file is the one definition of a form's fields and rules. `schema_for_form` turns
its input fields (not the disabled, display-only ones) into a marshmallow schema with the same
rules form-js 1.8 applies: required, minLength, maxLength, pattern, min, max, the allowed
values of selects, radios and taglists, and `conditional.hide` — a hidden field is neither
required nor kept. Error messages name the field by its label, in Chinese.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import re
from pathlib import Path

from marshmallow import (RAISE, Schema, ValidationError, fields, pre_load, validate,
                         validates_schema)

from admin_data.environment import REPO_ROOT

FORMS_DIR = REPO_ROOT / "forms"
INPUT_TYPES = {"textfield", "textarea", "number", "checkbox", "select", "radio", "datetime",
               "taglist", "checklist"}

# The subset of FEEL we accept in `conditional.hide`: enough for "show X when Y is chosen".
_NOT = re.compile(r"^=\s*not\(\s*(\w+)\s*\)$")
_COMPARE = re.compile(r'^=\s*(\w+)\s*(!=|=)\s*("(?:[^"]*)"|true|false)$')


def _hide_rule(expression: str, form_id: str, key: str):
    """The hide condition as a function of the submitted data."""
    if match := _NOT.match(expression):
        name = match.group(1)
        return lambda data: not data.get(name)
    if match := _COMPARE.match(expression):
        name, operator, literal = match.groups()
        value = json.loads(literal)
        if operator == "=":
            return lambda data: data.get(name) == value
        return lambda data: data.get(name) != value
    raise ValueError(f"{form_id}.form: field '{key}': hide condition {expression!r} is not one "
                     "we can check on the server (use =not(x), =x = \"v\" or =x != \"v\")")


def _iso_datetime(label: str):
    def check(value: str) -> None:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValidationError(f"「{label}」不是有效的时间 (ISO 8601, 如 2026-11-27T09:30+08:00)")
        if parsed.tzinfo is None:
            raise ValidationError(f"「{label}」须带时区, 如 +08:00")
    return check


def _iso_date(label: str):
    def check(value: str) -> None:
        try:
            dt.date.fromisoformat(value)
        except (TypeError, ValueError):
            raise ValidationError(f"「{label}」不是有效的日期 (如 2026-12-31)")
    return check


def _field_for(component: dict) -> fields.Field:
    label = component.get("label") or component["key"]
    rules = component.get("validate") or {}
    messages = {"required": f"「{label}」为必填项", "null": f"「{label}」不能为空",
                "invalid": f"「{label}」的类型不正确"}
    validators = []
    kind = component["type"]
    if kind in ("textfield", "textarea", "datetime"):
        field_class = fields.String
        if "minLength" in rules or "maxLength" in rules:
            validators.append(validate.Length(
                min=rules.get("minLength"), max=rules.get("maxLength"),
                error=f"「{label}」长度应在 {rules.get('minLength', 0)} 到 "
                      f"{rules.get('maxLength', '不限')} 个字之间"))
        if rules.get("pattern"):
            pattern = re.compile(rules["pattern"])
            validators.append(lambda value, pattern=pattern: bool(pattern.search(value)) or
                              _raise(f"「{label}」格式不正确"))
        if kind == "datetime":
            validators.append(_iso_date(label) if component.get("subtype") == "date"
                              else _iso_datetime(label))
    elif kind == "number":
        field_class = fields.Float
        if "min" in rules or "max" in rules:
            validators.append(validate.Range(min=rules.get("min"), max=rules.get("max"),
                                             error=f"「{label}」应在 {rules.get('min')} 到 "
                                                   f"{rules.get('max')} 之间"))
    elif kind == "checkbox":
        field_class = fields.Boolean
    else:  # select, radio, taglist, checklist
        allowed = [option["value"] for option in component.get("values", [])]
        labels = "、".join(str(option["label"]) for option in component.get("values", []))
        choice = validate.OneOf(allowed, error=f"「{label}」应为以下之一: {labels}")
        if kind in ("taglist", "checklist"):
            return fields.List(fields.Raw(validate=choice), required=bool(rules.get("required")),
                               error_messages=messages | {"invalid": f"「{label}」应为列表"},
                               metadata={"description": label})
        field_class = fields.Raw
        validators.append(choice)
    # The rules no marshmallow validator states, for the OpenAPI document (JSON Schema).
    metadata = {"description": label} | ({"pattern": rules["pattern"]} if rules.get("pattern")
                                         else {}) | ({"format": "date-time"} if kind == "datetime"
                                                     else {})
    options = {"required": bool(rules.get("required")), "validate": validators,
               "error_messages": messages, "metadata": metadata}
    if "defaultValue" in component:
        options["load_default"] = component["defaultValue"]
        options["required"] = False
    if field_class is fields.String:
        options["error_messages"] = messages | {"invalid": f"「{label}」应为文字"}
    if field_class is fields.Boolean:
        options["error_messages"] = messages | {"invalid": f"「{label}」应为是或否 (true/false)"}
    if field_class is fields.Float:
        options["error_messages"] = messages | {"invalid": f"「{label}」应为数字"}
    return field_class(**options)


def _raise(message: str):
    raise ValidationError(message)


def input_components(form: dict) -> list[dict]:
    """The components a user fills in (keyed, of an input type, not disabled)."""
    found = []
    for component in form.get("components", []):
        if component.get("type") in INPUT_TYPES and component.get("key") and \
                not component.get("disabled") and not component.get("readonly"):
            found.append(component)
        found += input_components(component)
    return found


def schema_for_form(form: dict) -> type[Schema]:
    form_id = form["id"]
    components = input_components(form)
    hidden_when = {component["key"]: _hide_rule(component["conditional"]["hide"], form_id,
                                                 component["key"])
                   for component in components if (component.get("conditional") or {}).get("hide")}
    declared = {component["key"]: _field_for(component) for component in components}
    # form-js shows and hides fields by the values on screen, defaults included
    defaults = {component["key"]: component["defaultValue"] for component in components
                if "defaultValue" in component}
    required_when_shown = {key: declared[key].error_messages["required"]
                           for key in hidden_when if declared[key].required}
    for key in required_when_shown:
        declared[key].required = False

    class FormSchema(Schema):
        error_messages = {"unknown": "表单中没有这个字段 (unknown field)",
                          "type": "请求体应为 JSON 对象 (expected a JSON object)"}

        class Meta:
            unknown = RAISE

        @pre_load
        def drop_hidden(self, data, **_):
            """A field the form hides is not submitted by Tasklist: ignore it here too."""
            if not isinstance(data, dict):
                return data
            shown = defaults | data
            return {key: value for key, value in data.items()
                    if key not in hidden_when or not hidden_when[key](shown)}

        @validates_schema(pass_original=True, skip_on_field_errors=False)
        def require_shown(self, data, original, **_):
            if not isinstance(original, dict):
                return  # marshmallow reports the wrong type already
            shown = defaults | original
            missing = {key: [message] for key, message in required_when_shown.items()
                       if key not in original and not hidden_when[key](shown)}
            if missing:
                raise ValidationError(missing)

    return FormSchema.from_dict(declared, name=f"{_camel(form_id)}Form")


def _camel(form_id: str) -> str:
    return "".join(part.capitalize() for part in form_id.split("_"))


@functools.lru_cache(maxsize=None)
def _load(path: Path, mtime: float) -> tuple[dict, type[Schema]]:
    form = json.loads(path.read_text("utf-8"))
    return form, schema_for_form(form)


def form_schema(form_id: str, forms_dir: Path = FORMS_DIR) -> Schema:
    """A fresh schema instance for forms/<form_id>.form (re-read when the file changes)."""
    path = forms_dir / f"{form_id}.form"
    return _load(path, path.stat().st_mtime)[1]()
