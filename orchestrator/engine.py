"""The durable engine: submit runs, claim them, execute steps with checkpoints.

A run executes as: claim (lease) -> replay the workflow function, returning checkpointed
step results without calling them -> call the first unfinished step -> checkpoint (fenced by
the lease) -> ... A retry, an approval wait or a crash ends the execution; the run is
claimed again later (by any worker) and continues at its first unfinished step.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextvars import copy_context
from typing import Any

from models.errors import OrchestratorError, StepTimeoutError
from orchestrator.clock import Clock, SystemClock
from orchestrator.execution import RunExecution, StepCall, call_step_function, current_call
from orchestrator.outcomes import Reschedule, StepFailedError, Suspend, dumps
from orchestrator.policy import BREAKER_GAUGE, CircuitBreaker
from orchestrator.state import Lease, RunRecord, StateStore
from orchestrator.telemetry import Telemetry, format_traceparent
from orchestrator.workflow import STEPS, WORKFLOWS, Step, Workflow

# Reschedule, StepFailedError, Suspend (orchestrator.outcomes) and StepCall, current_call
# (orchestrator.execution) are re-exported: workflow code has imported them from here.
__all__ = ["Engine", "Reschedule", "StepCall", "StepFailedError", "Suspend", "current_call"]

logger = logging.getLogger(__name__)


class Engine:
    """Submits and executes workflow runs against one StateStore (a Runtime for executions)."""

    def __init__(
        self,
        store: StateStore,
        *,
        telemetry: Telemetry | None = None,
        clock: Clock | None = None,
        lease_seconds: float = 30.0,
        seed: int | None = None,
        breaker_threshold: int = 5,
        breaker_reset: float = 30.0,
    ) -> None:
        self.store, self.telemetry = store, telemetry
        self.clock = clock or SystemClock()
        self.lease_seconds = lease_seconds
        self.rng = random.Random(seed)
        self.breaker_threshold, self.breaker_reset = breaker_threshold, breaker_reset
        self._breakers: dict[str, CircuitBreaker] = {}
        self._breaker_lock = threading.Lock()
        self._pool: ThreadPoolExecutor | None = None

    # --- submitting ----------------------------------------------------------------------
    def submit(
        self,
        workflow: str | Workflow,
        payload: Any,
        *,
        correlation_id: str | None = None,
        tenant_id: str = "",
        product_line: str = "",
        entity_type: str = "",
        entity_id: str = "",
        mode: str = "automated",
        dedupe_key: str | None = None,
        at: float | None = None,
    ) -> str | None:
        """Queue a run; returns its id (None when ``dedupe_key`` was submitted before)."""
        name = workflow if isinstance(workflow, str) else workflow.name
        if name not in WORKFLOWS:
            raise OrchestratorError(f"unknown workflow {name!r}; known: {sorted(WORKFLOWS)}")
        when = self.clock.now() if at is None else at
        with self.store.tx() as conn:
            return self.store.insert_run(conn, **self.run_values(
                name, payload, when, correlation_id=correlation_id, tenant_id=tenant_id,
                product_line=product_line, entity_type=entity_type, entity_id=entity_id,
                mode=mode, dedupe_key=dedupe_key))  # fmt: skip

    def run_values(self, workflow: str, payload: Any, when: float, **fields: Any) -> dict[str, Any]:
        """Column values of a new run (also used by schedules)."""
        run_id = uuid.uuid4().hex
        if self.telemetry is not None:
            trace_id, span_id = self.telemetry.new_run_ids()
        else:
            trace_id, span_id = uuid.uuid4().int >> 1, (uuid.uuid4().int >> 65) or 1
        fields["correlation_id"] = fields.get("correlation_id") or run_id
        return dict(
            id=run_id, workflow=workflow, status="ready", phase="main", payload=dumps(payload),
            traceparent=format_traceparent(trace_id, span_id), created_at=when, ready_at=when,
            **fields,
        )  # fmt: skip

    # --- executing -----------------------------------------------------------------------
    def run_once(self, owner: str) -> str | None:
        """Claim one ready run and execute it; returns its id or None when none is ready."""
        record = self.store.claim(owner, self.clock.now(), self.lease_seconds)
        if record is None:
            return None
        self.execute(record, Lease(record.id, owner, record.lease_token))
        return record.id

    def execute(self, record: RunRecord, lease: Lease) -> None:
        """Run a claimed run until it finishes, waits, reschedules, or loses its lease."""
        RunExecution(self, record, lease).go()

    def breaker(self, dependency: str) -> CircuitBreaker:
        """The circuit breaker guarding ``dependency`` in this process; it follows the state
        other workers record in the state database (checked at most once a second)."""
        with self._breaker_lock:
            found = self._breakers.get(dependency)
            if found is None:
                found = CircuitBreaker(
                    dependency, self.clock, self.breaker_threshold, self.breaker_reset,
                    on_change=self._breaker_changed,
                    shared=lambda: self.store.breaker_state(dependency),
                )  # fmt: skip
                self._breakers[dependency] = found
            return found

    def _breaker_changed(self, name: str, before: str, after: str) -> None:
        from opentelemetry import trace

        now = self.clock.now()
        # Opening is news; the half-open probes of a long outage would flood the log.
        level = logging.WARNING if after == "open" and before == "closed" else logging.DEBUG
        logger.log(level, "circuit breaker %s: %s -> %s", name, before, after)
        self.store.save_breaker(name, after, now)
        if self.telemetry is not None:
            self.telemetry.breaker_state.set(BREAKER_GAUGE[after], {"breaker.name": name})
            trace.get_current_span().add_event(
                "breaker.state_change",
                {"breaker.name": name, "breaker.from": before, "breaker.to": after},
                timestamp=int(now * 1e9),
            )

    def invoke(
        self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any], call: StepCall
    ) -> Any:
        """Call a step function, enforcing its timeout (threads on the wall clock, elapsed
        virtual time on any other clock)."""

        def target() -> Any:
            return call_step_function(step, args, kwargs, call)

        if step.timeout is None or call.run.mode == "manual":
            # Manual runs record human work (demo history before go-live): no step timeouts.
            return target()
        if isinstance(self.clock, SystemClock):
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="fm-step")
            future = self._pool.submit(copy_context().run, target)
            try:
                return future.result(timeout=step.timeout)
            except FutureTimeout:
                raise StepTimeoutError(
                    f"step {step.name} took longer than {step.timeout}s"
                ) from None
        started = self.clock.now()
        try:
            result = target()
        except Exception as exc:
            if self.clock.now() - started > step.timeout:
                raise StepTimeoutError(
                    f"step {step.name} took longer than {step.timeout}s"
                ) from exc
            raise
        if self.clock.now() - started > step.timeout:
            raise StepTimeoutError(f"step {step.name} took longer than {step.timeout}s")
        return result

    def compensation_of(self, name: str) -> Step:
        """A registered step by name (compensations are looked up after a crash)."""
        return STEPS[name]

    def workflow_of(self, name: str) -> Workflow:
        """A registered workflow by name."""
        if name not in WORKFLOWS:
            raise OrchestratorError(f"run needs workflow {name!r}, which is not registered")
        return WORKFLOWS[name]

    def close(self) -> None:
        """Stop the step-timeout pool."""
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
