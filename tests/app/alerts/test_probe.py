""" "Send a test notification": one test alert through every configured channel, each outcome
reported; a channel that is down fails alone. Real Alertmanager, webhook sinks, SMTP server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from app.access import Role, User
from app.actions import send_test_alert
from app.alerts.probe import TEST_ALERTNAME, send_test_notification
from app.delivery import DeliveryLog
from models.db import Store
from models.errors import PermissionDeniedError
from models.settings import load_settings
from tests.app.alerts.conftest import Alertmanager
from tests.conftest import free_port
from tests.sinks import smtp_server, webhook_sink


def test_every_channel_gets_the_test_alert(
    store: Store, alertmanager: Alertmanager, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with (
        webhook_sink() as hook,
        webhook_sink() as slack,
        smtp_server(tmp_path) as (smtp_url, mailbox, cert),
    ):
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        settings = load_settings({
            "FLOWMETER_DASHBOARD_URL": "https://fm.example.com",
            "FLOWMETER_ALERTMANAGER_URL": alertmanager.url,
            "FLOWMETER_ALERT_WEBHOOK_URL": hook.url,
            "FLOWMETER_ALERT_SLACK_URL": slack.url,
            "FLOWMETER_SMTP_URL": smtp_url,
            "FLOWMETER_ALERT_EMAIL_TO": "oncall@example.com",
        })  # fmt: skip
        before = datetime.now(UTC)
        outcomes = send_test_alert(settings, store, User("erin", Role.ENGINEER))
        assert sorted((o.channel, o.status) for o in outcomes) == [
            ("alertmanager", "sent"), ("email", "sent"), ("slack", "sent"), ("webhook", "sent"),
        ]  # fmt: skip
        [alert] = alertmanager.wait_for(lambda alerts: len(alerts) == 1)
        assert alert["labels"] == {"alertname": TEST_ALERTNAME, "severity": "info", "test": "true"}
        assert "sent by erin" in alert["annotations"]["summary"]
        ends = datetime.fromisoformat(alert["endsAt"].replace("Z", "+00:00"))
        assert before + timedelta(minutes=4) < ends <= datetime.now(UTC) + timedelta(minutes=5)
        assert alert["generatorURL"] == "https://fm.example.com/alerts"
        [(_, payload)] = hook.received
        assert (payload["version"], payload["status"]) == ("4", "firing")
        assert payload["alerts"][0]["labels"]["alertname"] == TEST_ALERTNAME
        [(_, message)] = slack.received
        assert "Test notification from Flowmeter" in message["text"]
        [mail] = mailbox.wait_for(1)
        assert mail["Subject"] == f"[FIRING] {TEST_ALERTNAME}"
    logged = {(r["channel"], r["status"]) for r in DeliveryLog(store).recent()}
    assert logged == {("alertmanager", "sent"), ("email", "sent"), ("slack", "sent"),
                      ("webhook", "sent")}  # fmt: skip


def test_a_channel_down_fails_alone_and_says_why(store: Store) -> None:
    with webhook_sink() as hook:
        dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
        settings = load_settings({"FLOWMETER_ALERTMANAGER_URL": dead,
                                  "FLOWMETER_ALERT_WEBHOOK_URL": hook.url})  # fmt: skip
        outcomes = send_test_notification(settings, store, "erin", sleep=lambda _: None)
        by_channel = {o.channel: o for o in outcomes}
        assert by_channel["webhook"].status == "sent"
        assert by_channel["alertmanager"].status == "failed"
        assert by_channel["alertmanager"].attempts == 2
        assert by_channel["alertmanager"].error  # the reason is shown on the page
        assert len(hook.received) == 1


def test_nothing_configured_sends_nothing_and_only_engineers_and_admins_may(store: Store) -> None:
    assert send_test_notification(load_settings({}), store, "erin") == []
    for role in (Role.EXECUTIVE, Role.FINANCE):
        with pytest.raises(PermissionDeniedError, match="may not alert test"):
            send_test_alert(load_settings({}), store, User("x", role))
