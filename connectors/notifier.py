"""Send one template to its recipients over every configured channel, each message exactly once.

The caller gets an SMS; a unit or a county leader gets an e-mail and/or a robot message,
whichever it has configured. Each (template, channel, recipient) of one notification step has its own
idempotency key `<scope>:<template>:<channel>:<recipient>`, where the scope names the step
(process instance and activity instance), so a step delivered twice sends nothing twice.
"""
from __future__ import annotations

import dataclasses
import functools
import logging
import time
import typing

from connectors.config import NotificationsError, NotificationConfig, load_config
from connectors.delivery import (DeliveryError, DeliveryFailed, DeliveryRejected,
                                 with_retries)
from connectors.email import EmailSender
from connectors.outbox import Outbox
from connectors.sms import SmsGateway
from connectors.templates import Message, Template, is_mobile, mask_phone, message_fields, normalise_mobile, render
from connectors.webhook import WebhookSender
from admin_data.environment import Settings

log = logging.getLogger("suban.connectors")

SENT, ALREADY_SENT, SKIPPED = "sent", "already_sent", "skipped"
CALLER = "caller"
AUDIENCE_NAMES = {"caller": "来电人", "unit": "单位", "leader": "县领导"}


@dataclasses.dataclass(frozen=True)
class Delivery:
    channel: str    # sms | email | webhook
    recipient: str  # "caller", a unit id or a leader id: never the caller's number
    status: str     # sent | already_sent | skipped
    detail: str = ""


def sent_log_path(settings: Settings):
    return settings.data_dir / "connectors" / "sent-log.sqlite3"


