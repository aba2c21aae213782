"""An approval is decided once, even by two people deciding at the same moment."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import sqlalchemy as sa

from models.errors import ApprovalDecidedError
from orchestrator.api import OrchestratorAPI
from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.state import StateStore
from tests.orchestrator.conftest import StateDb

T0 = 1_800_000_000.0


def _waiting_runs(store: StateStore, count: int) -> list[str]:
    """``count`` runs, each waiting for approval 'manager'."""
    engine = Engine(store, clock=VirtualClock(start=T0))
    run_ids = []
    with store.tx() as conn:
        for _ in range(count):
            values = engine.run_values("approval_flow", {}, T0, tenant_id="acme")
            values["status"] = "waiting"
            run_ids.append(str(store.insert_run(conn, **values)))
    for run_id in run_ids:
        store.request_approval(run_id, "manager", T0, T0 + 3600)
    return run_ids


def _approval_audit(store: StateStore) -> list[dict[str, Any]]:
    return [a for a in OrchestratorAPI(store).audit_log() if a["action"].startswith("approval.")]


@pytest.mark.postgres
def test_the_second_of_two_interleaved_deciders_is_refused_on_postgres(pg_db: StateDb) -> None:
    """Bob decides between Ana's read of the pending approval and her write: Ana's write
    must find the approval decided (on e1047bd both were recorded)."""
    ana_store, bob_store = pg_db.open(), pg_db.open()  # two pools: two connections
    (run_id,) = _waiting_runs(ana_store, 1)
    fired: list[str] = []

    def bob_decides_first(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.startswith("UPDATE fm_approvals") and not fired:
            fired.append(bob_store.decide(run_id, None, "rejected", "bob", "too much", T0 + 1))

    sa.event.listen(ana_store.engine, "before_cursor_execute", bob_decides_first)
    with pytest.raises(ApprovalDecidedError, match=r"already decided \(rejected by bob"):
        ana_store.decide(run_id, None, "approved", "ana", "fine", T0 + 2)
    assert fired == ["manager"]
    approval = ana_store.approval(run_id, "manager")
    assert approval is not None
    assert (approval["decision"], approval["decided_by"]) == ("rejected", "bob")
    audit = _approval_audit(ana_store)
    assert [(a["actor"], a["action"]) for a in audit] == [("bob", "approval.rejected")]
    ana_store.close()
    bob_store.close()


def test_two_threads_deciding_each_approval_exactly_one_wins(state_db: StateDb) -> None:
    """Twenty approvals, each decided by two threads on their own connections released by
    one barrier: one decision per approval is recorded and audited, the other refused."""
    stores = [state_db.open(), state_db.open()]
    run_ids = _waiting_runs(stores[0], 20)
    barrier = threading.Barrier(2)
    outcomes: dict[str, list[str]] = {run_id: [] for run_id in run_ids}
    crashed: list[BaseException] = []

    def decide(index: int) -> None:
        api = OrchestratorAPI(stores[index], clock=VirtualClock(start=T0 + 1))
        actor = ("ana", "bob")[index]
        try:
            for run_id in run_ids:
                barrier.wait()
                try:
                    act = api.approve if index == 0 else api.reject
                    act(run_id, actor=actor, reason="decided")
                    outcomes[run_id].append(f"won:{actor}")
                except ApprovalDecidedError as refused:
                    assert "already decided" in str(refused)
                    outcomes[run_id].append(f"refused:{actor}")
        except BaseException as exc:
            crashed.append(exc)
            barrier.abort()  # the other thread stops waiting (BrokenBarrierError) instead

    threads = [threading.Thread(target=decide, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [e for e in crashed if not isinstance(e, threading.BrokenBarrierError)] == []
    audit = _approval_audit(stores[0])
    assert len(audit) == len(run_ids)
    for run_id, results in outcomes.items():
        assert sorted(r.split(":")[0] for r in results) == ["refused", "won"], results
        winner = next(r.split(":")[1] for r in results if r.startswith("won"))
        approval = stores[0].approval(run_id, "manager")
        assert approval is not None and approval["decided_by"] == winner
        assert [a["actor"] for a in audit if a["target"] == run_id] == [winner]
        assert stores[0].run(run_id).status == "ready"  # woken once
    for store in stores:
        store.close()


def test_pending_approvals_are_filtered_by_tenant_before_the_limit(state_db: StateDb) -> None:
    store = state_db.open()
    acme = _waiting_runs(store, 3)  # requested first, so they come first (oldest first)
    engine = Engine(store, clock=VirtualClock(start=T0))
    with store.tx() as conn:
        values = engine.run_values("approval_flow", {}, T0, tenant_id="globex")
        globex = str(store.insert_run(conn, **values))
    store.request_approval(globex, "manager", T0 + 1, T0 + 3600)
    api = OrchestratorAPI(store)
    assert [r["run_id"] for r in api.pending_approvals(limit=2)] == acme[:2]
    shown = api.pending_approvals(tenant_ids=("globex", "initech"), limit=2)
    assert [(r["run_id"], r["tenant_id"], r["workflow"]) for r in shown] == [
        (globex, "globex", "approval_flow")
    ]
    assert {r["run_status"] for r in api.pending_approvals()} == {"waiting", "ready"}
    store.close()
