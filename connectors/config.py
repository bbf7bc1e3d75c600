"""Connector configuration: deploy/config/notifications.yaml, overridden by environment variables.

The file holds the message templates, the units' contact channels and the connectors' defaults;
it is validated at load and every error names the template, unit or setting and the problem.
Secrets (SMS token, SMTP password) come only from the environment, never from the file.
"""
from __future__ import annotations

import dataclasses
import email.utils
import os
import typing
from pathlib import Path

import yaml
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from connectors.templates import AUDIENCES, Template, allowed_fields, unknown_placeholders
from deploy.directory import Directory, load_directory
from deploy.settings import CONFIG_DIR

NOTIFICATIONS_FILE = CONFIG_DIR / "notifications.yaml"

TLS_MODES = ("none", "starttls", "ssl")
SMTP_DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}
WEBHOOK_STYLES = ("wecom", "dingtalk")
WEBHOOK_FORMATS = ("text", "markdown")


class ConfigError(ValueError):
    """The notification configuration is not valid; the message names each bad entry."""


# -- settled configuration -------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class SmsSettings:
    url: str    # empty: no gateway, caller SMS are skipped
    sign: str   # 短信签名, e.g. 萧县12345
    token: str  # bearer token for the gateway, from SUBAN_SMS_TOKEN


@dataclasses.dataclass(frozen=True)
class SmtpSettings:
    host: str   # empty: no mail server, e-mails are skipped
    port: int
    user: str
    password: str
    sender: str
    tls: str    # none | starttls | ssl


@dataclasses.dataclass(frozen=True)
class DeliveryPolicy:
    """Within one delivery attempt: the timeout of each call and the retries of transient errors."""
    timeout_s: float
    attempts: int
    backoff_s: float
    backoff_max_s: float

    def backoff(self, attempt: int) -> float:
        """Wait after failed attempt `attempt` (1-based): doubling, capped."""
        return min(self.backoff_s * 2 ** (attempt - 1), self.backoff_max_s)

    @property
    def longest_delivery_s(self) -> float:
        """An upper bound of one delivery: every attempt timing out (an SMTP conversation takes
        several round trips, hence the factor) plus the waits between them."""
        waits = sum(self.backoff(attempt) for attempt in range(1, self.attempts))
        return self.attempts * self.timeout_s * 6 + waits


@dataclasses.dataclass(frozen=True)
class WebhookTarget:
    url: str
    style: str   # wecom | dingtalk (their markdown bodies differ)
    format: str  # text | markdown


@dataclasses.dataclass(frozen=True)
class UnitChannels:
    emails: tuple[str, ...]
    webhook: WebhookTarget | None


@dataclasses.dataclass(frozen=True)
class NotificationConfig:
    sms: SmsSettings
    smtp: SmtpSettings
    delivery: DeliveryPolicy
    templates: dict[str, Template]
    units: dict[str, UnitChannels]
    directory: Directory
    leaders: dict[str, UnitChannels] = dataclasses.field(default_factory=dict)

    def template(self, template_id: str) -> Template:
        try:
            return self.templates[template_id]
        except KeyError:
            raise ConfigError(f"模板 '{template_id}' 不存在（deploy/config/notifications.yaml "
                              f"中有: {', '.join(sorted(self.templates))}）") from None

    def channels(self, recipient_id: str) -> UnitChannels:
        """A unit's or a county leader's channels (the directory keeps their ids distinct)."""
        return (self.units.get(recipient_id) or self.leaders.get(recipient_id)
                or UnitChannels((), None))


# -- schemas ---------------------------------------------------------------------------------------

_url = validate.URL(require_tld=False, schemes={"http", "https"},
                    error="不是有效的 http(s) 地址: {input}")


def _optional_url(value: str) -> None:
    if value:
        _url(value)


def _mail_address(value: str) -> None:
    _, address = email.utils.parseaddr(value)
    if "@" not in address:
        raise ValidationError(f"不是有效的发件地址: {value!r}（例: 萧县12345热线 <12345@example.cn>）")


def _optional_mail_address(value: str) -> None:
    if value:
        _mail_address(value)


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
    url = fields.String(required=True, validate=_url)
    style = fields.String(load_default="wecom", validate=validate.OneOf(
        WEBHOOK_STYLES, error="应为 {choices} 之一"))
    format = fields.String(load_default="markdown", validate=validate.OneOf(
        WEBHOOK_FORMATS, error="应为 {choices} 之一"))


class UnitChannelsSchema(Schema):
    email = fields.List(fields.Email(error_messages={"invalid": "不是有效的电子邮箱地址"}), load_default=list)
    webhook = fields.Nested(WebhookSchema, load_default=None, allow_none=True)


