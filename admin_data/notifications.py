"""The notifications file (notifications.yaml): message templates with their placeholders, the
units' and leaders' contact channels, and the connectors' defaults. Secrets (SMS token, SMTP
password) are refused here: they come only from the environment (see connectors.config).

A placeholder names a *message field*, not a raw process variable: fields are derived from the
variables with the caller masked, so no template can leak a caller's full name or phone number.
"""
from __future__ import annotations

import dataclasses
import email.utils
import string
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from admin_data.directory import DIRECTORY, Directory
from admin_data.loader import AdminFile, ConfigFileError, load_admin_file

AUDIENCES = ("caller", "unit", "leader")

TLS_MODES = ("none", "starttls", "ssl")
WEBHOOK_STYLES = ("wecom", "dingtalk")
WEBHOOK_FORMATS = ("text", "markdown")




class NotificationsError(ConfigFileError):
    """The notification configuration (notifications.yaml, or the connectors' environment
    variables) is not usable; the message names each bad entry."""


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
    "mergedInto": Field("并案时并入的主工单编号", "mergedInto"),
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


http_url = validate.URL(require_tld=False, schemes={"http", "https"},
                    error="不是有效的 http(s) 地址: {input}")


def _optional_url(value: str) -> None:
    if value:
        http_url(value)


def mail_address(value: str) -> None:
    _, address = email.utils.parseaddr(value)
    if "@" not in address:
        raise ValidationError(f"不是有效的发件地址: {value!r}（例: 萧县12345热线 <12345@example.cn>）")


def _optional_mail_address(value: str) -> None:
    if value:
        mail_address(value)


def _only_from_env(variable: str):
    def refuse(_value) -> None:
        raise ValidationError(f"密钥不能写入配置文件，请用环境变量 {variable} 设置")
    return refuse


class SmsSchema(Schema):
    url = fields.String(load_default="", validate=_optional_url)
    sign = fields.String(load_default="", validate=validate.Length(max=16))
    token = fields.Raw(validate=_only_from_env("SUBAN_SMS_TOKEN"))


class SmtpSchema(Schema):
    host = fields.String(load_default="")
    port = fields.Integer(load_default=None, allow_none=True, strict=True,
                          validate=validate.Range(1, 65535))
    user = fields.String(load_default="")
    password = fields.Raw(validate=_only_from_env("SUBAN_SMTP_PASSWORD"))
    sender = fields.String(data_key="from", load_default="", validate=_optional_mail_address)
    tls = fields.String(load_default="starttls", validate=validate.OneOf(
        TLS_MODES, error="应为 {choices} 之一"))


class DeliverySchema(Schema):
    timeout_s = fields.Float(load_default=10.0,
                             validate=validate.Range(0, 120, min_inclusive=False))
    attempts = fields.Integer(load_default=3, strict=True, validate=validate.Range(1, 10))
    backoff_s = fields.Float(load_default=1.0, validate=validate.Range(0, 60))
    backoff_max_s = fields.Float(load_default=10.0, validate=validate.Range(0, 600))


class WebhookSchema(Schema):
    url = fields.String(required=True, validate=http_url)
    style = fields.String(load_default="wecom", validate=validate.OneOf(
        WEBHOOK_STYLES, error="应为 {choices} 之一"))
    format = fields.String(load_default="markdown", validate=validate.OneOf(
        WEBHOOK_FORMATS, error="应为 {choices} 之一"))


class UnitChannelsSchema(Schema):
    email = fields.List(fields.Email(error_messages={"invalid": "不是有效的电子邮箱地址"}), load_default=list)
    webhook = fields.Nested(WebhookSchema, load_default=None, allow_none=True)


#: The audiences by the channel their messages go through, as the template editor names them.
AUDIENCE_NAMES = {"caller": "来电人 · 短信", "unit": "承办单位 · 邮件和机器人消息",
                  "leader": "县领导 · 邮件和机器人消息"}


