"""E-mail through SMTP (smtplib), plain or STARTTLS or SSL as configured.

SMTP has no idempotency of its own: the message's Message-ID is derived from the idempotency
key (and the key is sent as `Idempotency-Key` header), so a receiving system can drop a copy.
"""
from __future__ import annotations

import email.message
import email.utils
import hashlib
import smtplib
import ssl
import typing

from connectors.config import DeliveryPolicy, SmtpSettings
from connectors.delivery import DeliveryRejected, TransientError
from connectors.templates import Message


def message_id(key: str) -> str:
    return f"<{hashlib.sha256(key.encode()).hexdigest()[:32]}@suban.invalid>"


class EmailSender:
    def __init__(self, settings: SmtpSettings, policy: DeliveryPolicy):
        self.settings = settings
        self.policy = policy

    @property
    def configured(self) -> bool:
        return bool(self.settings.host)

    def compose(self, recipients: typing.Sequence[str], message: Message,
                key: str) -> email.message.EmailMessage:
        mail = email.message.EmailMessage()
        mail["Subject"] = message.subject
        mail["From"] = self.settings.sender
        mail["To"] = ", ".join(recipients)
        mail["Date"] = email.utils.formatdate(localtime=True)
        mail["Message-ID"] = message_id(key)
        mail["Idempotency-Key"] = key
        mail.set_content(message.text)
        return mail

    def send_once(self, recipients: typing.Sequence[str], message: Message, key: str) -> str:
        """One SMTP conversation; the caller retries transient errors."""
        mail = self.compose(recipients, message, key)
        sender_address = email.utils.parseaddr(self.settings.sender)[1]
        try:
            with self._connect() as smtp:
                if self.settings.user:
                    smtp.login(self.settings.user, self.settings.password)
                refused = smtp.send_message(mail, from_addr=sender_address,
                                            to_addrs=list(recipients))
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            error = TransientError if any(400 <= code < 500 for code in codes) else DeliveryRejected
            raise error(f"mail server refused every recipient: {_codes(exc.recipients)}") from None
        except smtplib.SMTPNotSupportedError as exc:
            raise DeliveryRejected(f"mail server does not support this: {exc}") from None
        except smtplib.SMTPResponseException as exc:
            error = TransientError if 400 <= exc.smtp_code < 500 else DeliveryRejected
            raise error(f"mail server answered {exc.smtp_code} "
                        f"{_text(exc.smtp_error)}") from None
        except ssl.SSLCertVerificationError as exc:
            raise DeliveryRejected(f"mail server certificate not trusted: {exc}") from None
        except (smtplib.SMTPException, OSError) as exc:  # disconnects, timeouts, refused sockets
            raise TransientError(f"mail server {self.settings.host}:{self.settings.port}: "
                                 f"{type(exc).__name__}: {exc}") from None
        if refused:  # the others have the message already: sending again would duplicate it
            return f"accepted for {len(recipients) - len(refused)}, refused: {_codes(refused)}"
        return f"accepted for {len(recipients)} recipient(s)"

    def _connect(self) -> smtplib.SMTP:
        settings, timeout = self.settings, self.policy.timeout_s
        if settings.tls == "ssl":
            return smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout,
                                    context=ssl.create_default_context())
        smtp = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        if settings.tls == "starttls":
            try:
                smtp.starttls(context=ssl.create_default_context())
            except BaseException:
                smtp.close()
                raise
        return smtp


def _text(value: bytes | str) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _codes(refused: dict) -> str:
    return "; ".join(f"{address}: {code} {_text(reply)}" for address, (code, reply)
                     in refused.items())
