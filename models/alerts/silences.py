"""Silences and acknowledgements of alerts, and what of the alert state a reader may see.

A silence stops every notification of one alert (its fingerprint) until it ends; state and
history still move. An acknowledgement only records that someone is on it. Both are
append-only rows in ``alert_silences``: who, what, why and until when.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from models.alerts.history import tenant_of
from models.alerts.rules import Rule
from models.alerts.state import AlertState
from models.db import Store
from models.tenancy import tenant_params, utc

__all__ = [
    "KINDS",
    "Silence",
    "readable",
    "record_silence",
    "silenced",
    "silences",
    "state_tenant",
]

KINDS = ("silence", "ack")
_COLUMNS = ["at", "rule", "fingerprint", "tenant", "kind", "until", "actor", "reason"]


@dataclass(frozen=True)
class Silence:
    """One silence or acknowledgement as stored."""

    at: datetime
    rule: str
    fingerprint: str
    tenant: str
    kind: str
    until: datetime
    actor: str
    reason: str


def state_tenant(state: AlertState, rules: Mapping[str, Rule]) -> str:
    """The tenant of an alert's state; a rule no longer configured falls back to its group."""
    rule = rules.get(state.rule)
    return tenant_of(rule, state.group) if rule is not None else state.group.get("tenant", "")


def readable(
    states: Mapping[str, AlertState], rules: Mapping[str, Rule], tenants: Sequence[str] | None
) -> list[AlertState]:
    """States the reader may see: their tenants' only; platform-wide ('') needs every tenant."""
    return [s for s in states.values() if tenants is None or state_tenant(s, rules) in tenants]


def record_silence(store: Store, silence: Silence) -> None:
    """Append one silence or acknowledgement (ValueError on a bad kind, reason or end)."""
    if silence.kind not in KINDS:
        raise ValueError(f"kind is one of {', '.join(KINDS)}, not {silence.kind!r}")
    if not silence.reason.strip():
        raise ValueError("a silence or acknowledgement needs a reason: it is kept in the audit")
    if silence.until <= silence.at:
        raise ValueError("until must be after the moment the silence is set")
    row = [
        utc(silence.at),
        silence.rule,
        silence.fingerprint,
        silence.tenant,
        silence.kind,
        utc(silence.until),
        silence.actor,
        silence.reason.strip(),
    ]
    store.insert("alert_silences", [row], _COLUMNS)


def silenced(store: Store, now: datetime) -> dict[str, datetime]:
    """Fingerprint -> when its silence ends, for the silences in force at ``now``."""
    return {
        str(row["fingerprint"]): row["ends"] for row in store.query("alerts/silenced", now=utc(now))
    }


def silences(
    store: Store,
    *,
    start: datetime,
    now: datetime,
    limit: int = 500,
    tenants: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Silences and acknowledgements the reader may see, set since ``start`` or still in force."""
    return store.query(
        "alerts/silences", start=utc(start), now=utc(now), limit=limit, **tenant_params(tenants)
    )
