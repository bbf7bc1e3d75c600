"""SMS through a generic HTTP gateway.

The gateway receives one JSON POST per message:

    {"phone": "13812345678", "sign": "萧县12345", "templateId": "SMS_0001",
     "params": {"appealNumber": "..."}, "content": "【萧县12345】...",
     "idempotencyKey": "..."}

with headers `Idempotency-Key` (the same key) and, when SUBAN_SMS_TOKEN is set,
`Authorization: Bearer <token>`. Gateways that fill their own registered templates use
`templateId` and `params`; the others send `content`. Any 2xx means accepted.

This is the only place where the caller's phone number leaves the system unmasked.
"""
from __future__ import annotations

import math

from connectors.config import DeliveryPolicy, SmsSettings
from connectors.delivery import post_json
from connectors.templates import Message, Template


#: Characters of one SMS in Chinese (UCS-2), and of each part of a longer one (the carrier joins
#: the parts again; each is billed as one message).
SMS_SINGLE = 70
SMS_PART = 67


def sms_content(sign: str, text: str) -> str:
    """What the caller's phone shows: the sign in front of the text."""
    return f"【{sign}】{text}" if sign else text


def sms_parts(content: str) -> int:
    """The messages `content` is sent (and billed) as."""
    return 1 if len(content) <= SMS_SINGLE else math.ceil(len(content) / SMS_PART)


class SmsGateway:
    def __init__(self, settings: SmsSettings, policy: DeliveryPolicy):
        self.settings = settings
        self.policy = policy

    @property
    def configured(self) -> bool:
        return bool(self.settings.url)

    def body(self, phone: str, template: Template, message: Message, key: str) -> dict:
        return {"phone": phone, "sign": self.settings.sign,
                "templateId": template.sms_template_id, "params": message.params,
                "content": sms_content(self.settings.sign, message.text), "idempotencyKey": key}

    def send_once(self, phone: str, template: Template, message: Message, key: str) -> str:
        """One call to the gateway; the caller retries transient errors."""
        headers = {"Idempotency-Key": key}
        if self.settings.token:
            headers["Authorization"] = f"Bearer {self.settings.token}"
        response = post_json(self.settings.url, self.body(phone, template, message, key),
                             headers=headers, timeout_s=self.policy.timeout_s)
        return f"gateway answered {response.status_code}"