class TemplateSchema(Schema):
    audience = fields.String(required=True, validate=validate.OneOf(
        AUDIENCES, error="应为 {choices} 之一（caller: 短信发给来电人；unit: 邮件/机器人发给单位；"
                         "leader: 邮件/机器人发给县领导）"))
    description = fields.String(load_default="")
    subject = fields.String(load_default="", validate=validate.Length(max=200))
    text = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    sms_template_id = fields.String(load_default="", validate=validate.Length(max=64))

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
                                          f"（见 deploy/config/directory.yaml）"]}
                       for entry_id in data[section] if entry_id not in known}
            if unknown:
                errors[section] = unknown
        if errors:
            raise ValidationError(errors)


class EnvironmentSchema(Schema):
    """The environment variables that override the file; empty ones count as unset."""
    sms_url = fields.String(data_key="SUBAN_SMS_URL", validate=_url)
    sms_sign = fields.String(data_key="SUBAN_SMS_SIGN", validate=validate.Length(max=16))
    sms_token = fields.String(data_key="SUBAN_SMS_TOKEN")
    smtp_host = fields.String(data_key="SUBAN_SMTP_HOST")
    smtp_port = fields.Integer(data_key="SUBAN_SMTP_PORT", validate=validate.Range(1, 65535),
                               error_messages={"invalid": "不是有效的端口号"})
    smtp_user = fields.String(data_key="SUBAN_SMTP_USER")
    smtp_password = fields.String(data_key="SUBAN_SMTP_PASSWORD")
    smtp_from = fields.String(data_key="SUBAN_SMTP_FROM", validate=_mail_address)
    smtp_tls = fields.String(data_key="SUBAN_SMTP_TLS", validate=validate.OneOf(
        TLS_MODES, error="应为 {choices} 之一"))


ENVIRONMENT_VARIABLES = tuple(field.data_key for field in EnvironmentSchema().fields.values())


# -- loading ---------------------------------------------------------------------------------------

def _flatten(errors: typing.Any, prefix: str = "") -> list[str]:
    """marshmallow's nested errors as lines `templates.caller_received.text: problem`."""
    if isinstance(errors, dict):
        lines = []
        for key, value in errors.items():
            # A Dict field nests its key's and value's errors under "key"/"value", whole-schema
            # errors sit under "_schema": the path already names the entry.
            if key in ("key", "value", "_schema"):
                step = ""
            else:
                step = f"[{key}]" if isinstance(key, int) else f".{key}"
            lines += _flatten(value, f"{prefix}{step}")
        return lines
    return [f"{prefix.lstrip('.') or '(file)'}: {message}" for message in errors]


def load_config(path: Path = NOTIFICATIONS_FILE, *, env: typing.Mapping[str, str] | None = None,
                directory: Directory | None = None) -> NotificationConfig:
    """Load and validate the file, then apply the environment's overrides."""
    env = os.environ if env is None else env
    directory = directory or load_directory()
    try:
        raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: 应为一个映射（sms, smtp, delivery, units, leaders, templates）")
    try:
        data = NotificationsSchema(directory).load(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}:\n  " + "\n  ".join(_flatten(exc.messages))) from None
    try:
        overrides = EnvironmentSchema().load(
            {name: env[name] for name in ENVIRONMENT_VARIABLES if env.get(name)})
    except ValidationError as exc:
        raise ConfigError("environment variables:\n  " +
                          "\n  ".join(_flatten(exc.messages))) from None
    return _settle(data, overrides, directory)


def _settle(data: dict, env: dict, directory: Directory) -> NotificationConfig:
    sms, smtp = data["sms"], data["smtp"]
    tls = env.get("smtp_tls", smtp["tls"])
    if env.get("smtp_host", smtp["host"]) and not env.get("smtp_from", smtp["sender"]):
        raise ConfigError("smtp.from: 已配置邮件服务器，但缺少发件人地址 "
                          "(smtp.from 或环境变量 SUBAN_SMTP_FROM)")
    return NotificationConfig(
        sms=SmsSettings(url=env.get("sms_url", sms["url"]), sign=env.get("sms_sign", sms["sign"]),
                        token=env.get("sms_token", "")),
        smtp=SmtpSettings(
            host=env.get("smtp_host", smtp["host"]),
            port=env.get("smtp_port", smtp["port"] or SMTP_DEFAULT_PORTS[tls]),
            user=env.get("smtp_user", smtp["user"]), password=env.get("smtp_password", ""),
            sender=env.get("smtp_from", smtp["sender"]), tls=tls),
        delivery=DeliveryPolicy(**data["delivery"]),
        templates={template_id: Template(id=template_id, audience=spec["audience"],
                                         text=spec["text"], subject=spec["subject"],
                                         sms_template_id=spec["sms_template_id"])
                   for template_id, spec in data["templates"].items()},
        units={unit_id: _channels(spec) for unit_id, spec in data["units"].items()},
        directory=directory,
        leaders={leader_id: _channels(spec) for leader_id, spec in data["leaders"].items()},
    )


def _channels(spec: dict) -> UnitChannels:
    return UnitChannels(emails=tuple(spec["email"]),
                        webhook=WebhookTarget(**spec["webhook"]) if spec["webhook"] else None)
