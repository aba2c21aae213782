"""Deliver one notification through every channel: retries, idempotency, the delivery log."""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.delivery.channels import Channel, DeliveryError, Notification, PermanentDeliveryError
from models.db import Store
from orchestrator.policy import RetryPolicy

__all__ = ["DEFAULT_RETRY", "DeliveryLog", "Outcome", "deliver"]

logger = logging.getLogger(__name__)

# Five tries over about a minute at most: a mail server restarting or a webhook deploying
# gets through; anything longer is a human's problem, and the log says so.
DEFAULT_RETRY = RetryPolicy(max_attempts=5, base_delay=2.0, max_delay=30.0)


@dataclass(frozen=True)
class Outcome:
    """How one channel ended: ``sent``, ``skipped`` (already sent under this key) or ``failed``."""

    channel: str
    target: str
    status: str
    attempts: int
    error: str = ""


class DeliveryLog:
    """The ``deliveries`` table: what was sent where, so a key is never sent twice."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def sent_channels(self, key: str) -> set[str]:
        """Channels that already delivered this key."""
        return {str(row["channel"]) for row in self.store.query("delivery/sent_channels", key=key)}

    def record(self, notification: Notification, kind: str, outcome: Outcome) -> None:
        """Write one channel's outcome."""
        self.store.insert(
            "deliveries",
            [
                [
                    notification.key,
                    kind,
                    outcome.channel,
                    outcome.target,
                    notification.tenant,
                    outcome.status,
                    outcome.attempts,
                    outcome.error[:2000],
                ]
            ],
            ["key", "kind", "channel", "target", "tenant", "status", "attempts", "error"],
        )

    def recent(self, limit: int = 100) -> list[dict[str, object]]:
        """The latest attempts, newest first."""
        return self.store.query("delivery/recent", limit=limit)


def _send_with_retries(
    channel: Channel,
    notification: Notification,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
    rng: random.Random,
) -> Outcome:
    error = ""
    for attempt in range(1, retry.max_attempts + 1):
        try:
            channel.send(notification)
        except PermanentDeliveryError as exc:
            return Outcome(channel.name, channel.target, "failed", attempt, str(exc))
        except DeliveryError as exc:
            error = str(exc)
            logger.warning(
                "%s to %s failed (attempt %d of %d): %s",
                channel.name,
                channel.target,
                attempt,
                retry.max_attempts,
                error,
            )
            if attempt < retry.max_attempts:
                sleep(retry.delay(attempt, rng))
            continue
        return Outcome(channel.name, channel.target, "sent", attempt)
    return Outcome(channel.name, channel.target, "failed", retry.max_attempts, error)


def deliver(
    notification: Notification,
    channels: Sequence[Channel],
    *,
    kind: str,
    log: DeliveryLog | None = None,
    retry: RetryPolicy = DEFAULT_RETRY,
    sleep: Callable[[float], None] = time.sleep,
    rng: random.Random | None = None,
) -> list[Outcome]:
    """Send through every channel at once (one thread each); a failing one delays no other."""
    done = log.sent_channels(notification.key) if log is not None else set()
    outcomes: dict[int, Outcome] = {}
    random_source = rng or random.Random()

    def one(index: int, channel: Channel) -> None:
        if channel.name in done:
            outcomes[index] = Outcome(channel.name, channel.target, "skipped", 0)
            return
        try:
            outcome = _send_with_retries(channel, notification, retry, sleep, random_source)
        except Exception as exc:  # a channel's own bug must not lose the others' outcomes
            logger.exception("%s channel failed unexpectedly", channel.name)
            outcome = Outcome(channel.name, channel.target, "failed", 1, repr(exc))
        outcomes[index] = outcome
        if log is not None:
            try:
                log.record(notification, kind, outcome)
            except Exception:
                logger.exception("could not record the %s delivery of %s", channel.name, kind)

    threads = [
        threading.Thread(target=one, args=(i, c), name=f"deliver-{c.name}", daemon=True)
        for i, c in enumerate(channels)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [outcomes[i] for i in range(len(channels))]
