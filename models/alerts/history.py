"""Alert state and history in ClickHouse: a restart neither re-fires nor forgets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from models.alerts.rules import Rule
from models.alerts.state import AlertState, Transition
from models.db import Store
from models.tenancy import tenant_params, utc

__all__ = [
    "alert_labels",
    "history",
    "load_states",
    "record_transitions",
    "save_states",
    "tenant_of",
]

_STATE_COLUMNS = [
    "rule",
    "fingerprint",
    "group_labels",
    "state",
    "value",
    "since",
    "pending_since",
    "fired_at",
    "last_breach",
    "evaluated_at",
    "error",
]
_HISTORY_COLUMNS = [
    "at",
    "rule",
    "rule_version",
    "fingerprint",
    "tenant",
    "group_labels",
    "labels",
    "before",
    "after",
    "value",
    "error",
]


def _naive(moment: datetime | None) -> datetime | None:
    return None if moment is None else utc(moment)


def load_states(store: Store) -> dict[str, AlertState]:
    """Fingerprint -> the latest state of that group."""
    states: dict[str, AlertState] = {}
    for row in store.query("alerts/states"):
        states[str(row["fingerprint"])] = AlertState(
            rule=str(row["rule"]),
            fingerprint=str(row["fingerprint"]),
            group=dict(row["group_labels"]),
            state=str(row["state"]),
            value=row["value"],
            since=row["since"],
            pending_since=row["pending_since"],
            fired_at=row["fired_at"],
            last_breach=row["last_breach"],
            evaluated_at=row["evaluated_at"],
            error=str(row["error"]),
        )
    return states


def save_states(store: Store, states: Iterable[AlertState]) -> None:
    """Write the groups' new states (the latest evaluation wins on read)."""
    rows = [
        [
            s.rule,
            s.fingerprint,
            dict(s.group),
            s.state,
            s.value,
            _naive(s.since),
            _naive(s.pending_since),
            _naive(s.fired_at),
            _naive(s.last_breach),
            _naive(s.evaluated_at),
            s.error,
        ]
        for s in states
    ]
    if rows:
        store.insert("alert_state", rows, _STATE_COLUMNS)


def tenant_of(rule: Rule, group: Mapping[str, str]) -> str:
    """The tenant an alert belongs to: its group's, its rule's filter, or '' (every tenant)."""
    return group.get("tenant") or rule.filters.get("tenant", "")


def alert_labels(rule: Rule, group: Mapping[str, str]) -> dict[str, str]:
    """Alertmanager labels: alertname, severity, the rule's labels and filters, the group."""
    labels = {"alertname": rule.name, "severity": rule.severity}
    labels.update({k: v for k, v in rule.filters.items()})
    labels.update(rule.labels)
    labels.update(group)
    return labels


def record_transitions(
    store: Store, rules: Mapping[str, Rule], transitions: Sequence[Transition]
) -> None:
    """Append state changes to the history."""
    rows: list[list[Any]] = []
    for t in transitions:
        rule = rules[t.rule]
        rows.append(
            [
                utc(t.at),
                t.rule,
                t.rule_version,
                t.fingerprint,
                tenant_of(rule, t.group),
                dict(t.group),
                alert_labels(rule, t.group),
                t.before,
                t.after,
                t.value,
                t.error,
            ]
        )
    if rows:
        store.insert("alert_history", rows, _HISTORY_COLUMNS)


def history(
    store: Store,
    *,
    start: datetime,
    rule: str = "",
    limit: int = 500,
    tenants: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """State changes the reader may see since ``start``, newest first."""
    return store.query(
        "alerts/history", rule=rule, start=utc(start), limit=limit, **tenant_params(tenants)
    )
