"""How an execution ends: completed, rescheduled, waiting, compensated or dead-lettered."""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.util.types import AttributeValue

from models.errors import ApprovalTimeoutError, PoisonMessageError
from orchestrator.engine import Reschedule, StepFailedError, Suspend, decode
from orchestrator.execution import RunExecution
from orchestrator.store import dumps

__all__ = ["settle"]

logger = logging.getLogger(__name__)


def settle(ex: RunExecution) -> None:
    """Run the workflow (or its compensations) and record how the execution ended."""
    run, engine = ex.run, ex.engine
    tel = engine.telemetry
    if tel is not None and run.executions == 1 and run.replays == 0:
        tel.runs_started.add(1, {"workflow.name": run.workflow, "tenant.id": run.tenant_id})
    try:
        if run.phase == "compensate":
            _compensate(ex, "earlier failure")
            return
        wf = engine.workflow_of(run.workflow)
        if wf.validate is not None:
            wf.validate(run.payload)
        result = wf.fn(run.payload)
        _finish(ex, "completed", result=dumps(result))
    except Reschedule as again:
        ex.store.release(ex.lease, ex.clock.now(), status="ready",
                         ready_at=ex.clock.now() + again.delay)  # fmt: skip
    except Suspend as wait:
        now = ex.clock.now()
        ex.store.release(ex.lease, now, status="waiting", ready_at=wait.until)
        _waiting_span(ex, now, wait.until)
    except PoisonMessageError as poison:
        _dead_letter(ex, "poison", str(poison), attempts=1, step=ex.current_key)
    except (StepFailedError, ApprovalTimeoutError) as failure:
        reason = getattr(failure, "reason", "approval_timeout")
        if _compensable(ex):
            _compensate(ex, str(failure))
        else:
            _dead_letter(ex, reason, str(failure), getattr(failure, "attempts", 1),
                         getattr(failure, "step_key", ex.current_key))  # fmt: skip
    except Exception as bug:
        # A workflow function's own exception is as final as a failed step: quarantine it.
        logger.exception("workflow %s run %s raised", run.workflow, run.id)
        _dead_letter(ex, "workflow_error", f"{type(bug).__name__}: {bug}", 1, ex.current_key)


def _compensable(ex: RunExecution) -> list[dict[str, Any]]:
    done = [c for c in ex.checkpoints.values() if c["status"] == "ok" and c.get("compensation")]
    return sorted(done, key=lambda c: int(c["seq"]), reverse=True)


def _compensate(ex: RunExecution, why: str) -> None:
    """Undo completed steps in reverse order, each compensation a durable step."""
    if ex.run.phase != "compensate":
        ex.store.update_fenced(ex.lease, ex.clock.now(), ex.engine.lease_seconds,
                               phase="compensate")  # fmt: skip
    for done in _compensable(ex):
        if str(done["step_key"]).startswith("compensate:"):
            continue
        step = ex.engine.compensation_of(str(done["compensation"]))
        args, kwargs = decode(done["input"])
        try:
            ex.call_keyed(f"compensate:{done['step_key']}", step,
                          (*args, decode(done["output"])), kwargs)  # fmt: skip
        except StepFailedError as failure:
            _dead_letter(ex, "compensation_failed", str(failure), failure.attempts,
                         failure.step_key)  # fmt: skip
            return
    logger.info("run %s compensated after: %s", ex.run.id, why)
    _finish(ex, "compensated", error=why)


def _finish(ex: RunExecution, outcome: str, *, result: str | None = None,
            error: str | None = None) -> None:  # fmt: skip
    now = ex.clock.now()
    ex.store.release(ex.lease, now, status=outcome, result=result, error=error, finished_at=now)
    _run_span(ex, outcome, now, error)


def _dead_letter(ex: RunExecution, reason: str, error: str, attempts: int, step: str) -> None:
    run, now = ex.run, ex.clock.now()
    letter_id = ex.store.dead_letter(
        ex.lease, now, error, workflow=run.workflow, step=step, reason=reason,
        payload=dumps(run.payload), attempts=attempts, correlation_id=run.correlation_id,
        tenant_id=run.tenant_id,
    )  # fmt: skip
    tel = ex.telemetry
    if tel is not None:
        tel.dlq_additions.add(1, {"workflow.name": run.workflow, "dlq.reason": reason})
        tel.event("dlq.quarantined", now, {
            "dlq.id": str(letter_id), "dlq.reason": reason, "correlation.id": run.correlation_id,
            "workflow.name": run.workflow, "workflow.run_id": run.id, "tenant.id": run.tenant_id,
        }, run.traceparent)  # fmt: skip
    _run_span(ex, "dead_lettered", now, error, [("dead_letter", now, {"dlq.reason": reason})])


def _waiting_span(ex: RunExecution, now: float, until: float) -> None:
    """A run span for an execution that parked the run for an approval: a child of the
    run's stored span (which is emitted once, when the run settles), ``run.outcome`` =
    ``waiting``."""
    if ex.telemetry is None:
        return
    attrs: dict[str, AttributeValue] = {
        **ex.attributes(), "run.outcome": "waiting", "approval.name": ex.waiting_for,
    }  # fmt: skip
    events = [("approval.requested", now, {"approval.name": ex.waiting_for,
                                           "approval.deadline": until})]  # fmt: skip
    ex.telemetry.emit_run_span(ex.run.traceparent, ex.started, now, attrs, events=events,
                               reuse_ids=False)  # fmt: skip


def _run_span(ex: RunExecution, outcome: str, end: float, error: str | None,
              events: list[tuple[str, float, dict[str, Any]]] | None = None) -> None:  # fmt: skip
    tel, run = ex.telemetry, ex.run
    if tel is None:
        return
    attrs: dict[str, AttributeValue] = {**ex.attributes(), "run.outcome": outcome}
    if outcome == "completed":
        tel.runs_completed.add(1, {"workflow.name": run.workflow, "tenant.id": run.tenant_id})
    elif outcome != "compensated" or error:
        tel.runs_failed.add(1, {"workflow.name": run.workflow, "tenant.id": run.tenant_id})
    events = list(events or [])
    for key, done in ex.checkpoints.items():
        if key.startswith("compensate:") and done["status"] == "ok":
            events.append(("compensation", end, {"step.name": key.removeprefix("compensate:")}))
    start = run.created_at
    if run.replays > 0:
        start = ex.store.last_replay_at(run.id) or start
    tel.emit_run_span(run.traceparent, start, end, attrs, error=None if outcome == "completed"
                      else error, events=events, reuse_ids=run.replays == 0)  # fmt: skip
