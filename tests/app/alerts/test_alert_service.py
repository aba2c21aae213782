"""Alert evaluation end to end: a real Alertmanager, a webhook sink, an SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from app.alerts.service import AlertService
from models.alerts.evaluate import window_of
from models.alerts.history import history, load_states
from models.alerts.measures import MEASURES
from models.alerts.rules import parse_rules
from models.db import Store
from models.settings import load_settings
from tests.app.alerts.conftest import Alertmanager
from tests.builders import kpi_event, run
from tests.sinks import smtp_server, webhook_sink

RULES = """
[[rule]]
name = "dead letters"
measure = "dead_letters_added"
window = "15m"
condition = "> 0"
group_by = ["workflow"]
severity = "page"
labels = { team = "billing" }
annotations = { summary = "{{ value }} dead letter(s) in {{ workflow }}" }
runbook_url = "https://runbooks.example.com/dlq"
"""
NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _dead_letter(store: Store, at: datetime, workflow: str = "invoice") -> None:
    """A dead-lettered run whose invoice (EUR 2,500) is what is at risk."""
    moment = at.replace(tzinfo=None)
    run(store, moment, workflow, tenant="acme", outcome="dead_lettered",
        correlation="inv-dead-1", entity="INV-1")  # fmt: skip
    kpi_event(store, moment, "invoice_received", amount=Decimal("2500.00"), currency="EUR",
              workflow=workflow, correlation="inv-dead-1", entity="INV-1")  # fmt: skip


def _service(store: Store, **env: str) -> AlertService:
    settings = load_settings({"FLOWMETER_DASHBOARD_URL": "https://fm.example.com", **env})
    return AlertService(settings, store, parse_rules(RULES, MEASURES), sleep=lambda _: None)


def test_a_dead_letter_fires_in_alertmanager_with_a_link_back_and_resolves(
    store: Store, alertmanager: Alertmanager
) -> None:
    # Alertmanager keeps real time (endsAt), so this test evaluates at the real now.
    now = datetime.now(UTC)
    _dead_letter(store, now - timedelta(minutes=5))
    service = _service(store, FLOWMETER_ALERTMANAGER_URL=alertmanager.url)
    [transition] = service.evaluate(now)
    assert (transition.before, transition.after, transition.value) == ("inactive", "firing", 1.0)
    [alert] = alertmanager.wait_for(lambda alerts: len(alerts) == 1)
    assert alert["labels"] == {"alertname": "dead letters", "severity": "page",
                               "team": "billing", "workflow": "invoice"}  # fmt: skip
    assert alert["annotations"]["summary"] == "1 dead letter(s) in invoice"
    assert alert["annotations"]["runbook_url"] == "https://runbooks.example.com/dlq"
    start, end = window_of(service.rules[0], now)
    assert alert["generatorURL"] == (
        f"https://fm.example.com/health?from={start.date()}&to={end.date()}&workflow=invoice"
    )
    assert alert["status"]["state"] == "active"
    # Business context: the runs behind it, the money on them, examples to open.
    notes = alert["annotations"]
    assert (notes["affected_runs"], notes["affected_entities"]) == ("1", "1")
    assert notes["money_at_risk"] == "EUR 2,500.00"
    assert notes["example_correlation_ids"] == "inv-dead-1"
    assert notes["example_links"] == "https://fm.example.com/traces?correlation=inv-dead-1"

    # A restart: the new evaluator loads the state, re-sends the firing alert, records nothing.
    again = _service(store, FLOWMETER_ALERTMANAGER_URL=alertmanager.url)
    assert again.evaluate(datetime.now(UTC), force=True) == []
    assert len(alertmanager.alerts()) == 1

    # The dead letter's spans are gone (retention, say): no data, so the alert resolves.
    for table in ("otel_traces", "span_stats_1m", "span_stats_1h", "span_stats_1d"):
        store.ddl(f"TRUNCATE TABLE {table}")
    [resolved] = again.evaluate(datetime.now(UTC), force=True)
    assert (resolved.before, resolved.after) == ("firing", "resolved")
    alertmanager.wait_for(lambda alerts: alerts == [])
    assert alertmanager.alerts() == []
    changes = history(store, start=now - timedelta(hours=1))
    assert [(h["before"], h["after"]) for h in changes] == [
        ("firing", "resolved"), ("inactive", "firing"),
    ]  # fmt: skip
    assert {h["tenant"] for h in changes} == {""}  # grouped by workflow: platform-wide
    assert history(store, start=now - timedelta(hours=1), tenants=["acme"]) == []


def test_direct_channels_get_the_v4_payload_and_email_once(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _dead_letter(store, NOW - timedelta(minutes=5))
    with webhook_sink() as hook, smtp_server(tmp_path) as (smtp_url, mailbox, cert):
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        hook.fail_next = 2  # the webhook is down, then up: retried, delivered once
        service = _service(store, FLOWMETER_ALERT_WEBHOOK_URL=hook.url,
                           FLOWMETER_SMTP_URL=smtp_url,
                           FLOWMETER_ALERT_EMAIL_TO="oncall@example.com")  # fmt: skip
        service.evaluate(NOW)
        assert service.flush(30)
        service.evaluate(NOW + timedelta(minutes=1))  # still firing: no second notification
        assert service.flush(30)
        [(headers, payload)] = hook.received
        assert payload["version"] == "4" and payload["status"] == "firing"
        assert payload["groupLabels"] == {"alertname": "dead letters"}
        [alert] = payload["alerts"]
        assert alert["labels"]["workflow"] == "invoice"
        assert alert["endsAt"] == "0001-01-01T00:00:00Z" and len(alert["fingerprint"]) == 16
        assert headers["Idempotency-Key"].startswith("alert:")
        [message] = mailbox.wait_for(1)
        assert message["Subject"] == "[FIRING] dead letters"
        assert "dashboard: https://fm.example.com/health?" in message.get_content()
    states = load_states(store)
    assert [s.state for s in states.values()] == ["firing"]
