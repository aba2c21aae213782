"""Engine behaviour: retries by a fake clock, breakers, sagas, dead letters, approvals."""

from __future__ import annotations

import pytest

from models.errors import NotFoundError, ReplayRefusedError
from orchestrator.api import OrchestratorAPI
from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.policy import OPEN
from orchestrator.workflow import workflow
from tests.orchestrator import sample_flows
from tests.orchestrator.conftest import StateDb

T0 = 1_800_000_000.0


def _engine(db: StateDb, **kwargs: object) -> tuple[Engine, VirtualClock]:
    clock = VirtualClock(start=T0)
    return Engine(db.open(), clock=clock, seed=11, **kwargs), clock  # type: ignore[arg-type]


def _drain(engine: Engine, clock: VirtualClock, limit: int = 50) -> None:
    """Run everything, jumping the virtual clock to the next ready run when idle."""
    for _ in range(limit):
        if engine.run_once("w") is not None:
            continue
        nxt = engine.store.next_ready_at()
        if nxt is None:
            return
        clock.set(nxt)
    raise AssertionError("runs did not settle")


def test_retries_wait_full_jitter_backoff_on_the_fake_clock(sqlite_db: StateDb) -> None:
    engine, clock = _engine(sqlite_db)
    sample_flows.failures["flaky"] = 2
    run_id = engine.submit("retry_flow", {"x": 1})
    assert run_id is not None
    expected = __import__("random").Random(11)
    policy = sample_flows.FLAKY_POLICY
    for attempt in (1, 2):
        assert engine.run_once("w") == run_id
        run = engine.store.run(run_id)
        delay = policy.delay(attempt, expected)
        assert run.status == "ready"
        assert run.ready_at == pytest.approx(clock.now() + delay)
        assert engine.run_once("w") is None  # not before its backoff elapsed
        clock.set(run.ready_at)
    assert engine.run_once("w") == run_id
    assert engine.store.run(run_id).status == "completed"
    assert engine.store.run(run_id).result == 2
    assert sample_flows.calls == ["flaky", "flaky", "flaky"]
    assert engine.store.checkpoints(run_id)["flaky"]["attempts"] == 3


def test_breaker_opens_after_repeated_failures_and_fails_fast(sqlite_db: StateDb) -> None:
    engine, clock = _engine(sqlite_db, breaker_threshold=2, breaker_reset=60.0)
    sample_flows.failures["flaky"] = 2
    first = engine.submit("retry_flow", {"x": 1})
    assert engine.run_once("w") == first
    clock.advance(10)
    assert engine.run_once("w") == first  # second consecutive failure opens the breaker
    assert engine.breaker("erp").state == OPEN
    calls_before = len(sample_flows.calls)
    clock.advance(10)
    assert engine.run_once("w") == first  # open: not attempted, rescheduled after reset
    assert len(sample_flows.calls) == calls_before
    step = engine.store.checkpoints(first)["flaky"]
    assert step["error_type"] == "CircuitOpenError"
    assert engine.store.run(first).ready_at >= clock.now() + 40  # waits out the open breaker
    states = OrchestratorAPI(engine.store).breakers()
    assert [(b["name"], b["state"]) for b in states] == [("erp", "open")]
    _drain(engine, clock)
    assert engine.store.run(first).status == "completed"
    assert OrchestratorAPI(engine.store).breakers()[0]["state"] == "closed"


def test_saga_compensates_completed_steps_in_reverse_order(state_db: StateDb) -> None:
    engine, clock = _engine(state_db)
    run_id = engine.submit("trip_saga", {"trip": "t9"})
    _drain(engine, clock)
    run = engine.store.run(run_id)  # type: ignore[arg-type]
    assert run.status == "compensated"
    assert "card declined" in (run.error or "")
    assert sample_flows.calls == [
        "book_hotel", "book_flight", "charge_card", "undo:flight-t9", "undo:hotel-t9",
    ]  # fmt: skip
    keys = [s["step_key"] for s in OrchestratorAPI(engine.store).steps(run.id)]
    assert keys == ["book_hotel", "book_flight", "charge_card",
                    "compensate:book_flight", "compensate:book_hotel"]  # fmt: skip


