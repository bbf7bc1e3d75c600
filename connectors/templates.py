"""Message templates: Chinese text with {placeholders}, rendered from an appeal's variables.

Templates are data (deploy/config/notifications.yaml). A placeholder names a *message field*,
not a raw process variable: fields are derived from the variables with the caller masked, so no
template can leak a caller's full name or phone number. The caller's real phone number travels
only as the SMS recipient (see connectors.sms), never inside a rendered text.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import re
import string
import typing

from deploy.directory import Directory

AUDIENCES = ("caller", "unit", "leader")

KIND_NAMES = {"inquiry": "咨询", "help": "求助", "complaint": "投诉", "report": "举报",
              "suggestion": "意见建议"}

CONFIDENTIAL = "（保密）"


@dataclasses.dataclass(frozen=True)
class Field:
    """A placeholder: what it shows, the process variable it comes from, and what to show when
    that variable is absent (None: the template cannot be rendered without it)."""
    description: str
    source: str
    fallback: str | None = None


#: Placeholders every template may use.
FIELDS: dict[str, Field] = {
    "appealNumber": Field("工单编号", "appealNumber"),
    "kindName": Field("诉求类型（咨询/求助/投诉/举报/意见建议）", "kind"),
    "categoryName": Field("诉求分类", "categoryName", "（未分类）"),
    "title": Field("诉求标题", "title"),
    "content": Field("诉求内容", "content", "（无）"),
    "township": Field("所属乡镇（街道）", "township", "（未填写）"),
    "address": Field("事发地址", "address", "（未填写）"),
    "callerName": Field("来电人姓名（已脱敏，如 张**）", "callerName", "（未留姓名）"),
    "callerPhone": Field("来电号码（已脱敏，如 138****5678）", "callerPhone", "（未留电话）"),
    "caller": Field("来电人（姓名和号码，已脱敏）", "callerName"),
    "leadUnitName": Field("牵头单位名称", "leadUnit"),
    "coUnitNames": Field("配合单位名称", "coUnits", "无"),
    "signForDeadline": Field("签收时限", "signForDeadline"),
    "feedbackDeadline": Field("反馈时限", "feedbackDeadline"),
    "completionDeadline": Field("办结时限", "completionDeadline"),
    "scopeReason": Field("不予受理的原因", "scopeReason"),
    "scopeReferral": Field("建议的办理途径", "scopeReferral"),
    "alertReason": Field("提醒事由（由流程模型的输入参数给出）", "alertReason"),
}

#: Placeholders only unit messages may use.
UNIT_FIELDS: dict[str, Field] = {
    "unitName": Field("接收单位名称", "unitName"),
}

#: The only placeholders of leader messages: the duty leader's daily digest (领导接听件日报),
#: whose fields the digest worker fills from all of the leader's appeals of the day.
LEADER_FIELDS: dict[str, Field] = {
    "leaderName": Field("县领导职务", "leaderName"),
    "digestDay": Field("坐班日期", "digestDay"),
    "appealCount": Field("当日接听工单数", "appealCount"),
    "appealList": Field("工单清单（编号、标题、乡镇、牵头单位、当前状态，来电人已脱敏）", "appealList"),
}

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


def placeholders_of(text: str) -> tuple[str, ...]:
    """The placeholder names in `text`; raises ValueError for a malformed one."""
    names = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"花括号不配对或占位符格式错误（{exc}）；正文中的花括号请写成 {{{{ 或 }}}}") from None
    for _, name, format_spec, conversion in parsed:
        if name is None:
            continue
        if not name:
            raise ValueError("空占位符 {} 不允许，请写出字段名，如 {appealNumber}")
        if format_spec or conversion:
            raise ValueError(f"占位符 {{{name}}} 不能带格式或转换（! 或 :）")
        names.append(name)
    return tuple(names)


def allowed_fields(audience: str) -> dict[str, Field]:
    if audience == "leader":
        return dict(LEADER_FIELDS)
    return FIELDS | UNIT_FIELDS if audience == "unit" else dict(FIELDS)


def unknown_placeholders(text: str, audience: str) -> list[str]:
    allowed = allowed_fields(audience)
    return [name for name in placeholders_of(text) if name not in allowed]


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