class TemplateSchema(Schema):
    audience = fields.String(required=True, validate=validate.OneOf(
        AUDIENCES, error="应为 {choices} 之一（caller: 短信发给来电人；unit: 邮件/机器人发给单位；"
                         "leader: 邮件/机器人发给县领导）"),
        metadata={"label": "发送对象与渠道", "choices": AUDIENCE_NAMES})
    description = fields.String(load_default="", metadata={"label": "用途"})
    subject = fields.String(load_default="", validate=validate.Length(max=200), metadata={
        "label": "主题", "help": "邮件标题、机器人消息标题; 短信没有主题"})
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000), metadata={
        "label": "正文", "multiline": True})
    sms_template_id = fields.String(load_default="", validate=validate.Length(max=64), metadata={
        "label": "短信平台模板号", "help": "短信平台按其登记的模板发送时填写, 否则留空"})

    @validates_schema
    def check_text(self, data, **_):
        errors: dict[str, list[str]] = {}
        audience = data["audience"]
        for field in ("subject", "text"):
            try:
                unknown = unknown_placeholders(data[field], audience)
            except ValueError as exc:
                errors[field] = [str(exc)]
                continue
            if unknown:
                errors[field] = [
                    f"未知占位符 {', '.join('{' + name + '}' for name in unknown)}；"
                    f"可用: {', '.join(allowed_fields(audience))}"]
        if audience != "caller" and not data["subject"].strip():
            errors.setdefault("subject", []).append(
                "单位消息需要主题（邮件标题、机器人消息标题），发给县领导的也是")
        if audience == "caller" and data["subject"]:
            errors.setdefault("subject", []).append("短信没有主题，请删除 subject")
        if audience == "caller" and len(data["text"]) > 300:
            errors.setdefault("text", []).append(
                f"短信正文过长（{len(data['text'])} 字，最多 300 字）")
        if audience != "caller" and data["sms_template_id"]:
            errors.setdefault("sms_template_id", []).append("只有发给来电人的短信模板需要短信模板号")
        if errors:
            raise ValidationError(errors)


_template_id = fields.String(validate=validate.Regexp(
    r"^[a-z][a-z0-9_]*$", error="模板 id 只能用小写字母、数字和下划线，且以字母开头"))


class NotificationsSchema(Schema):
    sms = fields.Nested(SmsSchema, load_default=lambda: SmsSchema().load({}))
    smtp = fields.Nested(SmtpSchema, load_default=lambda: SmtpSchema().load({}))
    delivery = fields.Nested(DeliverySchema, load_default=lambda: DeliverySchema().load({}))
    units = fields.Dict(keys=fields.String(), values=fields.Nested(UnitChannelsSchema),
                        load_default=dict, allow_none=False)
    leaders = fields.Dict(keys=fields.String(), values=fields.Nested(UnitChannelsSchema),
                          load_default=dict, allow_none=False)
    templates = fields.Dict(keys=_template_id, values=fields.Nested(TemplateSchema),
                            required=True)

    def __init__(self, directory: Directory, **kwargs):
        super().__init__(**kwargs)
        self.unit_ids = {unit.id for unit in directory.units}
        self.leader_ids = {leader.id for leader in directory.leaders}

    @validates_schema
    def check_recipients(self, data, **_):
        errors = {}
        for section, known, what in (("units", self.unit_ids, "单位"),
                                     ("leaders", self.leader_ids, "县领导")):
            unknown = {entry_id: {"key": [f"目录中没有{what} '{entry_id}'"
                                          f"（见单位目录 directory.yaml）"]}
                       for entry_id in data[section] if entry_id not in known}
            if unknown:
                errors[section] = unknown
        if errors:
            raise ValidationError(errors)


class TemplatesSchema(Schema):
    """The templates of the file, as their editor shows them (the file's other sections stay)."""
    templates = fields.Dict(keys=_template_id, values=fields.Nested(TemplateSchema),
                            required=True, metadata={"label": "消息模板"})


def load_notifications(path: Path | None = None, directory: Directory | None = None) -> dict:
    """The file, validated (every unit and leader checked against the directory)."""
    return load_admin_file(path or NOTIFICATIONS.path(),
                           NotificationsSchema(directory or DIRECTORY.current()), NotificationsError)


NOTIFICATIONS = AdminFile("notifications.yaml", load_notifications, depends_on=(DIRECTORY,))
