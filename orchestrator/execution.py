"""One execution of a claimed run: replay checkpoints, run the next steps, settle the run."""

from __future__ import annotations

import logging
from typing import Any

from opentelemetry.trace import Status, StatusCode
from opentelemetry.util.types import AttributeValue

from models.errors import (
    ApprovalTimeoutError,
    CircuitOpenError,
    LeaseLostError,
    PoisonMessageError,
    StepTimeoutError,
)
from orchestrator.engine import (
    Engine,
    Reschedule,
    StepCall,
    StepFailedError,
    Suspend,
    decode,
    restore_error,
)
from orchestrator.store import Lease, RunRecord, dumps
from orchestrator.workflow import Step, bind_runner, unbind_runner

__all__ = ["RunExecution"]

logger = logging.getLogger(__name__)


class RunExecution:
    """The StepRunner a workflow function talks to while one worker executes its run."""

    def __init__(self, engine: Engine, run: RunRecord, lease: Lease) -> None:
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

    # --- attributes --------------------------------------------------------------------------
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
        attrs = {**self.attributes(), "step.name": key, "step.attempt": attempt,
                 "step.dependency": step.dependency}  # fmt: skip
        span_cm = (
            self.telemetry.span(f"step {step.name}", self.run.traceparent, started, attrs)
            if self.telemetry is not None
            else None
        )
        span = span_cm.__enter__() if span_cm is not None else None
        error: Exception | None = None
        outcome, result = "ok", None
        try:
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
        finally:
            if span is not None and span_cm is not None:
                final = getattr(error, "outcome", outcome) if error is not None else "ok"
                span.set_attribute("step.outcome", final)
                if self.telemetry is not None:
                    duration_ms = (self.clock.now() - started) * 1000.0
                    self.telemetry.step_duration.record(
                        duration_ms, {"workflow.name": self.run.workflow, "step.name": step.name}
                    )
                span.end(end_time=int(self.clock.now() * 1e9))
                span_cm.__exit__(None, None, None)

    def _failed(
        self,
        key: str,
        step: Step,
        attempt: int,
        error: Exception,
        outcome: str,
        span: Any,
        ended: float,
        stored_input: str,
    ) -> Any:
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

    def kpi(self, name: str, value: float, amount: float | None, currency: str) -> None:
        """Emit ``kpi.<name>`` linked to this run's trace."""
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
            attrs["kpi.amount"] = f"{amount:.2f}"
        self.telemetry.event(f"kpi.{name}", self.clock.now(), attrs, self.run.traceparent)

    # --- settling ------------------------------------------------------------------------------
    def go(self) -> None:
        """Execute until the run settles; never raises for a workflow's own failure."""
        from orchestrator.settle import settle

        token = bind_runner(self)
        try:
            settle(self)
        except LeaseLostError as exc:
            logger.warning("abandoning run %s: %s", self.run.id, exc)
        finally:
            unbind_runner(token)
