"""Connectors to outside systems: SMS gateway, SMTP e-mail, group-chat robot webhooks.

    notifier = Notifier.from_env()
    notifier.notify_caller("caller_received", variables, scope=f"{pid}:{activity_instance_id}")
    notifier.notify_units("unit_dispatched", ["housing"], variables, scope=...)

Templates and unit channels are admin data (`admin_data.notifications`, validated at load);
every message has an idempotency key kept in a durable sent-log, so it goes out once. Only the
SMS gateway sees the caller's phone number; everything else shows the caller masked.
"""
from connectors.config import (NotificationsError, DeliveryPolicy, NotificationConfig, SmsSettings,
                               SmtpSettings, UnitChannels, WebhookTarget, load_config)
from connectors.delivery import (DeliveryError, DeliveryFailed, DeliveryInProgress,
                                 DeliveryRejected, TransientError)
from connectors.notifier import Delivery, Notifier, sent_log_path, summary
from connectors.outbox import Outbox
from connectors.templates import TemplateError, mask_name, mask_phone

__all__ = [
    "NotificationsError", "Delivery", "DeliveryError", "DeliveryFailed", "DeliveryInProgress",
    "DeliveryPolicy", "DeliveryRejected", "NotificationConfig", "Notifier", "Outbox",
    "SmsSettings", "SmtpSettings", "TemplateError", "TransientError", "UnitChannels",
    "WebhookTarget", "load_config", "mask_name", "mask_phone", "sent_log_path", "summary",
]
