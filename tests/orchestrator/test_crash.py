"""Crash recovery and many processes: exactly-once effects, no run executed twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from tests.orchestrator.conftest import StateDb
from tests.orchestrator.ledger import Ledger

REPO = Path(__file__).resolve().parents[2]


def _ledger_env(db: StateDb, tmp_path: Path) -> dict[str, str]:
    ledger_dsn = db.dsn if db.schema else f"sqlite:///{tmp_path / 'ledger.db'}"
    return {**os.environ, "LEDGER_DSN": ledger_dsn, "LEDGER_SCHEMA": db.schema}


def _worker(db: StateDb, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.orchestrator.worker_process", db.dsn, db.schema],
        cwd=REPO, env=env, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def test_sigkill_mid_run_resumes_with_each_effect_exactly_once(
    state_db: StateDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _ledger_env(state_db, tmp_path)
    for name in ("LEDGER_DSN", "LEDGER_SCHEMA"):
        monkeypatch.setenv(name, env[name])
    store = state_db.open()
    clock = VirtualClock(start=2_000_000_000.0)
    engine = Engine(store, clock=clock, lease_seconds=600.0)
    # The run is created "now" in real time so the subprocess (wall clock) can claim it.
    import time as wall

    run_id = engine.submit("ledger_flow", {"id": "o-1", "amount": 40}, at=wall.time() - 1)
    assert run_id is not None
    worker = _worker(state_db, {**env, "BLOCK_AFTER": "ship"})
    assert worker.stdout is not None
    line = worker.stdout.readline()
    while line.startswith("READY"):
        line = worker.stdout.readline()
    assert line.split() == ["APPLIED", "ship", run_id]
    worker.send_signal(signal.SIGKILL)
    worker.wait()

    # The dead worker's checkpoints survive; its lease still holds the run.
    before = store.checkpoints(run_id)
    assert {k for k, v in before.items() if v["status"] == "ok"} == {"reserve", "charge"}
    assert store.run(run_id).status == "running"
    assert engine.run_once("resumer") is None  # leased: nobody else may run it
    clock.set(wall.time() + 601)  # past the lease: the recovery sweep frees it
    assert store.recover_expired(clock.now()) == [run_id]
    assert engine.run_once("resumer") == run_id

    run = store.run(run_id)
    assert run.status == "completed"
    assert run.result == {"order": "o-1", "done": True}
    ledger = Ledger(env["LEDGER_DSN"], env["LEDGER_SCHEMA"] or None)
    effects = Counter(key for key, _ in ledger.rows("ledger_effects"))
    assert effects == Counter({"reserve:o-1": 1, "charge:o-1": 1, "ship:o-1": 1, "invoice:o-1": 1})
    attempts = Counter(row[0] for row in ledger.rows("ledger_attempts"))
    # Only the step in flight at the kill was attempted twice; finished steps were replayed
    # from their checkpoints, not called again.
    assert attempts == Counter({"reserve:o-1": 1, "charge:o-1": 1, "ship:o-1": 2, "invoice:o-1": 1})
    store.close()


@pytest.mark.postgres
def test_four_worker_processes_run_1000_runs_each_exactly_once(
    pg_db: StateDb, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _ledger_env(pg_db, tmp_path)
    store = pg_db.open()
    engine = Engine(store)
    import time as wall

    now = wall.time()
    with store.tx() as conn:
        for n in range(1000):
            store.insert_run(conn, **engine.run_values("count_flow", {"n": n}, now))
    Ledger(env["LEDGER_DSN"], env["LEDGER_SCHEMA"])  # create the tables before the race
    workers = [_worker(pg_db, env) for _ in range(4)]
    executed = []
    for worker in workers:
        out, _ = worker.communicate(timeout=240)
        assert worker.returncode == 0
        executed.append(int(out.split("DONE")[1].split()[0]))
    assert sum(executed) == 1000
    assert all(n > 0 for n in executed), f"some worker never claimed: {executed}"
    assert store.counts() == {"completed": 1000}
    attempts = Counter(
        row[1] for row in Ledger(env["LEDGER_DSN"], env["LEDGER_SCHEMA"]).rows("ledger_attempts")
    )
    assert len(attempts) == 1000
    assert max(attempts.values()) == 1  # no run's step executed twice
    store.close()
