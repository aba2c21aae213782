"""One execution of a claimed run: replay checkpoints, run the next steps, settle the run.

How an execution ends (``settle``): completed, rescheduled (a retry: ``Reschedule``),
waiting (an approval: ``Suspend``), compensated, or dead-lettered.

It talks to the engine through ``Runtime`` (the engine implements it) and never imports the
engine module: the engine imports this one.
"""

from __future__ import annotations

import logging
import random
import threading
from contextlib import ExitStack
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from models.errors import (
    ApprovalTimeoutError,
    CircuitOpenError,
    LeaseLostError,
    PoisonMessageError,
    StepTimeoutError,
)
from orchestrator.clock import Clock
from orchestrator.outcomes import Reschedule, StepFailedError, Suspend, decode, dumps, restore_error
from orchestrator.policy import CircuitBreaker
from orchestrator.state import Lease, RunRecord, StateStore
from orchestrator.telemetry import Telemetry
from orchestrator.workflow import STEPS, Step, Workflow, bind_runner, unbind_runner

__all__ = ["RunExecution", "Runtime", "StepCall", "call_step_function", "current_call"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class StepCall:
    """What a step function may ask about the attempt it runs in."""

    run: RunRecord
    step_key: str
    attempt: int
    idempotency_key: str | None
    clock: Clock
    telemetry: Telemetry | None


_call = threading.local()


def current_call() -> StepCall | None:
    """The step attempt executing in this thread, if any."""
    return getattr(_call, "value", None)


def call_step_function(step: Step, args: tuple[Any, ...], kwargs: dict[str, Any],
                       call: StepCall) -> Any:  # fmt: skip
    """Call ``step``'s function with ``call`` as this thread's current_call()."""
    _call.value = call
    try:
        return step.fn(*args, **kwargs)
    finally:
        _call.value = None


class Runtime(Protocol):
    """What an execution needs from the engine that runs it."""

    store: StateStore
    clock: Clock
    telemetry: Telemetry | None
    lease_seconds: float
    rng: random.Random

    def breaker(self, dependency: str) -> CircuitBreaker:
        """The circuit breaker guarding ``dependency``."""

    def invoke(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any],
               call: StepCall) -> Any:  # fmt: skip
        """Call a step function under its timeout."""

    def workflow_of(self, name: str) -> Workflow:
        """A registered workflow by name."""


