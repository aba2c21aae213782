""" "Send a test notification": one test alert through every configured channel at once, so an
operator sees before a real incident whether Alertmanager, the webhook, Slack and e-mail
each take it."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from app.alerts import notify
from app.alerts.service import direct_channels
from app.delivery import (
    AlertmanagerChannel,
    Channel,
    DeliveryLog,
    Notification,
    Outcome,
    deliver,
)
from models.db import Store
from models.settings import Settings
from orchestrator.policy import RetryPolicy

__all__ = ["TEST_ALERTNAME", "probe_view", "send_test_notification"]

TEST_ALERTNAME = "FlowmeterTestNotification"
# Alertmanager lets the test alert end by itself a few minutes later.
_LIFETIME = timedelta(minutes=5)
# The operator waits on the page: two quick tries per channel, never a minute of retries.
_RETRY = RetryPolicy(max_attempts=2, base_delay=0.5, max_delay=1.0)


def probe_view(actor: str, now: datetime, dashboard_url: str) -> notify.AlertView:
    """The test alert: labelled as a test, sent by ``actor``, ending a few minutes ahead."""
    return notify.AlertView(
        status="firing",
        labels={"alertname": TEST_ALERTNAME, "severity": "info", "test": "true"},
        annotations={
            "summary": f"Test notification from Flowmeter, sent by {actor}: nothing is wrong",
            "description": "Sent from the Alerts page to check that this channel delivers.",
        },
        starts_at=now,
        ends_at=now + _LIFETIME,
        generator_url=f"{dashboard_url.rstrip('/')}/alerts" if dashboard_url else "",
    )


def send_test_notification(
    settings: Settings,
    store: Store | None,
    actor: str,
    *,
    now: datetime | None = None,
    sleep: Callable[[float], None] | None = None,
) -> list[Outcome]:
    """Send the test alert through every configured channel; one outcome per channel (empty
    when none is configured). Each attempt goes to the delivery log when a store is given."""
    moment = now or datetime.now(UTC)
    pause = sleep or time.sleep
    view = probe_view(actor, moment, settings.dashboard_url)
    key = f"alert-test:{actor}:{moment.isoformat()}"
    messages: list[tuple[Notification, Channel]] = []
    if settings.alertmanager_url:
        payload = {"alerts": [notify.alertmanager_alert(view)]}
        messages.append(
            (
                Notification(key, "", "", payload=payload),
                AlertmanagerChannel(settings.alertmanager_url),
            )
        )
    for kind, channel in direct_channels(settings):
        messages.append(
            (notify.direct_notification(kind, view, key, settings.dashboard_url), channel)
        )
    log = DeliveryLog(store) if store is not None else None
    if not messages:
        return []
    # Each channel gets its own payload, so one deliver() per channel, all at once: a channel
    # that times out delays no other.
    with ThreadPoolExecutor(max_workers=len(messages)) as pool:
        sent = [
            pool.submit(deliver, m, [c], kind="alert-test", log=log, retry=_RETRY, sleep=pause)
            for m, c in messages
        ]
        return [outcome for future in sent for outcome in future.result()]
