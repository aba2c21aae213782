"""Alert evaluation end to end: a real Alertmanager, a webhook sink, an SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.alerts.service import AlertService
from models.alerts.history import history, load_states
from models.alerts.measures import MEASURES
from models.alerts.rules import parse_rules
from models.db import Store
from models.settings import load_settings
from tests.app.alerts.conftest import Alertmanager
from tests.builders import run
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
    run(store, at.replace(tzinfo=None), workflow, tenant="acme", outcome="dead_lettered")


def _service(store: Store, **env: str) -> AlertService:
    settings = load_settings({"FLOWMETER_DASHBOARD_URL": "https://fm.example.com", **env})
    return AlertService(settings, store, parse_rules(RULES, MEASURES), sleep=lambda _: None)


def test_a_dead_letter_fires_in_alertmanager_with_a_link_back_and_resolves(
    store: Store, alertmanager: Alertmanager
) -> None:
    _dead_letter(store, NOW - timedelta(minutes=5))
    service = _service(store, FLOWMETER_ALERTMANAGER_URL=alertmanager.url)
    [transition] = service.evaluate(NOW)
    assert (transition.before, transition.after, transition.value) == ("inactive", "firing", 1.0)
    [alert] = alertmanager.wait_for(lambda alerts: len(alerts) == 1)
    assert alert["labels"] == {"alertname": "dead letters", "severity": "page",
                               "team": "billing", "workflow": "invoice"}  # fmt: skip
    assert alert["annotations"]["summary"] == "1 dead letter(s) in invoice"
    assert alert["annotations"]["runbook_url"] == "https://runbooks.example.com/dlq"
    assert alert["generatorURL"] == (
        "https://fm.example.com/health?from=2026-12-02&to=2026-12-02&workflow=invoice"
    )
    assert alert["status"]["state"] == "active"

    # A restart: the new evaluator loads the state, re-sends the firing alert, records nothing.
    again = _service(store, FLOWMETER_ALERTMANAGER_URL=alertmanager.url)
    assert again.evaluate(NOW + timedelta(minutes=1)) == []
    assert len(alertmanager.alerts()) == 1

    # Twenty minutes later the dead letter is out of the window: resolved, endsAt now.
    [resolved] = again.evaluate(NOW + timedelta(minutes=21))
    assert (resolved.before, resolved.after) == ("firing", "resolved")
    alertmanager.wait_for(lambda alerts: alerts == [])
    changes = history(store, start=NOW - timedelta(hours=1))
    assert [(h["before"], h["after"]) for h in changes] == [
        ("firing", "resolved"), ("inactive", "firing"),
    ]  # fmt: skip
    assert {h["tenant"] for h in changes} == {""}  # grouped by workflow: platform-wide
    assert history(store, start=NOW - timedelta(hours=1), tenants=["acme"]) == []


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