class Notifier:
    def __init__(self, config: NotificationConfig, outbox: Outbox,
                 sleep: typing.Callable[[float], None] = time.sleep):
        self.config = config
        self.outbox = outbox
        self.sleep = sleep
        self.sms = SmsGateway(config.sms, config.delivery)
        self.email = EmailSender(config.smtp, config.delivery)
        self.webhook = WebhookSender(config.delivery)

    @classmethod
    def from_env(cls, env: typing.Mapping[str, str] | None = None) -> "Notifier":
        """Configuration from notifications.yaml and the environment; the sent-log in the data
        folder (SUBAN_DATA_DIR)."""
        config = load_config(env=env)
        settings = Settings.from_env(dict(env) if env is not None else None)
        return cls(config, Outbox(sent_log_path(settings), config.delivery.longest_delivery_s))

    # -- public ---------------------------------------------------------------------------------
    def notify_caller(self, template_id: str, variables: typing.Mapping[str, typing.Any], *,
                      scope: str) -> list[Delivery]:
        """SMS `template_id` to the caller's phone (variable callerPhone)."""
        template = self._template(template_id, "caller")
        message = render(template, message_fields(variables, self.config.directory,
                                                  audience="caller"))
        key = f"{scope}:{template_id}:sms:{CALLER}"
        phone = str(variables.get("callerPhone") or "").strip()
        reason = ("来电人未留电话" if not phone else
                  f"{mask_phone(phone)} 不是手机号码，无法发短信" if not is_mobile(phone) else
                  "未配置短信网关 (SUBAN_SMS_URL)" if not self.sms.configured else None)
        if reason:
            return [self._skip(key, template_id, "sms", CALLER, reason)]
        phone = normalise_mobile(phone)
        delivery = self._deliver(
            key, template_id, "sms", CALLER, f"caller {mask_phone(phone)}",
            lambda: self.sms.send_once(phone, template, message, key))
        return [delivery]

    def notify_units(self, template_id: str, unit_ids: typing.Iterable[str],
                     variables: typing.Mapping[str, typing.Any], *, scope: str) -> list[Delivery]:
        """E-mail and/or robot message `template_id` to each unit, whichever it has configured."""
        template = self._template(template_id, "unit")
        unit_ids = list(dict.fromkeys(unit_ids))
        for unit_id in unit_ids:
            if not self.config.directory.unit(unit_id):
                raise NotificationsError(f"目录中没有单位 '{unit_id}'（见单位目录 directory.yaml）")
        messages = {unit_id: render(template, message_fields(
            variables, self.config.directory, audience="unit", unit_id=unit_id))
            for unit_id in unit_ids}  # rendered first: a template error sends nothing
        return self._send_all(template_id, messages, scope=scope, kind="unit")

    def notify_leaders(self, template_id: str,
                       fields_by_leader: typing.Mapping[str, typing.Mapping[str, str]], *,
                       scope: str) -> list[Delivery]:
        """E-mail and/or robot message `template_id` to county leaders, each rendered from its
        own placeholder values (the leader's name, `leaderName`, is added here)."""
        template = self._template(template_id, "leader")
        names = {leader.id: leader.name for leader in self.config.directory.leaders}
        for leader_id in fields_by_leader:
            if leader_id not in names:
                raise NotificationsError(f"目录中没有县领导 '{leader_id}'（见单位目录 directory.yaml）")
        messages = {leader_id: render(template, dict(fields) | {"leaderName": names[leader_id]})
                    for leader_id, fields in fields_by_leader.items()}
        return self._send_all(template_id, messages, scope=scope, kind="leader")

    # -- internals ------------------------------------------------------------------------------
    def _send_all(self, template_id: str, messages: dict[str, Message], *, scope: str,
                  kind: str) -> list[Delivery]:
        """Send each recipient's message over its channels. Every delivery is tried; failures
        are raised together at the end, so the ones that went out are not repeated."""
        deliveries: list[Delivery] = []
        failures: list[DeliveryError] = []
        for recipient, message in messages.items():
            for channel, sender in self._senders(recipient, kind).items():
                key = f"{scope}:{template_id}:{channel}:{recipient}"
                if isinstance(sender, str):
                    deliveries.append(self._skip(key, template_id, channel, recipient, sender))
                    continue
                try:
                    deliveries.append(self._deliver(key, template_id, channel, recipient,
                                                    f"{kind} {recipient}",
                                                    functools.partial(sender, message, key)))
                except DeliveryError as exc:
                    failures.append(exc)
        if failures:
            error = DeliveryRejected if all(isinstance(exc, DeliveryRejected)
                                            for exc in failures) else DeliveryFailed
            raise error(f"{template_id}: {len(failures)} of {len(failures) + len(deliveries)} "
                       f"deliveries failed: " + "; ".join(str(exc) for exc in failures))
        return deliveries

    def _template(self, template_id: str, audience: str) -> Template:
        template = self.config.template(template_id)
        if template.audience != audience:
            raise NotificationsError(f"模板 '{template_id}' 是发给{AUDIENCE_NAMES[template.audience]}的，"
                              f"不能发给{AUDIENCE_NAMES[audience]}")
        return template

    def _senders(self, recipient: str,
                 kind: str) -> dict[str, typing.Callable[[Message, str], str] | str]:
        """channel → its send function for this unit or leader, or why it cannot get it that way."""
        channels = self.config.channels(recipient)
        shown = f"{AUDIENCE_NAMES[kind]} {recipient}"
        senders: dict[str, typing.Callable[[Message, str], str] | str] = {}
        if not channels.emails:
            senders["email"] = f"{shown} 未配置电子邮箱"
        elif not self.email.configured:
            senders["email"] = "未配置邮件服务器 (SUBAN_SMTP_HOST)"
        else:
            senders["email"] = functools.partial(self.email.send_once, channels.emails)
        if channels.webhook:
            senders["webhook"] = functools.partial(self.webhook.send_once, channels.webhook)
        else:
            senders["webhook"] = f"{shown} 未配置机器人 webhook"
        return senders

    def _deliver(self, key: str, template_id: str, channel: str, recipient: str,
                 shown_recipient: str, send: typing.Callable[[], str]) -> Delivery:
        if not self.outbox.claim(key, template=template_id, channel=channel, recipient=recipient):
            log.info("%s %s to %s was sent before, not sending again (key %s)",
                     channel, template_id, shown_recipient, key)
            return Delivery(channel, recipient, ALREADY_SENT)
        what = f"{channel} {template_id} to {shown_recipient}"
        try:
            detail = with_retries(send, self.config.delivery, what, self.sleep)
        except Exception as exc:
            self.outbox.mark_failed(key, f"{type(exc).__name__}: {exc}")
            raise
        self.outbox.mark_sent(key, f"{shown_recipient}: {detail}")
        log.info("%s sent: %s (key %s)", what, detail, key)
        return Delivery(channel, recipient, SENT, detail)

    def _skip(self, key: str, template_id: str, channel: str, recipient: str,
              reason: str) -> Delivery:
        self.outbox.record_skipped(key, template=template_id, channel=channel,
                                   recipient=recipient, reason=reason)
        log.info("%s %s to %s skipped: %s (key %s)", channel, template_id, recipient, reason, key)
        return Delivery(channel, recipient, SKIPPED, reason)


def summary(template_id: str, deliveries: typing.Iterable[Delivery]) -> str:
    """`<template> → <n> sent, <m> skipped` (+ already sent ones): counts only, no recipients."""
    deliveries = list(deliveries)
    counts = {status: sum(1 for delivery in deliveries if delivery.status == status)
              for status in (SENT, SKIPPED, ALREADY_SENT)}
    text = f"{template_id} → {counts[SENT]} sent, {counts[SKIPPED]} skipped"
    if counts[ALREADY_SENT]:
        text += f", {counts[ALREADY_SENT]} already sent"
    return text
