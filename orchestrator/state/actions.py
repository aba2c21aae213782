"""What people do to engine state, each in the caller's transaction and audited: replay a
dead letter, decide an approval."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from models.errors import ApprovalDecidedError, NotFoundError, ReplayRefusedError
from orchestrator.outcomes import dumps
from orchestrator.state.schema import approvals, audit_log, dead_letters, runs, steps

__all__ = ["audit", "decide", "mark_replayed"]


def audit(
    conn: Connection, now: float, actor: str, action: str, target: str, reason: str,
    detail: dict[str, Any] | None = None, *, tenant_id: str = "",
) -> None:  # fmt: skip
    """Append one audit row."""
    conn.execute(
        sa.insert(audit_log).values(
            at=now, actor=actor, action=action, target=target, reason=reason,
            detail=dumps(detail or {}), tenant_id=tenant_id,
        )
    )  # fmt: skip


def mark_replayed(
    conn: Connection, dead_letter_id: int, actor: str, reason: str, now: float
) -> dict[str, Any]:
    """Claim a dead letter for replay exactly once; audit it; put its run back to ready."""
    row = conn.execute(sa.select(dead_letters).where(dead_letters.c.id == dead_letter_id)).first()
    if row is None:
        raise NotFoundError(f"no dead letter with id {dead_letter_id}")
    done = conn.execute(
        sa.update(dead_letters)
        .where(dead_letters.c.id == dead_letter_id, dead_letters.c.replayed_at.is_(None))
        .values(replayed_at=now, replayed_by=actor, replay_reason=reason)
    )
    if done.rowcount != 1:
        raise ReplayRefusedError(
            f"dead letter {dead_letter_id} was already replayed by {row.replayed_by} "
            f"({row.replay_reason!r}); a second replay is refused"
        )
    conn.execute(sa.delete(steps).where(steps.c.run_id == row.run_id, steps.c.status != "ok"))
    conn.execute(
        sa.update(runs)
        .where(runs.c.id == row.run_id)
        .values(status="ready", phase="main", ready_at=now, error=None,
                finished_at=None, replays=runs.c.replays + 1)
    )  # fmt: skip
    audit(conn, now, actor, "dlq.replay", str(dead_letter_id), reason,
          {"run_id": row.run_id, "workflow": row.workflow}, tenant_id=row.tenant_id)  # fmt: skip
    return dict(row._mapping)


def decide(
    conn: Connection, run_id: str, name: str | None, decision: str, actor: str, reason: str,
    now: float,
) -> str:  # fmt: skip
    """Decide a pending approval once (the UPDATE is guarded by ``decision IS NULL``, so of
    two deciders racing only one changes the row), audit it, wake the run; its name."""
    where = [approvals.c.run_id == run_id]
    if name is not None:
        where.append(approvals.c.name == name)
    rows = conn.execute(sa.select(approvals).where(*where).order_by(approvals.c.requested_at)).all()
    named = f" named {name!r}" if name else ""
    if not rows:
        raise NotFoundError(f"run {run_id!r} has no approval{named}")
    pending = [r for r in rows if r.decision is None]
    chosen = str((pending[0] if pending else rows[-1]).name)
    won = conn.execute(
        sa.update(approvals)
        .where(approvals.c.run_id == run_id, approvals.c.name == chosen,
               approvals.c.decision.is_(None))
        .values(decision=decision, decided_by=actor, decided_at=now, reason=reason)
    ).rowcount  # fmt: skip
    if won != 1:
        # Decided before we looked, or by a concurrent decider whose UPDATE came first (on
        # PostgreSQL ours waited for its row lock, then found decision set): say by whom.
        first = conn.execute(
            sa.select(approvals).where(approvals.c.run_id == run_id, approvals.c.name == chosen)
        ).one()
        raise ApprovalDecidedError(
            f"run {run_id!r} has no pending approval{named}: {chosen!r} was already decided "
            f"({first.decision} by {first.decided_by}: {first.reason!r}); the decision of "
            f"{actor} is refused"
        )
    conn.execute(
        sa.update(runs)
        .where(runs.c.id == run_id, runs.c.status == "waiting")
        .values(status="ready", ready_at=now)
    )
    tenant = conn.execute(sa.select(runs.c.tenant_id).where(runs.c.id == run_id)).scalar()
    audit(conn, now, actor, f"approval.{decision}", run_id, reason, {"name": chosen},
          tenant_id=str(tenant or ""))  # fmt: skip
    return chosen
