"""The orchestrator's Python API for the dashboard and the CLI (names are kept stable).

api = OrchestratorAPI.from_settings(settings)
api.dead_letters(workflow="invoice_generation", replayed=False)
api.replay(12, actor="ana", reason="ERP back up")   # ReplayRefusedError the second time
api.approve(run_id, actor="ana", reason="within budget")
"""

from __future__ import annotations

import json
import logging
import os
import socket
import uuid
from collections.abc import Sequence
from typing import Any

from models.errors import NotFoundError
from models.settings import Settings
from orchestrator.clock import Clock, SystemClock
from orchestrator.state import RunRecord, StateStore, store_from_settings
from orchestrator.telemetry import Telemetry

__all__ = ["OrchestratorAPI"]

logger = logging.getLogger(__name__)


def _letter(row: dict[str, Any], *, full: bool = False) -> dict[str, Any]:
    out = {
        "id": int(row["id"]), "workflow": row["workflow"], "reason": row["reason"],
        "attempts": int(row["attempts"]), "quarantined_at": row["quarantined_at"],
        "run_id": row["run_id"], "step": row["step"], "correlation_id": row["correlation_id"],
        "tenant_id": row["tenant_id"], "error": row["error"],
        "replayed_at": row["replayed_at"], "replayed_by": row["replayed_by"],
        "replay_reason": row["replay_reason"],
    }  # fmt: skip
    if full:
        out["payload"] = json.loads(row["payload"])
    return out


def _run(record: RunRecord) -> dict[str, Any]:
    return {
        "id": record.id, "workflow": record.workflow, "status": record.status,
        "phase": record.phase, "correlation_id": record.correlation_id,
        "tenant_id": record.tenant_id, "product_line": record.product_line,
        "entity_type": record.entity_type, "entity_id": record.entity_id, "mode": record.mode,
        "traceparent": record.traceparent, "trace_id": record.traceparent.split("-")[1],
        "created_at": record.created_at, "finished_at": record.finished_at,
        "executions": record.executions, "replays": record.replays, "payload": record.payload,
        "result": record.result, "error": record.error,
    }  # fmt: skip


