"""``flowmeter dlq`` and ``flowmeter approve`` against a real SQLite state database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from app.cli import cli
from collectors.http_receiver import HttpReceiver
from collectors.pipeline import Pipeline
from models.correlation import drilldown
from models.db import Store
from models.settings import load_settings
from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.state import open_store
from tests.conftest import free_port
from tests.orchestrator import sample_flows


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("FLOWMETER_ORCHESTRATOR_DB_URL",):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLOWMETER_DATA_DIR", str(tmp_path))
    return tmp_path


def _engine(data_dir: Path) -> tuple[Engine, VirtualClock]:
    clock = VirtualClock(start=1_800_000_000.0)
    store = open_store(f"sqlite:///{(data_dir / 'orchestrator.db').resolve()}")
    return Engine(store, clock=clock, seed=3), clock


def _dead_letter(engine: Engine, clock: VirtualClock, correlation: str = "") -> tuple[str, str]:
    """A refund run whose payment step exhausts its retries: (run id, dead letter id)."""
    sample_flows.failures["pay_refund"] = 2
    run_id = engine.submit("refund_flow", {"id": "r9", "amount": 7}, tenant_id="acme",
                           correlation_id=correlation or None)  # fmt: skip
    engine.run_once("w")
    clock.advance(10)
    engine.run_once("w")
    letters = engine.store.rows("fm_dead_letters", equals={"run_id": run_id})
    return str(run_id), str(letters[0]["id"])


def test_a_replay_from_the_command_line_reaches_the_drilldown(
    data_dir: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CLI sends dlq.replayed to a token-protected receiver with the platform token, so
    the correlation drill-down lists it under the run's own tenant."""
    tokens = "t-acme=acme,t-platform=*"
    settings = load_settings(env={"FLOWMETER_INGEST_TOKENS": tokens}, batch_seconds=0.2,
                             data_dir=data_dir / "collector", redact_secret="k")  # fmt: skip
    pipeline = Pipeline(settings, store)
    pipeline.start()
    receiver = HttpReceiver(settings, pipeline, port=0)
    receiver.start()
    try:
        monkeypatch.setenv("FLOWMETER_OTLP_HTTP_PORT", str(receiver.port))
        monkeypatch.setenv("FLOWMETER_INGEST_TOKENS", tokens)
        engine, clock = _engine(data_dir)
        _, letter_id = _dead_letter(engine, clock, correlation="refund-77")
        result = CliRunner().invoke(
            cli, ["dlq", "replay", letter_id, "--reason", "bank is back", "--actor", "ana"]
        )
        assert result.exit_code == 0, result.output
        assert "warning" not in result.output
        assert pipeline.flush(30.0)
        engine.store.close()
    finally:
        receiver.stop(5.0)
        pipeline.stop(10.0)
    replays = drilldown(store, "correlation", "refund-77", tenants=["acme"]).dead_letters
    assert list(replays["event_name"]) == ["dlq.replayed"]
    assert (replays.iloc[0]["dlq_id"], replays.iloc[0]["actor"]) == (letter_id, "ana")
    assert replays.iloc[0]["audit_reason"] == "bank is back"


def test_dlq_list_show_replay_and_refused_second_replay(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOWMETER_OTLP_HTTP_PORT", str(free_port()))  # no receiver listening
    engine, clock = _engine(data_dir)
    run_id, _ = _dead_letter(engine, clock)
    runner = CliRunner()

    listed = runner.invoke(cli, ["dlq", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert [(r["workflow"], r["reason"], r["attempts"], r["run_id"]) for r in rows] == [
        ("refund_flow", "retries_exhausted", 2, run_id)
    ]
    assert rows[0]["quarantined_at"] == "2027-01-15T08:00:10Z"
    letter_id = str(rows[0]["id"])

    shown = runner.invoke(cli, ["dlq", "show", letter_id])
    assert shown.exit_code == 0
    assert '"amount": 7' in shown.output and "pay_refund" in shown.output

    first = runner.invoke(
        cli, ["dlq", "replay", letter_id, "--reason", "payments back", "--actor", "ana"]
    )
    assert first.exit_code == 0, first.output
    assert f"run {run_id} is queued again from step pay_refund" in first.output
    assert "the dlq.replayed event did not reach the receiver" in first.output
    second = runner.invoke(cli, ["dlq", "replay", letter_id, "--reason", "again"])
    assert second.exit_code == 1
    assert "already replayed by ana" in second.output and "Traceback" not in second.output
    missing = runner.invoke(cli, ["dlq", "show", "424242"])
    assert missing.exit_code == 1 and "no dead letter with id 424242" in missing.output
    assert json.loads(runner.invoke(cli, ["dlq", "list", "--json"]).output) == []
    assert len(json.loads(runner.invoke(cli, ["dlq", "list", "--json", "--all"]).output)) == 1
    engine.store.close()


def test_approve_and_reject_from_the_command_line(data_dir: Path) -> None:
    engine, _clock = _engine(data_dir)
    approve_me = engine.submit("approval_flow", {})
    reject_me = engine.submit("approval_flow", {})
    engine.run_once("w")
    engine.run_once("w")
    runner = CliRunner()
    ok = runner.invoke(cli, ["approve", str(approve_me), "--reason", "fine", "--actor", "ana"])
    assert ok.exit_code == 0 and "approved 'manager'" in ok.output
    no = runner.invoke(cli, ["approve", str(reject_me), "--reject", "--reason", "too much"])
    assert no.exit_code == 0 and "rejected" in no.output
    again = runner.invoke(cli, ["approve", str(approve_me), "--reason", "twice"])
    assert again.exit_code == 1 and "no pending approval" in again.output
    engine.run_once("w")
    engine.run_once("w")
    assert engine.store.run(str(approve_me)).result == "approved"
    assert engine.store.run(str(reject_me)).result == "rejected"
    engine.store.close()
