"""Silences stop every notification of one alert (Alertmanager included) while they last;
state and history still move. Acknowledgements stop nothing. Actions are role/tenant-gated."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from app.access import Role, User
from app.actions import silence_alert
from app.alerts.service import AlertService
from models.alerts.history import history, load_states
from models.alerts.measures import MEASURES
from models.alerts.rules import parse_rules
from models.alerts.silences import silenced, silences
from models.db import Store
from models.errors import NotFoundError, PermissionDeniedError
from models.settings import load_settings
from tests.app.alerts.conftest import Alertmanager
from tests.builders import run
from tests.sinks import webhook_sink

RULES = """
[[rule]]
name = "dead letters"
measure = "dead_letters_added"
window = "15m"
condition = "> 0"
group_by = ["workflow"]

[[rule]]
name = "acme dead letters"
measure = "dead_letters_added"
window = "15m"
condition = "> 0"
group_by = ["tenant"]
"""
ENGINEER = User("erin", Role.ENGINEER)


def _service(store: Store, **env: str) -> AlertService:
    settings = load_settings({"FLOWMETER_DASHBOARD_URL": "https://fm.example.com", **env})
    return AlertService(settings, store, parse_rules(RULES, MEASURES), sleep=lambda _: None)


def _dead_letters(store: Store, at: datetime) -> None:
    for workflow in ("invoice", "orders"):
        run(store, at.replace(tzinfo=None), workflow, tenant="acme", outcome="dead_lettered")


def _fingerprint(store: Store, rule: str, **group: str) -> str:
    return next(
        s.fingerprint for s in load_states(store).values() if s.rule == rule and s.group == group
    )


def _by_workflow(alerts: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {a["labels"]["workflow"]: a for a in alerts if "workflow" in a["labels"]}


def test_a_silenced_alert_reaches_no_channel_while_its_state_moves(
    store: Store, alertmanager: Alertmanager
) -> None:
    now = datetime.now(UTC)  # Alertmanager keeps real time
    _dead_letters(store, now - timedelta(minutes=5))
    with webhook_sink() as hook:
        service = _service(store, FLOWMETER_ALERTMANAGER_URL=alertmanager.url,
                           FLOWMETER_ALERT_WEBHOOK_URL=hook.url)  # fmt: skip
        service.evaluate(now)
        assert service.flush(30)
        first = _by_workflow(alertmanager.wait_for(lambda a: len(_by_workflow(a)) == 2))
        assert len(hook.received) == 3  # invoice, orders, acme: each told once

        rules = {r.name: r for r in service.rules}
        invoice = _fingerprint(store, "dead letters", workflow="invoice")
        done = silence_alert(store, ENGINEER, rules, invoice, "silence", "known, fix deploying",
                             timedelta(hours=1))  # fmt: skip
        assert (done.tenant, done.actor) == ("", "erin")  # grouped by workflow: platform-wide
        assert set(silenced(store, datetime.now(UTC))) == {invoice}

        # The dead letters' spans are gone (retention, say): every group resolves.
        for table in ("otel_traces", "span_stats_1m", "span_stats_1h", "span_stats_1d"):
            store.ddl(f"TRUNCATE TABLE {table}")
        changed = service.evaluate(datetime.now(UTC), force=True)
        assert service.flush(30)
        assert sorted((t.group.get("workflow", ""), t.after) for t in changed) == [
            ("", "resolved"), ("invoice", "resolved"), ("orders", "resolved"),
        ]  # fmt: skip
        # orders was told it resolved (Alertmanager drops it): the push happened ...
        remaining = _by_workflow(alertmanager.wait_for(lambda a: "orders" not in _by_workflow(a)))
        # ... and held nothing for the silenced invoice alert: still the first push's alert.
        assert list(remaining) == ["invoice"]
        assert remaining["invoice"]["endsAt"] == first["invoice"]["endsAt"]
        assert remaining["invoice"]["updatedAt"] == first["invoice"]["updatedAt"]
        told = [(p["alerts"][0]["labels"].get("workflow", ""), p["status"])
                for _, p in hook.received[3:]]  # fmt: skip
        assert sorted(told) == [("", "resolved"), ("orders", "resolved")]
    # The state and the history moved for the silenced alert as for the others.
    assert load_states(store)[invoice].state == "resolved"
    moves = [(h["after"]) for h in history(store, start=now - timedelta(hours=1),
                                           rule="dead letters") if h["fingerprint"] == invoice]  # fmt: skip
    assert moves == ["resolved", "firing"]


def test_an_acknowledgement_stops_no_notification(store: Store) -> None:
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    _dead_letters(store, now - timedelta(minutes=5))
    service = _service(store)
    service.evaluate(now)
    rules = {r.name: r for r in service.rules}
    fp = _fingerprint(store, "acme dead letters", tenant="acme")
    silence_alert(store, ENGINEER, rules, fp, "ack", "looking", timedelta(hours=4), now=now)
    assert silenced(store, now) == {}
    [row] = silences(store, start=now - timedelta(hours=1), now=now, tenants=["acme"])
    assert (row["kind"], row["actor"], row["reason"], row["tenant"]) == (
        "ack",
        "erin",
        "looking",
        "acme",
    )
    assert row["until"].replace(tzinfo=None) == (now + timedelta(hours=4)).replace(tzinfo=None)


def test_silencing_is_refused_without_role_reason_tenant_or_alert(store: Store) -> None:
    now = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    _dead_letters(store, now - timedelta(minutes=5))
    service = _service(store)
    service.evaluate(now)
    rules = {r.name: r for r in service.rules}
    platform = _fingerprint(store, "dead letters", workflow="invoice")
    acme = _fingerprint(store, "acme dead letters", tenant="acme")
    hour = timedelta(hours=1)
    for role in (Role.EXECUTIVE, Role.FINANCE):
        with pytest.raises(PermissionDeniedError, match="may not alert silence"):
            silence_alert(store, User("x", role), rules, acme, "silence", "why", hour)
    with pytest.raises(ValueError, match="needs a reason"):
        silence_alert(store, ENGINEER, rules, acme, "silence", "   ", hour)
    with pytest.raises(ValueError, match="kind is one of silence, ack"):
        silence_alert(store, ENGINEER, rules, acme, "mute", "why", hour)
    with pytest.raises(NotFoundError, match="no alert with fingerprint"):
        silence_alert(store, ENGINEER, rules, "0" * 16, "silence", "why", hour)
    other = User("bo", Role.ENGINEER, ("globex",))
    with pytest.raises(PermissionDeniedError, match="may not act on tenant 'acme'"):
        silence_alert(store, other, rules, acme, "silence", "why", hour)
    own = User("al", Role.ENGINEER, ("acme",))
    with pytest.raises(PermissionDeniedError, match="platform-wide"):
        silence_alert(store, own, rules, platform, "silence", "why", hour)
    assert silences(store, start=now - hour, now=now) == []  # nothing was written
    silence_alert(store, own, rules, acme, "silence", "on it", hour, now=now)
    assert set(silenced(store, now)) == {acme}
    assert silenced(store, now + 2 * hour) == {}  # a silence ends by itself
