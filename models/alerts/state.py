"""The alert state machine, pure: one group of one rule moves on each evaluation.

inactive ──breach──▶ pending ──breach for `for`──▶ firing ──no breach (after
   ▲                    │                            │      keep_firing_for)──▶ resolved
   └────no breach───────┘                            │                              │
   └──────────────────────────────────────────────────┴────────────── next ◀────────┘
nodata: no value and no_data = "ok" (a firing alert resolves); no_data = "alert" breaches;
no_data = "keep" leaves the state as it was. error: the measure could not be read; a firing
alert stays firing (a store hiccup must not resolve and re-fire it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime

from models.alerts.rules import Rule

__all__ = ["STATES", "AlertState", "Transition", "fingerprint", "step"]

STATES = ("inactive", "pending", "firing", "resolved", "nodata", "error")


def fingerprint(rule_name: str, group: Mapping[str, str]) -> str:
    """A stable id of one rule's group: the same labels give the same alert, always."""
    text = rule_name + "\x00" + "\x00".join(f"{k}={v}" for k, v in sorted(group.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class AlertState:
    """Where one group of one rule stands after its last evaluation."""

    rule: str
    fingerprint: str
    group: Mapping[str, str]
    state: str = "inactive"
    value: float | None = None
    since: datetime | None = None  # when this state began
    pending_since: datetime | None = None
    fired_at: datetime | None = None
    last_breach: datetime | None = None
    evaluated_at: datetime | None = None
    error: str = ""


@dataclass(frozen=True)
class Transition:
    """A change of state, as the history stores it."""

    at: datetime
    rule: str
    rule_version: str
    fingerprint: str
    group: Mapping[str, str] = field(default_factory=dict)
    before: str = "inactive"
    after: str = "inactive"
    value: float | None = None
    error: str = ""


def _moved(previous: AlertState, now: datetime, new: str, **changes: object) -> AlertState:
    since = previous.since if previous.state == new else now
    return replace(previous, state=new, since=since, evaluated_at=now, **changes)  # type: ignore[arg-type]


def step(
    previous: AlertState,
    rule: Rule,
    now: datetime,
    *,
    value: float | None,
    breaching: bool | None,
    error: str = "",
) -> tuple[AlertState, Transition | None]:
    """The next state of a group after one evaluation, and the transition if it changed.

    ``breaching`` is None when the group has no data (``value`` is then None too).
    """
    if error:
        if previous.state == "firing":
            current = replace(previous, evaluated_at=now, error=error)
        else:
            current = _moved(previous, now, "error", value=None, error=error)
    elif breaching is None and rule.no_data == "keep":
        current = replace(previous, evaluated_at=now, value=None, error="")
    elif breaching is None and rule.no_data == "ok":
        new = "resolved" if previous.state == "firing" else "nodata"
        current = _moved(previous, now, new, value=None, pending_since=None, error="")
    else:
        # A breach, or no data under no_data = "alert", which counts as one.
        breach = bool(breaching) or (breaching is None and rule.no_data == "alert")
        current = _next(previous, rule, now, breach, value)
    if current.state == previous.state:
        return current, None
    return current, Transition(
        at=now,
        rule=rule.name,
        rule_version=rule.version,
        fingerprint=previous.fingerprint,
        group=dict(previous.group),
        before=previous.state,
        after=current.state,
        value=current.value,
        error=current.error,
    )


def _next(
    previous: AlertState, rule: Rule, now: datetime, breach: bool, value: float | None
) -> AlertState:
    if breach:
        if previous.state == "firing":
            return _moved(previous, now, "firing", value=value, last_breach=now, error="")
        pending_since = previous.pending_since if previous.state == "pending" else now
        assert pending_since is not None
        if now - pending_since >= rule.for_:
            return _moved(
                previous,
                now,
                "firing",
                value=value,
                last_breach=now,
                fired_at=now,
                pending_since=None,
                error="",
            )
        return _moved(previous, now, "pending", value=value, pending_since=pending_since, error="")
    if previous.state == "firing":
        kept = (
            previous.last_breach is not None and now - previous.last_breach < rule.keep_firing_for
        )
        if kept:
            return _moved(previous, now, "firing", value=value, error="")
        return _moved(previous, now, "resolved", value=value, error="")
    return _moved(previous, now, "inactive", value=value, pending_since=None, error="")
