"""Group-chat robots (WeCom 企业微信, DingTalk 钉钉) through their incoming webhooks.

Text:     {"msgtype": "text", "text": {"content": ...}}
Markdown: WeCom {"msgtype": "markdown", "markdown": {"content": ...}},
          DingTalk {"msgtype": "markdown", "markdown": {"title": ..., "text": ...}}

Both answer HTTP 200 with {"errcode": 0, ...}; a non-zero errcode is a refusal, except the
codes for "busy" and "too many messages", which are worth retrying.
"""
from __future__ import annotations

from connectors.config import DeliveryPolicy, WebhookTarget
from connectors.delivery import DeliveryRejected, TransientError, post_json, shown_url
from connectors.templates import Message

#: errcodes that mean "try again later": WeCom -1 (busy) and 45009 (rate limit),
#: DingTalk 130101 (sending too fast).
RETRYABLE_ERRCODES = frozenset({-1, 45009, 130101})


def webhook_body(target: WebhookTarget, message: Message) -> dict:
    if target.format == "text":
        return {"msgtype": "text", "text": {"content": f"{message.subject}\n{message.text}"}}
    if target.style == "dingtalk":
        return {"msgtype": "markdown",
                "markdown": {"title": message.subject,
                             "text": f"### {message.subject}\n\n{message.text}"}}
    return {"msgtype": "markdown",
            "markdown": {"content": f"### {message.subject}\n\n{message.text}"}}


class WebhookSender:
    def __init__(self, policy: DeliveryPolicy):
        self.policy = policy

    def send_once(self, target: WebhookTarget, message: Message, key: str) -> str:
        response = post_json(target.url, webhook_body(target, message),
                             headers={"Idempotency-Key": key}, timeout_s=self.policy.timeout_s)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        errcode = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if errcode in RETRYABLE_ERRCODES:
            raise TransientError(f"{shown_url(target.url)} is busy: errcode {errcode} "
                                 f"{answer.get('errmsg', '')}")
        if errcode:
            raise DeliveryRejected(f"{shown_url(target.url)} refused the message: errcode "
                                   f"{errcode} {answer.get('errmsg', '')}")
        return f"robot answered {response.status_code}"