class OrchestratorAPI:
    """Read and act on engine state: dead letters, replays, approvals, breakers, runs."""

    def __init__(
        self, store: StateStore, *, telemetry: Telemetry | None = None,
        clock: Clock | None = None,
    ) -> None:  # fmt: skip
        self.store, self.telemetry = store, telemetry
        self.clock = clock or SystemClock()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, telemetry: Telemetry | None = None
    ) -> OrchestratorAPI:
        """An API on the configured state database (SQLite file by default); with
        ``telemetry``, replays emit their ``dlq.replayed`` event."""
        return cls(store_from_settings(settings), telemetry=telemetry)

    def lease(self, name: str, seconds: float) -> JobLease:
        """A lease on ``name`` for this process: one holder at a time across processes."""
        return JobLease(self.store, name, seconds, self.clock)

    def close(self) -> None:
        """Release the database connections."""
        self.store.close()

    # --- dead letters ----------------------------------------------------------------------
    def dead_letters(
        self, *, workflow: str | None = None, reason: str | None = None,
        tenant_id: str | None = None, replayed: bool | None = None, limit: int = 500,
        tenant_ids: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Dead letters, newest first: id, workflow, reason, attempts, quarantined_at, ...;
        ``tenant_ids`` keeps those of these tenants only (filtered before ``limit``)."""
        equals = {k: v for k, v in (("workflow", workflow), ("reason", reason),
                                    ("tenant_id", tenant_id)) if v is not None}  # fmt: skip
        rows = self.store.rows(
            "fm_dead_letters", equals=equals,
            within={"tenant_id": tenant_ids} if tenant_ids is not None else None,
            is_null=("replayed_at",) if replayed is False else (),
            not_null=("replayed_at",) if replayed else (),
            order_by="id", descending=True, limit=limit,
        )  # fmt: skip
        return [_letter(r) for r in rows]

    def dead_letter(self, dead_letter_id: int) -> dict[str, Any]:
        """One dead letter with its payload and the run's step checkpoints."""
        rows = self.store.rows("fm_dead_letters", equals={"id": int(dead_letter_id)})
        if not rows:
            raise NotFoundError(f"no dead letter with id {dead_letter_id}")
        letter = _letter(rows[0], full=True)
        letter["steps"] = self.steps(letter["run_id"])
        return letter

    def replay(self, dead_letter_id: int, actor: str, reason: str) -> dict[str, Any]:
        """Re-enter the run at its failed step (completed steps and idempotency keys kept);
        audited; raises ReplayRefusedError if this entry was replayed before."""
        if not actor.strip() or not reason.strip():
            raise ValueError("replay needs an actor and a reason (both are audited)")
        now = self.clock.now()
        row = self.store.mark_replayed(int(dead_letter_id), actor, reason, now)
        if self.telemetry is not None:
            run = self.store.run(row["run_id"])
            self.telemetry.event("dlq.replayed", now, {
                "dlq.id": str(dead_letter_id), "dlq.reason": row["reason"],
                "correlation.id": run.correlation_id, "workflow.name": run.workflow,
                "workflow.run_id": run.id, "tenant.id": run.tenant_id,
                "audit.actor": actor, "audit.reason": reason,
            }, run.traceparent)  # fmt: skip
        logger.info("dead letter %s replayed by %s: %s", dead_letter_id, actor, reason)
        return self.dead_letter(int(dead_letter_id))

    def dead_letter_depth(self) -> dict[str, int]:
        """Unreplayed dead letters per workflow."""
        return self.store.dead_letter_depth()

    # --- audit, breakers, approvals ------------------------------------------------------------
    def audit_log(
        self, *, action: str | None = None, limit: int = 500,
        tenant_ids: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:  # fmt: skip
        """Audit rows, newest first: at, actor, action, target, reason, detail, tenant_id;
        ``tenant_ids`` keeps rows about records of these tenants (filtered before ``limit``)."""
        rows = self.store.rows(
            "fm_audit_log", equals={"action": action} if action else None,
            within={"tenant_id": tenant_ids} if tenant_ids is not None else None,
            order_by="id", descending=True, limit=limit,
        )  # fmt: skip
        return [{**r, "detail": json.loads(r["detail"])} for r in rows]

    def breakers(self) -> list[dict[str, Any]]:
        """Last known state of every circuit breaker: name, state, changed_at."""
        return self.store.rows("fm_breakers", order_by="name")

    def pending_approvals(
        self, *, tenant_ids: Sequence[str] | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Approvals nobody decided yet, oldest first, with their run's workflow, correlation
        id, tenant and status; ``tenant_ids`` keeps those of these tenants (before ``limit``)."""
        return self.store.pending_approvals(tenant_ids=tenant_ids, limit=limit)

    def approve(self, run_id: str, actor: str, reason: str, name: str | None = None) -> str:
        """Approve the run's pending approval (audited); returns the approval's name.
        ApprovalDecidedError if it was decided already (by anyone, even a moment ago)."""
        return self.store.decide(run_id, name, "approved", actor, reason, self.clock.now())

    def reject(self, run_id: str, actor: str, reason: str, name: str | None = None) -> str:
        """Reject the run's pending approval (audited); returns the approval's name.
        ApprovalDecidedError if it was decided already (by anyone, even a moment ago)."""
        return self.store.decide(run_id, name, "rejected", actor, reason, self.clock.now())

    # --- runs --------------------------------------------------------------------------------
    def run(self, run_id: str) -> dict[str, Any]:
        """One run with its steps."""
        return {**_run(self.store.run(run_id)), "steps": self.steps(run_id)}

    def runs_by_correlation(self, correlation_id: str) -> list[dict[str, Any]]:
        """Every run carrying this correlation id, oldest first."""
        return [_run(r) for r in self.store.runs_by_correlation(correlation_id)]

    def steps(self, run_id: str) -> list[dict[str, Any]]:
        """A run's step checkpoints in execution order."""
        return self.store.rows("fm_steps", equals={"run_id": run_id}, order_by="seq")

    def status_counts(self) -> dict[str, int]:
        """Runs per status."""
        return self.store.counts()


class JobLease:
    """One process's claim on a named job (the alert evaluator): ``hold()`` takes or renews it
    and says whether this process may run the job now; ``release()`` hands it over."""

    def __init__(self, store: StateStore, name: str, seconds: float, clock: Clock) -> None:
        self.store, self.name, self.seconds, self.clock = store, name, seconds, clock
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.held = False

    def hold(self) -> bool:
        """Take or renew the lease; False while another process holds it."""
        held = self.store.hold_lease(self.name, self.holder, self.clock.now(), self.seconds)
        if held != self.held:
            logger.info("%s %s the %s lease", self.holder, "holds" if held else "lost", self.name)
        self.held = held
        return held

    def release(self) -> None:
        """Give the lease up (a clean stop): another process takes over at its next round."""
        if self.held:
            self.store.release_lease(self.name, self.holder)
            self.held = False
