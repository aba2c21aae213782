"""The worker pool: threads claim runs, the sweep recovers a dead worker's expired lease."""

from __future__ import annotations

import time

from orchestrator.engine import Engine
from orchestrator.worker import WorkerPool
from tests.orchestrator import sample_flows
from tests.orchestrator.conftest import StateDb


def test_pool_runs_everything_and_recovers_a_dead_workers_run(sqlite_db: StateDb) -> None:
    store = sqlite_db.open()
    engine = Engine(store, lease_seconds=1.0)
    sample_flows.finished.clear()
    sample_flows.finish_after["left"] = 21
    orphan = engine.submit("tally_flow", {"n": 99}, at=time.time() - 10)
    for n in range(20):
        engine.submit("tally_flow", {"n": n})
    # A worker that claimed the orphan and died: its lease runs out in a second.
    claimed = store.claim("dead-worker", time.time(), 1.0)
    assert claimed is not None and claimed.id == orphan
    pool = WorkerPool(engine, threads=2, poll_seconds=0.05)
    pool.start()
    try:
        assert sample_flows.finished.wait(60), f"only {len(sample_flows.calls)} runs finished"
    finally:
        pool.stop(5)
    assert store.counts() == {"completed": 21}
    assert sorted(sample_flows.calls) == sorted(f"tally:{n}" for n in [*range(20), 99])
    assert store.run(orphan).executions == 2  # the dead worker's claim, then the recovery
    store.close()
