"""When scheduled reports are due: the last full week (digest) and month (chargeback), pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models.settings import monthly_slot, weekly_slot

__all__ = ["Period", "due_chargeback", "due_digest", "last_full_month", "last_full_week"]


@dataclass(frozen=True)
class Period:
    """A report's period [start, end) and the idempotency key of its one notification."""

    kind: str
    start: datetime
    end: datetime

    @property
    def key(self) -> str:
        """``digest:2026-11-23``, ``chargeback:2026-11``: one delivery per period, ever."""
        label = self.start.strftime("%Y-%m") if self.kind == "chargeback" else self.start.date()
        return f"{self.kind}:{label}"


def last_full_week(now: datetime) -> Period:
    """Monday 00:00 to Monday 00:00 UTC of the last week that has ended."""
    today = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    end = today - timedelta(days=today.weekday())
    return Period("digest", end - timedelta(days=7), end)


def last_full_month(now: datetime) -> Period:
    """The first of the previous month to the first of this month, UTC."""
    end = now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    start = (end - timedelta(days=1)).replace(day=1)
    return Period("chargeback", start, end)


def due_digest(schedule: str, now: datetime) -> Period | None:
    """The week whose digest is due at ``now`` (its send time has passed), or None when off."""
    slot = weekly_slot(schedule)
    if slot is None:
        return None
    weekday, hour, minute = slot
    period = last_full_week(now)
    send_at = period.end + timedelta(days=weekday, hours=hour, minutes=minute)
    if send_at > now:  # this week's slot is still ahead: the week before is the one due
        period = Period("digest", period.start - timedelta(days=7), period.start)
    return period


def due_chargeback(schedule: str, now: datetime) -> Period | None:
    """The month whose chargeback is due at ``now``, or None when off."""
    slot = monthly_slot(schedule)
    if slot is None:
        return None
    day, hour, minute = slot
    period = last_full_month(now)
    send_at = period.end + timedelta(days=day - 1, hours=hour, minutes=minute)
    if send_at > now:
        start = (period.start - timedelta(days=1)).replace(day=1)
        period = Period("chargeback", start, period.start)
    return period
