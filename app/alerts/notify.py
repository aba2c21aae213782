"""What an alert looks like to its receivers: Alertmanager API v2 alerts, the Alertmanager
webhook v4 payload (unchanged, for generic webhook receivers), Slack text and e-mail."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from jinja2.sandbox import SandboxedEnvironment

from models.alerts.evaluate import window_of
from models.alerts.history import alert_labels
from models.alerts.rules import Rule
from models.alerts.state import AlertState

__all__ = [
    "AlertView",
    "alert_labels",
    "alertmanager_alert",
    "slack_payload",
    "view_of",
    "webhook_v4",
]

_ZERO = "0001-01-01T00:00:00Z"
# The dashboard page an alert links to (System Health unless the measure is about money).
PAGES = {
    "budget_burn": "costs",
    "net_savings": "roi",
    "roi_percent": "roi",
    "savings_drift_percent": "roi",
    "cost_per_transaction_vs_baseline": "roi",
    "kpi_events": "roi",
    "kpi_amount": "roi",
}
_TEMPLATES = SandboxedEnvironment(autoescape=False)


def _rfc3339(moment: datetime) -> str:
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class AlertView:
    """One alert as receivers see it."""

    status: str  # firing | resolved
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str

    @property
    def fingerprint(self) -> str:
        """Alertmanager-style: a hash of the label set."""
        text = "\x00".join(f"{k}={v}" for k, v in sorted(self.labels.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _render(template: str, values: Mapping[str, Any]) -> str:
    try:
        return _TEMPLATES.from_string(template).render(**values)
    except Exception as exc:  # a bad template shows itself, it never stops the alert
        return f"{template} (template error: {exc})"


def generator_url(dashboard_url: str, rule: Rule, group: Mapping[str, str], now: datetime) -> str:
    """A link that opens the alert's page on its workflow, tenant and period."""
    if not dashboard_url:
        return ""
    start, end = window_of(rule, now)
    params = {"from": start.date().isoformat(), "to": end.date().isoformat()}
    page = PAGES.get(rule.measure, "health")
    for key in ("workflow", "tenant", "product_line"):
        value = group.get(key) or rule.filters.get(key)
        if value:
            params[key] = value
    return f"{dashboard_url.rstrip('/')}/{page}?{urlencode(params)}"


def view_of(
    rule: Rule,
    state: AlertState,
    now: datetime,
    *,
    dashboard_url: str = "",
    context: Mapping[str, str] | None = None,
) -> AlertView:
    """The alert of a firing (or just resolved) group."""
    labels = alert_labels(rule, state.group)
    value = "" if state.value is None else f"{state.value:.6g}"
    values = {**labels, "value": value, "rule": rule.name}
    annotations = {k: _render(v, values) for k, v in rule.annotations.items()}
    annotations.setdefault(
        "summary", f"{rule.name}: {rule.measure} {rule.condition} (now {value or 'no data'})"
    )
    annotations["value"] = value
    if rule.runbook_url:
        annotations["runbook_url"] = rule.runbook_url
    annotations.update(context or {})
    resolved = state.state == "resolved"
    # A firing alert ends by itself after three missed evaluations: a dead evaluator must not
    # leave it firing forever in Alertmanager.
    ends = now if resolved else now + 3 * max(rule.interval, timedelta(seconds=30))
    return AlertView(
        status="resolved" if resolved else "firing",
        labels=labels,
        annotations=annotations,
        starts_at=state.fired_at or state.since or now,
        ends_at=ends,
        generator_url=generator_url(dashboard_url, rule, state.group, now),
    )


def alertmanager_alert(view: AlertView) -> dict[str, Any]:
    """One element of ``POST /api/v2/alerts``."""
    alert: dict[str, Any] = {
        "labels": view.labels,
        "annotations": view.annotations,
        "startsAt": _rfc3339(view.starts_at),
        "generatorURL": view.generator_url,
    }
    if view.ends_at is not None:
        alert["endsAt"] = _rfc3339(view.ends_at)
    return alert


def webhook_v4(views: Sequence[AlertView], *, receiver: str, external_url: str) -> dict[str, Any]:
    """Alertmanager's webhook payload, version 4, exactly as Alertmanager sends it."""
    common_labels = dict(set.intersection(*(set(v.labels.items()) for v in views))) if views else {}
    common_annotations = (
        dict(set.intersection(*(set(v.annotations.items()) for v in views))) if views else {}
    )
    group_labels = {"alertname": common_labels["alertname"]} if "alertname" in common_labels else {}
    firing = any(v.status == "firing" for v in views)
    return {
        "version": "4",
        "groupKey": "{}:{" + ",".join(f'{k}="{v}"' for k, v in sorted(group_labels.items())) + "}",
        "truncatedAlerts": 0,
        "status": "firing" if firing else "resolved",
        "receiver": receiver,
        "groupLabels": group_labels,
        "commonLabels": common_labels,
        "commonAnnotations": common_annotations,
        "externalURL": external_url,
        "alerts": [
            {
                "status": v.status,
                "labels": v.labels,
                "annotations": v.annotations,
                "startsAt": _rfc3339(v.starts_at),
                "endsAt": _rfc3339(v.ends_at) if v.status == "resolved" and v.ends_at else _ZERO,
                "generatorURL": v.generator_url,
                "fingerprint": v.fingerprint,
            }
            for v in views
        ],
    }


def slack_payload(views: Sequence[AlertView]) -> dict[str, Any]:
    """A Slack-compatible incoming-webhook message (``text`` with mrkdwn links)."""
    lines = []
    for v in views:
        mark = ":red_circle:" if v.status == "firing" else ":large_green_circle:"
        link = f" <{v.generator_url}|open>" if v.generator_url else ""
        lines.append(f"{mark} *{v.status.upper()}* {v.annotations.get('summary', '')}{link}")
    return {"text": "\n".join(lines)}


def email_text(views: Sequence[AlertView]) -> str:
    """The plain-text body of an alert e-mail."""
    blocks = []
    for v in views:
        lines = [f"[{v.status.upper()}] {v.annotations.get('summary', '')}"]
        lines += [f"  {k}: {val}" for k, val in sorted(v.labels.items())]
        lines += [f"  {k}: {val}" for k, val in sorted(v.annotations.items()) if k != "summary"]
        if v.generator_url:
            lines.append(f"  dashboard: {v.generator_url}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"
