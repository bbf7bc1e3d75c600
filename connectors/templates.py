"""Message templates: Chinese text with {placeholders}, rendered from an appeal's variables.

Templates and the fields their placeholders may name are admin data (`admin_data.notifications`).
Fields are derived from the variables with the caller masked, so no template can leak a caller's
full name or phone number. The caller's real phone number travels only as the SMS recipient (see
connectors.sms), never inside a rendered text.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import typing

from admin_data.directory import Directory
from admin_data.notifications import FIELDS, allowed_fields, placeholders_of

KIND_NAMES = {"inquiry": "咨询", "help": "求助", "complaint": "投诉", "report": "举报",
              "suggestion": "意见建议"}

CONFIDENTIAL = "（保密）"


MOBILE_PATTERN = re.compile(r"^1[3-9]\d{9}$")


class TemplateError(ValueError):
    """A template cannot be rendered from the variables at hand; the message names the
    template and the missing or bad variable."""


@dataclasses.dataclass(frozen=True)
class Template:
    id: str
    audience: str             # caller (SMS) | unit, leader (e-mail and webhook)
    text: str
    subject: str = ""         # e-mail subject and webhook heading (unit templates)
    sms_template_id: str = ""  # the gateway's template id (caller templates)

    @property
    def placeholders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(placeholders_of(self.subject) + placeholders_of(self.text)))


@dataclasses.dataclass(frozen=True)
class Message:
    """A rendered template: what a channel sends."""
    template_id: str
    subject: str
    text: str
    params: dict[str, str]  # the placeholders' values, for gateways that fill templates themselves


# -- masking --------------------------------------------------------------------------------------

def mask_name(name: str | None) -> str:
    """张三 → 张**: only the first character stays."""
    name = (name or "").strip()
    return f"{name[0]}**" if name else ""


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678; numbers too short to mask safely become ****."""
    digits = re.sub(r"\D", "", phone or "")
    if not digits:
        return ""
    return f"{digits[:3]}****{digits[-4:]}" if len(digits) >= 8 else "****"


def is_mobile(phone: str | None) -> bool:
    return bool(MOBILE_PATTERN.match(re.sub(r"[\s-]", "", phone or "")))


def normalise_mobile(phone: str) -> str:
    return re.sub(r"[\s-]", "", phone)


# -- fields ---------------------------------------------------------------------------------------

def is_confidential(value: typing.Any) -> bool:
    """Anything but a clear "no" counts as confidential: a doubt must not expose the caller."""
    if isinstance(value, str):
        return value.strip().lower() not in ("", "false", "0", "否", "no")
    return bool(value)


def _present(value: typing.Any) -> bool:
    return value is not None and value != "" and value != []


def _format_time(name: str, value: typing.Any) -> str:
    if isinstance(value, dt.datetime):
        moment = value
    else:
        try:
            moment = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise TemplateError(f"流程变量 {name} 的值 {value!r} 不是 ISO 8601 时间") from None
    return moment.strftime("%Y-%m-%d %H:%M")


def _unit_name(directory: Directory, unit_id: str) -> str:
    unit = directory.unit(unit_id)
    return unit.name if unit else unit_id


CALLER_FIELDS = ("callerName", "callerPhone", "caller")


def _display(name: str, value: typing.Any, directory: Directory) -> str:
    if name == "kindName":
        return KIND_NAMES.get(str(value), str(value))
    if name in ("leadUnitName", "township"):
        return _unit_name(directory, str(value))
    if name == "coUnitNames":
        unit_ids = value if isinstance(value, (list, tuple)) else [value]
        return "、".join(_unit_name(directory, str(unit)) for unit in unit_ids)
    if name.endswith("Deadline"):
        return _format_time(FIELDS[name].source, value)
    return str(value)


def _caller_fields(variables: typing.Mapping[str, typing.Any], hide: bool) -> dict[str, str]:
    if hide:
        return dict.fromkeys(CALLER_FIELDS, CONFIDENTIAL)
    name = mask_name(variables.get("callerName")) or FIELDS["callerName"].fallback
    phone = mask_phone(variables.get("callerPhone")) or FIELDS["callerPhone"].fallback
    return {"callerName": name, "callerPhone": phone, "caller": f"{name} {phone}"}


def message_fields(variables: typing.Mapping[str, typing.Any], directory: Directory, *,
                   audience: str, unit_id: str | None = None) -> dict[str, str]:
    """The placeholder values available from `variables`, caller masked.

    A unit message of a confidential appeal shows no caller at all. A field whose variable is
    absent is left out unless it has a fallback; `render` then names what is missing.
    """
    values: dict[str, str] = {}
    for name, field in FIELDS.items():
        if name in CALLER_FIELDS:
            continue
        value = variables.get(field.source)
        if _present(value):
            values[name] = _display(name, value, directory)
        elif field.fallback is not None:
            values[name] = field.fallback
    values |= _caller_fields(variables, hide=audience == "unit" and is_confidential(
        variables.get("confidential")))
    if audience == "unit" and unit_id:
        values["unitName"] = _unit_name(directory, unit_id)
    return values


def render(template: Template, fields: typing.Mapping[str, str]) -> Message:
    missing = [name for name in template.placeholders if name not in fields]
    if missing:
        sources = ", ".join(allowed_fields(template.audience)[name].source for name in missing)
        raise TemplateError(f"模板 {template.id}: 缺少流程变量 {sources}"
                            f"（占位符 {', '.join('{' + name + '}' for name in missing)}）")
    used = {name: fields[name] for name in template.placeholders}
    return Message(template.id, template.subject.format_map(used), template.text.format_map(used),
                   used)
