"""Outbound notifications, built once for reports and alerts: e-mail over SMTP and webhooks,
each retried with backoff and jitter under an idempotency key, every attempt in a log.

    Notification ──deliver()──▶ Channel.send()   (SmtpChannel, WebhookChannel)
                         └────▶ DeliveryLog       (ClickHouse ``deliveries``: sent, failed)

A channel that fails never blocks the others: each runs in its own thread with its own
retries, and ``deliver`` returns one ``Outcome`` per channel.
"""

from __future__ import annotations

from app.delivery.channels import (
    AlertmanagerChannel,
    Attachment,
    Channel,
    DeliveryError,
    Notification,
    PermanentDeliveryError,
    SmtpChannel,
    WebhookChannel,
)
from app.delivery.send import DeliveryLog, Outcome, deliver

__all__ = [
    "AlertmanagerChannel",
    "Attachment",
    "Channel",
    "DeliveryError",
    "DeliveryLog",
    "Notification",
    "Outcome",
    "PermanentDeliveryError",
    "SmtpChannel",
    "WebhookChannel",
    "deliver",
]