class RunExecution:
    """The StepRunner a workflow function talks to while one worker executes its run."""

    def __init__(self, engine: Runtime, run: RunRecord, lease: Lease) -> None:
        self.engine, self.run, self.lease = engine, run, lease
        self.store, self.clock, self.telemetry = engine.store, engine.clock, engine.telemetry
        # Checkpoints are written only under a lease, so a run's first execution has none:
        # skipping the read saves a round trip per run.
        self.checkpoints = self.store.checkpoints(run.id) if run.executions > 1 else {}
        self.seen: dict[str, int] = {}
        self.seq = max((int(c["seq"]) for c in self.checkpoints.values()), default=0)
        self.current_key = ""
        self.started = self.clock.now()
        self.waiting_for = ""

    def attributes(self) -> dict[str, AttributeValue]:
        """The attributes every span and event of this run carries."""
        r = self.run
        return {
            "correlation.id": r.correlation_id, "workflow.name": r.workflow,
            "workflow.run_id": r.id, "tenant.id": r.tenant_id, "product.line": r.product_line,
            "entity.type": r.entity_type, "entity.id": r.entity_id, "run.mode": r.mode,
            "run.replay": r.replays > 0,
        }  # fmt: skip

    # --- StepRunner ------------------------------------------------------------------------
    def _key(self, name: str) -> str:
        count = self.seen.get(name, 0) + 1
        self.seen[name] = count
        return name if count == 1 else f"{name}#{count}"

    def _save(self, key: str, **values: Any) -> None:
        self.seq += 1
        self.store.save_step(
            self.lease, self.clock.now(), self.engine.lease_seconds, key, seq=self.seq, **values
        )
        values.pop("idempotency_key", None)
        self.checkpoints[key] = {"step_key": key, "seq": self.seq, **values}

    def call_step(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """Replay or execute one step (see the module docstring)."""
        return self.call_keyed(self._key(step.name), step, args, kwargs)

    def call_keyed(
        self, key: str, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Replay or execute ``step`` checkpointed under ``key``."""
        done = self.checkpoints.get(key)
        if done is not None and done["status"] == "ok":
            return decode(done["output"])
        if done is not None and done["status"] == "error":
            raise restore_error(done)
        attempt = (int(done["attempts"]) if done else 0) + 1
        idem = step.idempotency_key(*args, **kwargs) if step.idempotency_key else None
        compensation = step.compensate.name if step.compensate else None
        stored_input = dumps([list(args), kwargs])
        if idem is not None:
            remembered = self.store.recall(idem, self.clock.now())
            if remembered is not None:
                self._save(key, status="ok", attempts=attempt, input=stored_input,
                           output=remembered, compensation=compensation)  # fmt: skip
                return decode(remembered)
        self.current_key = key
        call = StepCall(self.run, key, attempt, idem, self.clock, self.telemetry)
        started = self.clock.now()
        error: Exception | None = None
        outcome, result = "ok", None
        with ExitStack() as cleanup:
            span: Span | None = None
            if self.telemetry is not None:
                attrs = {**self.attributes(), "step.name": key, "step.attempt": attempt,
                         "step.dependency": step.dependency}  # fmt: skip
                span = cleanup.enter_context(
                    self.telemetry.span(f"step {step.name}", self.run.traceparent, started, attrs)
                )

                def end_span(span: Span, telemetry: Telemetry) -> None:
                    # Runs on every way out (a Reschedule included), before the span's
                    # context is detached; reads ``error``/``outcome`` as they ended up.
                    final = getattr(error, "outcome", outcome) if error is not None else "ok"
                    span.set_attribute("step.outcome", final)
                    duration_ms = (self.clock.now() - started) * 1000.0
                    telemetry.step_duration.record(
                        duration_ms, {"workflow.name": self.run.workflow, "step.name": step.name}
                    )
                    span.end(end_time=int(self.clock.now() * 1e9))

                cleanup.callback(end_span, span, self.telemetry)
            breaker = self.engine.breaker(step.dependency) if step.dependency else None
            if breaker is not None and not breaker.allow():
                error = CircuitOpenError(
                    f"circuit breaker {step.dependency} is open", breaker.retry_after()
                )
                outcome = "circuit_open"
            else:
                try:
                    result = self.engine.invoke(step, args, kwargs, call)
                except Exception as exc:
                    error = exc
                if breaker is not None:
                    if error is None:
                        breaker.record_success()
                    elif not isinstance(error, PoisonMessageError):
                        breaker.record_failure()
            ended = self.clock.now()
            if error is None:
                self._save(key, status="ok", attempts=attempt, input=stored_input,
                           output=dumps(result), compensation=compensation,
                           idempotency_key=idem)  # fmt: skip
                return decode(dumps(result))
            return self._failed(key, step, attempt, error, outcome, span, ended, stored_input)

    def _failed(
        self, key: str, step: Step, attempt: int, error: Exception, outcome: str,
        span: Span | None, ended: float, stored_input: str,
    ) -> Any:  # fmt: skip
        timed_out = isinstance(error, StepTimeoutError)
        poison = isinstance(error, PoisonMessageError)
        retryable = (
            not poison and attempt < step.retry.max_attempts
            and (isinstance(error, CircuitOpenError) or step.retry.retryable(error))
        )  # fmt: skip
        if span is not None:
            span.record_exception(error, timestamp=int(ended * 1e9))
            span.set_status(Status(StatusCode.ERROR, str(error)))
        kind = type(error).__name__
        if retryable:
            delay = step.retry.delay(attempt, self.engine.rng)
            if isinstance(error, CircuitOpenError):
                delay = max(delay, error.retry_after)
            self._save(key, status="retrying", attempts=attempt, input=stored_input,
                       error=str(error), error_type=kind)  # fmt: skip
            if span is not None and self.telemetry is not None:
                span.add_event("retry", {"retry.delay_ms": int(delay * 1000),
                                         "exception.type": kind}, timestamp=int(ended * 1e9))  # fmt: skip
                self.telemetry.step_retries.add(1, {"workflow.name": self.run.workflow,
                    "step.name": step.name, "step.dependency": step.dependency})  # fmt: skip
            error.outcome = outcome if outcome != "ok" else ("timeout" if timed_out else "retry")  # type: ignore[attr-defined]
            raise Reschedule(delay)
        self._save(key, status="error", attempts=attempt, input=stored_input,
                   error=str(error), error_type=kind)  # fmt: skip
        error.outcome = "timeout" if timed_out else "failed"  # type: ignore[attr-defined]
        if poison or isinstance(error, ApprovalTimeoutError):
            raise error
        reason = "timeout" if timed_out else ("retries_exhausted" if attempt > 1 else "failed")
        raise StepFailedError(
            f"step {key} failed after {attempt} attempt(s): {kind}: {error}", reason, attempt, key
        ) from error

    def wait_for_approval(self, name: str, timeout: float) -> str:
        """Durable wait: suspend the run until decided or its deadline."""
        key = self._key(f"approval:{name}")
        done = self.checkpoints.get(key)
        if done is not None:
            if done["status"] == "ok":
                return str(decode(done["output"]))
            raise restore_error(done)
        now = self.clock.now()
        self.waiting_for = name
        request = self.store.approval(self.run.id, name)
        if request is None:
            self.store.request_approval(self.run.id, name, now, now + timeout)
            raise Suspend(now + timeout)
        if request["decision"]:
            self._save(key, status="ok", attempts=1, output=dumps(request["decision"]))
            return str(request["decision"])
        if now >= float(request["deadline"]):
            message = f"approval {name!r} of run {self.run.id} timed out after {timeout}s"
            self._save(key, status="error", attempts=1, error=message,
                       error_type="ApprovalTimeoutError")  # fmt: skip
            raise ApprovalTimeoutError(message)
        raise Suspend(float(request["deadline"]))

    def kpi(self, name: str, value: float, amount: Decimal | None, currency: str) -> None:
        """Emit ``kpi.<name>`` linked to this run's trace (``amount`` as exact decimal text)."""
        if self.telemetry is None:
            return
        attrs: dict[str, AttributeValue] = {
            "event.id": f"{self.run.id}:{self.current_key}:{name}", "schema_version": 1,
            "kpi.value": float(value), "kpi.currency": currency,
            "entity.type": self.run.entity_type, "entity.id": self.run.entity_id,
            "correlation.id": self.run.correlation_id, "tenant.id": self.run.tenant_id,
            "product.line": self.run.product_line, "workflow.name": self.run.workflow,
            "workflow.run_id": self.run.id,
        }  # fmt: skip
        if amount is not None:
            # Decimal's own text, never through a float: 1234567.005 stays 1234567.005.
            attrs["kpi.amount"] = format(amount, "f")
        self.telemetry.event(f"kpi.{name}", self.clock.now(), attrs, self.run.traceparent)

    # --- settling --------------------------------------------------------------------------
    def go(self) -> None:
        """Execute until the run settles; never raises for a workflow's own failure."""
        token = bind_runner(self)
        try:
            self.settle()
        except LeaseLostError as exc:
            logger.warning("abandoning run %s: %s", self.run.id, exc)
        finally:
            unbind_runner(token)

    def settle(self) -> None:
        """Run the workflow (or its compensations) and record how the execution ended."""
        run, tel = self.run, self.telemetry
        if tel is not None and run.executions == 1 and run.replays == 0:
            tel.runs_started.add(1, {"workflow.name": run.workflow, "tenant.id": run.tenant_id})
        try:
            if run.phase == "compensate":
                self._compensate("earlier failure")
                return
            wf = self.engine.workflow_of(run.workflow)
            if wf.validate is not None:
                wf.validate(run.payload)
            result = wf.fn(run.payload)
            self._finish("completed", result=dumps(result))
        except Reschedule as again:
            self.store.release(self.lease, self.clock.now(), status="ready",
                               ready_at=self.clock.now() + again.delay)  # fmt: skip
        except Suspend as wait:
            now = self.clock.now()
            self.store.release(self.lease, now, status="waiting", ready_at=wait.until)
            self._emit_waiting_span(now, wait.until)
        except PoisonMessageError as poison:
            self._dead_letter("poison", str(poison), attempts=1, step=self.current_key)
        except (StepFailedError, ApprovalTimeoutError) as failure:
            reason = getattr(failure, "reason", "approval_timeout")
            if self._compensable():
                self._compensate(str(failure))
            else:
                self._dead_letter(reason, str(failure), getattr(failure, "attempts", 1),
                                  getattr(failure, "step_key", self.current_key))  # fmt: skip
        except LeaseLostError:
            raise
        except Exception as bug:
            # A workflow function's own exception is as final as a failed step: quarantine it.
            logger.exception("workflow %s run %s raised", run.workflow, run.id)
            self._dead_letter("workflow_error", f"{type(bug).__name__}: {bug}", 1,
                              self.current_key)  # fmt: skip

    def _compensable(self) -> list[dict[str, Any]]:
        done = [c for c in self.checkpoints.values()
                if c["status"] == "ok" and c.get("compensation")]  # fmt: skip
        return sorted(done, key=lambda c: int(c["seq"]), reverse=True)

    def _compensate(self, why: str) -> None:
        """Undo completed steps in reverse order, each compensation a durable step."""
        if self.run.phase != "compensate":
            self.store.update_fenced(self.lease, self.clock.now(), self.engine.lease_seconds,
                                     phase="compensate")  # fmt: skip
        for done in self._compensable():
            if str(done["step_key"]).startswith("compensate:"):
                continue
            step = STEPS[str(done["compensation"])]
            args, kwargs = decode(done["input"])
            try:
                self.call_keyed(f"compensate:{done['step_key']}", step,
                                (*args, decode(done["output"])), kwargs)  # fmt: skip
            except StepFailedError as failure:
                self._dead_letter("compensation_failed", str(failure), failure.attempts,
                                  failure.step_key)  # fmt: skip
                return
        logger.info("run %s compensated after: %s", self.run.id, why)
        self._finish("compensated", error=why)

    def _finish(self, outcome: str, *, result: str | None = None, error: str | None = None) -> None:
        now = self.clock.now()
        self.store.release(self.lease, now, status=outcome, result=result, error=error,
                           finished_at=now)  # fmt: skip
        self._emit_run_span(outcome, now, error)

    def _dead_letter(self, reason: str, error: str, attempts: int, step: str) -> None:
        run, now = self.run, self.clock.now()
        letter_id = self.store.dead_letter(
            self.lease, now, error, workflow=run.workflow, step=step, reason=reason,
            payload=dumps(run.payload), attempts=attempts, correlation_id=run.correlation_id,
            tenant_id=run.tenant_id,
        )  # fmt: skip
        tel = self.telemetry
        if tel is not None:
            tel.dlq_additions.add(1, {"workflow.name": run.workflow, "dlq.reason": reason})
            tel.event("dlq.quarantined", now, {
                "dlq.id": str(letter_id), "dlq.reason": reason, "correlation.id": run.correlation_id,
                "workflow.name": run.workflow, "workflow.run_id": run.id, "tenant.id": run.tenant_id,
            }, run.traceparent)  # fmt: skip
        self._emit_run_span("dead_lettered", now, error,
                            [("dead_letter", now, {"dlq.reason": reason})])  # fmt: skip

    def _emit_waiting_span(self, now: float, until: float) -> None:
        """A run span for an execution that parked the run for an approval: a child of the
        run's stored span (emitted once, when the run settles), ``run.outcome=waiting``."""
        if self.telemetry is None:
            return
        attrs: dict[str, AttributeValue] = {
            **self.attributes(), "run.outcome": "waiting", "approval.name": self.waiting_for,
        }  # fmt: skip
        events = [("approval.requested", now, {"approval.name": self.waiting_for,
                                               "approval.deadline": until})]  # fmt: skip
        self.telemetry.emit_run_span(self.run.traceparent, self.started, now, attrs,
                                     events=events, reuse_ids=False)  # fmt: skip

    def _emit_run_span(self, outcome: str, end: float, error: str | None,
                       events: list[tuple[str, float, dict[str, Any]]] | None = None) -> None:  # fmt: skip
        tel, run = self.telemetry, self.run
        if tel is None:
            return
        attrs: dict[str, AttributeValue] = {**self.attributes(), "run.outcome": outcome}
        if outcome == "completed":
            tel.runs_completed.add(1, {"workflow.name": run.workflow, "tenant.id": run.tenant_id})
        elif outcome != "compensated" or error:
            tel.runs_failed.add(1, {"workflow.name": run.workflow, "tenant.id": run.tenant_id})
        events = list(events or [])
        for key, done in self.checkpoints.items():
            if key.startswith("compensate:") and done["status"] == "ok":
                events.append(("compensation", end, {"step.name": key.removeprefix("compensate:")}))
        start = run.created_at
        if run.replays > 0:
            start = self.store.last_replay_at(run.id) or start
        tel.emit_run_span(run.traceparent, start, end, attrs, error=None if outcome == "completed"
                          else error, events=events, reuse_ids=run.replays == 0)  # fmt: skip