def test_dead_letter_replay_refused_twice_and_audited(state_db: StateDb) -> None:
    engine, clock = _engine(state_db)
    api = OrchestratorAPI(engine.store, clock=clock)
    sample_flows.failures["pay_refund"] = 2  # two attempts allowed: exhausts them
    run_id = engine.submit("refund_flow", {"id": "r1", "amount": 12}, tenant_id="acme")
    poison_id = engine.submit("refund_flow", {"id": "r2", "amount": "lots"})
    _drain(engine, clock)
    letters = api.dead_letters()
    by_run = {d["run_id"]: d for d in letters}
    assert by_run[run_id]["reason"] == "retries_exhausted"
    assert by_run[run_id]["attempts"] == 2 and by_run[run_id]["step"] == "pay_refund"
    assert by_run[poison_id]["reason"] == "poison"
    assert "field 'amount'" in by_run[poison_id]["error"]
    assert [d["run_id"] for d in api.dead_letters(tenant_id="acme")] == [run_id]
    assert engine.store.run(run_id).status == "dead_lettered"  # type: ignore[arg-type]
    calls_before = list(sample_flows.calls)

    letter_id = by_run[run_id]["id"]
    shown = api.replay(letter_id, actor="ana", reason="payments fixed")
    assert shown["replayed_by"] == "ana"
    with pytest.raises(ReplayRefusedError, match="already replayed by ana"):
        api.replay(letter_id, actor="bob", reason="again")
    with pytest.raises(NotFoundError):
        api.replay(99999, actor="bob", reason="nothing")
    _drain(engine, clock)
    run = engine.store.run(run_id)  # type: ignore[arg-type]
    assert run.status == "completed" and run.replays == 1
    # Re-entered at the failed step: the completed check_refund was not called again.
    assert sample_flows.calls[len(calls_before) :] == ["pay_refund"]
    audit = api.audit_log()
    assert [(a["actor"], a["action"], a["target"], a["reason"]) for a in audit] == [
        ("ana", "dlq.replay", str(letter_id), "payments fixed")
    ]
    assert api.dead_letters(replayed=False)[0]["run_id"] == poison_id


def test_idempotency_key_returns_the_stored_result_for_a_duplicate(sqlite_db: StateDb) -> None:
    engine, clock = _engine(sqlite_db)
    first = engine.submit("refund_flow", {"id": "same", "amount": 5})
    second = engine.submit("refund_flow", {"id": "same", "amount": 5})
    _drain(engine, clock)
    assert engine.store.run(first).result == engine.store.run(second).result == "refunded 5"  # type: ignore[arg-type]
    assert sample_flows.calls.count("pay_refund") == 1
    clock.advance(8 * 86400)  # past the 7-day TTL the record expires
    assert engine.store.purge_idempotency(clock.now()) == 1
    assert engine.store.recall("refund:same", clock.now()) is None


def test_approval_wait_then_approve_and_timeout(state_db: StateDb) -> None:
    engine, clock = _engine(state_db)
    api = OrchestratorAPI(engine.store, clock=clock)
    approved = engine.submit("approval_flow", {})
    timed_out = engine.submit("approval_flow", {})
    assert engine.run_once("w") and engine.run_once("w")
    assert {r["run_id"] for r in api.pending_approvals()} == {approved, timed_out}
    assert engine.store.run(approved).status == "waiting"  # type: ignore[arg-type]
    assert engine.run_once("w") is None  # nobody decided: nothing to run
    clock.advance(60)
    assert api.approve(approved, actor="ana", reason="ok by me") == "manager"  # type: ignore[arg-type]
    assert engine.run_once("w") == approved
    assert engine.store.run(approved).result == "approved"  # type: ignore[arg-type]
    with pytest.raises(NotFoundError, match="no pending approval"):
        api.approve(approved, actor="ana", reason="twice")  # type: ignore[arg-type]
    clock.advance(3600)
    assert engine.run_once("w") == timed_out
    run = engine.store.run(timed_out)  # type: ignore[arg-type]
    assert run.status == "dead_lettered"
    assert api.dead_letters()[0]["reason"] == "approval_timeout"
    assert sample_flows.calls == ["decided:approved"]
    assert api.audit_log()[0]["action"] == "approval.approved"


