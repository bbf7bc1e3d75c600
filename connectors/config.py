"""Connector configuration: the notifications file (`admin_data.notifications`), overridden by
environment variables. Secrets (SMS token, SMTP password) come only from the environment.
"""
from __future__ import annotations

import dataclasses
import os
import typing
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate

from admin_data.directory import DIRECTORY, Directory
from admin_data.loader import describe_errors
from admin_data.notifications import (NOTIFICATIONS, TLS_MODES, NotificationsError, load_notifications,
                                      mail_address, http_url)
from connectors.templates import Template

SMTP_DEFAULT_PORTS = {"none": 25, "starttls": 587, "ssl": 465}

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
            raise NotificationsError(f"模板 '{template_id}' 不存在（notifications.yaml "
                              f"中有: {', '.join(sorted(self.templates))}）") from None

    def channels(self, recipient_id: str) -> UnitChannels:
        """A unit's or a county leader's channels (the directory keeps their ids distinct)."""
        return (self.units.get(recipient_id) or self.leaders.get(recipient_id)
                or UnitChannels((), None))


class EnvironmentSchema(Schema):
    """The environment variables that override the file; empty ones count as unset."""
    sms_url = fields.String(data_key="SUBAN_SMS_URL", validate=http_url)
    sms_sign = fields.String(data_key="SUBAN_SMS_SIGN", validate=validate.Length(max=16))
    sms_token = fields.String(data_key="SUBAN_SMS_TOKEN")
    smtp_host = fields.String(data_key="SUBAN_SMTP_HOST")
    smtp_port = fields.Integer(data_key="SUBAN_SMTP_PORT", validate=validate.Range(1, 65535),
                               error_messages={"invalid": "不是有效的端口号"})
    smtp_user = fields.String(data_key="SUBAN_SMTP_USER")
    smtp_password = fields.String(data_key="SUBAN_SMTP_PASSWORD")
    smtp_from = fields.String(data_key="SUBAN_SMTP_FROM", validate=mail_address)
    smtp_tls = fields.String(data_key="SUBAN_SMTP_TLS", validate=validate.OneOf(
        TLS_MODES, error="应为 {choices} 之一"))


ENVIRONMENT_VARIABLES = tuple(field.data_key for field in EnvironmentSchema().fields.values())


def load_config(path: Path | None = None, *, env: typing.Mapping[str, str] | None = None,
                directory: Directory | None = None) -> NotificationConfig:
    """The file (as it is now unless another is given), then the environment's overrides."""
    env = os.environ if env is None else env
    if path is None and directory is None:
        directory, data = DIRECTORY.current(), NOTIFICATIONS.current()
    else:
        directory = directory or DIRECTORY.current()
        data = load_notifications(path, directory)
    given = {name: env[name] for name in ENVIRONMENT_VARIABLES if env.get(name)}
    try:
        overrides = EnvironmentSchema().load(given)
    except ValidationError as exc:
        raise NotificationsError("环境变量 (environment variables):\n  " +
                                 "\n  ".join(describe_errors(exc.messages, given))) from None
    return _settle(data, overrides, directory)


def _settle(data: dict, env: dict, directory: Directory) -> NotificationConfig:
    sms, smtp = data["sms"], data["smtp"]
    tls = env.get("smtp_tls", smtp["tls"])
    if env.get("smtp_host", smtp["host"]) and not env.get("smtp_from", smtp["sender"]):
        raise NotificationsError("smtp.from: 已配置邮件服务器，但缺少发件人地址 "
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
