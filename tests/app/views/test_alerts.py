"""The Alerts page: firing alerts, rules with their last value, tenant scope, and silences
gated by role (button and server side) with a mandatory reason."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.access import Role, User
from app.actions import silence_alert
from app.alerts.service import AlertService
from app.users import add_user
from models.alerts.history import load_states
from models.alerts.measures import MEASURES
from models.alerts.rules import parse_rules
from models.alerts.silences import silences
from models.db import Store
from models.errors import PermissionDeniedError
from models.settings import load_settings
from tests.app.conftest import MAIN, open_app, texts, use_store
from tests.builders import run

RULES = """
[[rule]]
name = "dead letters per tenant"
measure = "dead_letters_added"
window = "15m"
condition = "> 0"
group_by = ["tenant"]

[[rule]]
name = "platform dead letters"
measure = "dead_letters_added"
window = "15m"
condition = "> 0"
group_by = ["workflow"]
"""


@pytest.fixture
def alerting(store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """Dead letters of tenant-a (invoice) and tenant-b (refund), evaluated: four alerts fire,
    two per tenant, two platform-wide (grouped by workflow)."""
    rules_file = tmp_path / "rules.toml"
    rules_file.write_text(RULES, encoding="utf-8")
    now = datetime.now(UTC)
    run(store, (now - timedelta(minutes=5)).replace(tzinfo=None), "invoice", tenant="tenant-a",
        outcome="dead_lettered")  # fmt: skip
    run(store, (now - timedelta(minutes=5)).replace(tzinfo=None), "refund", tenant="tenant-b",
        outcome="dead_lettered")  # fmt: skip
    settings = load_settings({"FLOWMETER_ALERT_RULES_FILE": str(rules_file)})
    AlertService(settings, store, parse_rules(RULES, MEASURES)).evaluate(now)
    monkeypatch.setenv("FLOWMETER_DATA_DIR", str(tmp_path / "data"))
    for handle in use_store(store, monkeypatch):
        monkeypatch.setenv("FLOWMETER_ALERT_RULES_FILE", str(rules_file))
        yield handle


def _sign_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, role: str,
             tenants: tuple[str, ...] = ()) -> AppTest:  # fmt: skip
    path = tmp_path / "users.toml"
    add_user(path, "pat", role, "pat-password", tenants=tenants)
    monkeypatch.setenv("FLOWMETER_USERS_FILE", str(path))
    st.cache_resource.clear()
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    app.text_input[0].input("pat")
    app.text_input[1].input("pat-password")
    app.button[0].click().run()
    return app.switch_page("views/alerts.py").run()


def _table(app: AppTest, column: str) -> pd.DataFrame:
    """The first table on the page with this column."""
    return next(d.value for d in app.dataframe if column in d.value.columns)


def _button(app: AppTest, label: str):  # type: ignore[no-untyped-def]
    return next(b for b in app.button if b.label == label)


def test_firing_alerts_and_each_rules_last_value_show(alerting: Store) -> None:
    app = open_app("alerts")
    assert not app.exception
    assert "Firing: 4" in texts(app)
    firing = _table(app, "silenced_until")
    assert sorted(zip(firing["rule"], firing["group"], firing["tenant"], strict=True)) == [
        ("dead letters per tenant", "tenant=tenant-a", "tenant-a"),
        ("dead letters per tenant", "tenant=tenant-b", "tenant-b"),
        ("platform dead letters", "workflow=invoice", "(platform-wide)"),
        ("platform dead letters", "workflow=refund", "(platform-wide)"),
    ]  # fmt: skip
    assert list(firing["value"]) == [1.0, 1.0, 1.0, 1.0]
    rules = _table(app, "measure")
    assert set(rules["rule"]) == {"dead letters per tenant", "platform dead letters"}
    assert set(rules["state"]) == {"firing"} and rules["evaluated_at"].notna().all()
    history = _table(app, "before")
    assert set(zip(history["before"], history["after"], strict=True)) == {("inactive", "firing")}


def test_a_tenant_user_sees_only_their_tenants_alerts(
    alerting: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _sign_in(tmp_path, monkeypatch, "engineer", ("tenant-a",))
    assert not app.exception
    assert "Firing: 1" in texts(app)
    shown = "\n".join([texts(app), *(d.value.to_csv() for d in app.dataframe),
                       *(str(s.options) for s in app.selectbox)])  # fmt: skip
    assert "tenant=tenant-a" in shown
    for leak in ("tenant-b", "platform", "workflow=invoice", "refund"):
        assert leak not in shown, leak


def test_an_executive_cannot_silence(
    alerting: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = _sign_in(tmp_path, monkeypatch, "executive")
    assert not app.exception
    assert "Firing: 4" in texts(app)  # every role reads alerts
    assert _button(app, "Save").disabled
    assert _button(app, "Send a test notification").disabled
    assert "engineers and admins silence" in texts(app)
    # The button is a courtesy: the action itself refuses.
    fingerprint = next(iter(load_states(alerting)))
    with pytest.raises(PermissionDeniedError, match="may not alert silence"):
        silence_alert(alerting, User("pat", Role.EXECUTIVE), {}, fingerprint, "silence", "why",
                      timedelta(hours=1))  # fmt: skip
    now = datetime.now(UTC)
    assert silences(alerting, start=now - timedelta(days=1), now=now) == []


def test_silencing_needs_a_reason_then_shows_who_why_and_until(alerting: Store) -> None:
    app = open_app("alerts")
    _button(app, "Save").click().run()
    assert not app.exception
    assert any("needs a reason" in e.value for e in app.error)
    now = datetime.now(UTC)
    assert silences(alerting, start=now - timedelta(days=1), now=now) == []  # nothing written

    app.text_area(key="silence_reason").input("fix deploying, ticket OPS-12")
    next(s for s in app.selectbox if s.label == "For").select("4 hours")
    _button(app, "Save").click().run()
    assert not app.exception
    assert any("silenced by local until" in s.value for s in app.success)
    log = _table(app, "reason")
    assert list(zip(log["kind"], log["actor"], log["reason"], log["in_force"], strict=True)) == [
        ("silence", "local", "fix deploying, ticket OPS-12", True),
    ]  # fmt: skip
    assert pd.Timestamp(log["until"].iloc[0]) - pd.Timestamp(log["at"].iloc[0]) == timedelta(
        hours=4
    )
    firing = _table(app, "silenced_until")
    assert firing["silenced_until"].notna().sum() == 1


def test_without_rules_or_alerts_the_page_says_how_to_start(current: Store) -> None:
    app = open_app("alerts")
    assert not app.exception
    assert "Nothing is firing." in texts(app)
    assert any("FLOWMETER_ALERT_RULES_FILE" in i.value for i in app.info)