def test_a_worker_whose_lease_was_taken_over_cannot_checkpoint(state_db: StateDb) -> None:
    from models.errors import LeaseLostError
    from orchestrator.state import Lease

    engine, clock = _engine(state_db, lease_seconds=30.0)
    run_id = engine.submit("retry_flow", {"x": 1})
    stale = engine.store.claim("slow-worker", clock.now(), 30.0)
    assert stale is not None and stale.id == run_id
    clock.advance(31)  # the slow worker missed its heartbeats
    assert engine.store.recover_expired(clock.now()) == [run_id]
    fresh = engine.store.claim("other-worker", clock.now(), 30.0)
    assert fresh is not None and fresh.lease_token == stale.lease_token + 1
    stale_lease = Lease(run_id, "slow-worker", stale.lease_token)
    with pytest.raises(LeaseLostError, match="lost by slow-worker"):
        engine.store.save_step(stale_lease, clock.now(), 30.0, "flaky", status="ok",
                               attempts=1, output="2", seq=1)  # fmt: skip
    with pytest.raises(LeaseLostError):
        engine.store.heartbeat(stale_lease, clock.now(), 30.0)
    with pytest.raises(LeaseLostError):
        engine.store.release(stale_lease, clock.now(), status="completed", finished_at=clock.now())
    assert engine.store.run(run_id).status == "running"  # the stale release changed nothing
    assert engine.store.checkpoints(run_id) == {}
    engine.store.save_step(Lease(run_id, "other-worker", fresh.lease_token), clock.now(), 30.0,
                           "flaky", status="ok", attempts=1, output="2", seq=1)  # fmt: skip
    assert engine.store.checkpoints(run_id)["flaky"]["output"] == "2"


def test_a_breaker_opened_by_one_worker_holds_back_another(state_db: StateDb) -> None:
    """Two engines (workers) on one state database: the second does not call a dependency
    the first has just seen fail breaker_threshold times."""
    first, clock = _engine(state_db, breaker_threshold=2, breaker_reset=60.0)
    second = Engine(state_db.open(), clock=clock, seed=12, breaker_threshold=2,
                    breaker_reset=60.0)  # fmt: skip
    sample_flows.failures["flaky"] = 2
    run_id = first.submit("retry_flow", {"x": 1})
    assert first.run_once("w1") == run_id
    clock.advance(10)
    assert first.run_once("w1") == run_id  # second failure: open, saved
    calls = len(sample_flows.calls)
    clock.advance(10)
    assert second.run_once("w2") == run_id
    assert len(sample_flows.calls) == calls  # the second worker never called erp
    assert second.breaker("erp").state == OPEN
    assert second.store.checkpoints(run_id)["flaky"]["error_type"] == "CircuitOpenError"
    second.store.close()


@workflow("swallowing_flow")
def swallowing_flow(payload: dict[str, int]) -> object:
    try:
        return sample_flows.flaky(payload["x"])
    except Exception:  # a workflow author's catch-all must not eat a retry
        return "swallowed"


def test_a_catch_all_in_the_workflow_does_not_swallow_a_retry(sqlite_db: StateDb) -> None:
    engine, clock = _engine(sqlite_db)
    sample_flows.failures["flaky"] = 1
    run_id = engine.submit("swallowing_flow", {"x": 4})
    assert engine.run_once("w") == run_id
    assert engine.store.run(run_id).status == "ready"  # type: ignore[arg-type]  # rescheduled
    _drain(engine, clock)
    assert engine.store.run(run_id).result == 5  # type: ignore[arg-type]
    assert sample_flows.calls == ["flaky", "flaky"]
