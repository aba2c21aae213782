"""Operations: DLQ with redacted payloads, audited replay behind the role gate, approvals."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from app.users import add_user
from collectors.wal import WriteAheadLog
from orchestrator.api import OrchestratorAPI
from orchestrator.store import OrchestratorStore
from tests.app.conftest import MAIN, open_app, texts
from tests.app.seed import EngineWorld


def _api(tmp_path: Path) -> OrchestratorAPI:
    return OrchestratorAPI(OrchestratorStore(f"sqlite:///{tmp_path / 'data' / 'orchestrator.db'}"))


def test_dead_letters_show_with_a_redacted_payload(engine_world: EngineWorld) -> None:
    app = open_app("operations")
    assert not app.exception
    letters = app.dataframe[0].value
    assert sorted(letters["id"]) == sorted([engine_world.dead_letter_a, engine_world.dead_letter_b])
    chooser = next(s for s in app.selectbox if s.label == "Inspect a dead letter")
    chooser.select(engine_world.dead_letter_a).run()
    payload = next(j for j in app.json if "customer_email" in str(j.value))
    assert "ann@example.com" not in str(payload.value)
    assert "redacted" in str(payload.value)


def test_replay_needs_a_reason_and_a_confirmation_then_is_audited(
    engine_world: EngineWorld, tmp_path: Path
) -> None:
    app = open_app("operations")
    chooser = next(s for s in app.selectbox if s.label == "Inspect a dead letter")
    chooser.select(engine_world.dead_letter_a).run()
    replay = next(b for b in app.button if b.label == "Replay")
    replay.click().run()
    assert "needs a reason" in app.error[0].value
    app.text_area(key="replay_reason").input("payments API is back")
    next(b for b in app.button if b.label == "Replay").click().run()
    assert "confirm the replay first" in app.error[0].value
    assert _api(tmp_path).audit_log() == []  # refused before anything happened
    app.text_area(key="replay_reason").input("payments API is back")
    app.checkbox(key="replay_confirm").check()
    next(b for b in app.button if b.label == "Replay").click().run()
    assert not app.exception
    assert f"Dead letter #{engine_world.dead_letter_a} replayed" in texts(app)
    assert "did not reach the receiver" in app.warning[0].value  # nothing listens in tests
    audit = _api(tmp_path).audit_log()
    assert [(a["actor"], a["action"], a["reason"]) for a in audit] == [
        ("local", "dlq.replay", "payments API is back")
    ]


@pytest.fixture
def engineer_of_b(
    engine_world: EngineWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AppTest:
    path = tmp_path / "users.toml"
    add_user(path, "bea", "engineer", "bea-password", tenants=("tenant-b",))
    monkeypatch.setenv("FLOWMETER_USERS_FILE", str(path))
    st.cache_resource.clear()
    app = AppTest.from_file(MAIN, default_timeout=60).run()
    app.text_input[0].input("bea")
    app.text_input[1].input("bea-password")
    app.button[0].click().run()
    return app.switch_page("views/operations.py").run()


def test_a_tenant_limited_engineer_sees_only_their_dead_letters(
    engineer_of_b: AppTest, engine_world: EngineWorld
) -> None:
    app = engineer_of_b
    assert not app.exception
    assert list(app.dataframe[0].value["id"]) == [engine_world.dead_letter_b]
    assert "corr-dead-1" not in texts(app)
    waiting = [s for s in app.selectbox if s.label == "Decide on"]
    assert not waiting  # the waiting approval belongs to tenant-a
    assert "Ingest quarantine" not in [t.label for t in app.tabs]  # every tenant's data
    assert "Storage" not in [t.label for t in app.tabs]


def test_approve_a_waiting_run_is_audited(engine_world: EngineWorld, tmp_path: Path) -> None:
    app = open_app("operations")
    app.text_input(key="decision_reason").input("within budget")
    next(b for b in app.button if b.label == "Approve").click().run()
    assert not app.exception
    assert f"Approved manager of run {engine_world.waiting_run}" in texts(app)
    assert _api(tmp_path).audit_log()[0]["action"] == "approval.approved"


def test_no_dead_letters(world: object) -> None:
    app = open_app("operations")
    assert not app.exception
    assert "No dead letters match" in texts(app)


def test_quarantined_ingest_segments_are_listed_with_their_reason(
    world: object, tmp_path: Path
) -> None:
    app = open_app("operations")
    assert "Ingest quarantine" in [t.label for t in app.tabs]  # a reader of every tenant
    assert "No ingest segment is quarantined" in texts(app)
    wal = WriteAheadLog(tmp_path / "data" / "wal" / "logs")
    wal.append(b"\x0a\x00", 1)
    segment = wal.seal()
    assert segment is not None
    wal.quarantine(segment.path, "3 attempts: Code: 469. Constraint violated (VIOLATED_CONSTRAINT)")
    wal.close()
    app = open_app("operations")
    assert not app.exception
    table = next(d.value for d in app.dataframe if "segment" in d.value.columns)
    assert list(table["segment"]) == [segment.path.name]
    assert list(table["signal"]) == ["logs"]
    assert "VIOLATED_CONSTRAINT" in table["reason"].iloc[0]
    assert "1 WAL segment(s)" in texts(app)


def test_storage_shows_retention_and_size_per_table(world: object) -> None:
    app = open_app("operations")
    assert not app.exception
    assert "Storage" in [t.label for t in app.tabs]
    table = next(d.value for d in app.dataframe if "keeps" in d.value.columns)
    keeps = dict(zip(table["table"], table["keeps"], strict=True))
    assert keeps["otel_traces"] == "30 days" and keeps["business_events"] == "forever"
    traces = table[table["table"] == "otel_traces"].iloc[0]
    assert int(traces["rows"]) > 0 and traces["size"].endswith("iB")
    # The seeded store was migrated, never started: its TTLs still differ from the setting.
    warning = next(w.value for w in app.warning if "Retention differs" in w.value)
    assert "otel_traces" in warning and "business_events" not in warning
    assert any(p.text.startswith("Disk `") for p in app.get("progress"))
