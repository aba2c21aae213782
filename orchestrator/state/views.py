"""Reads of engine state every backend answers the same way (for the API and the gauges)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from models.errors import NotFoundError
from orchestrator.state.records import RunRecord
from orchestrator.state.schema import ACTIVE, approvals, dead_letters, metadata, runs

__all__ = ["StateViews"]


class StateViews:
    """Read-only queries over ``self.engine``'s state tables."""

    engine: Engine

    def run(self, run_id: str) -> RunRecord:
        """One run by id."""
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(runs).where(runs.c.id == run_id)).first()
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r}")
        return RunRecord.from_row(row)

    def runs_by_correlation(self, correlation_id: str) -> list[RunRecord]:
        """Runs carrying a correlation id, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(runs)
                .where(runs.c.correlation_id == correlation_id)
                .order_by(runs.c.created_at)
            ).all()
        return [RunRecord.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """Runs per status."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)
            ).all()
        return {str(s): int(n) for s, n in rows}

    def oldest_ready(self, now: float) -> float | None:
        """ready_at of the oldest runnable run (queue lag), None when the queue is empty."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(runs.c.ready_at)).where(
                    runs.c.status.in_(ACTIVE), runs.c.ready_at <= now
                )
            ).scalar()
        return float(value) if value is not None else None

    def next_ready_at(self) -> float | None:
        """The earliest ready_at of any active run (used by the virtual-time backfill)."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.min(runs.c.ready_at)).where(runs.c.status.in_(ACTIVE))
            ).scalar()
        return float(value) if value is not None else None

    def rows(
        self,
        table: str,
        *,
        equals: dict[str, Any] | None = None,
        within: dict[str, Sequence[Any]] | None = None,
        is_null: tuple[str, ...] = (),
        not_null: tuple[str, ...] = (),
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Rows of one engine table as dicts: every filter (column equality, membership in
        ``within``, NULL-ness) is in the query, so ``limit`` counts matching rows only."""
        t = metadata.tables[table]
        where = [t.c[name] == value for name, value in (equals or {}).items()]
        where += [t.c[name].in_(list(values)) for name, values in (within or {}).items()]
        where += [t.c[name].is_(None) for name in is_null]
        where += [t.c[name].is_not(None) for name in not_null]
        stmt = sa.select(t).where(*where).limit(limit)
        if order_by is not None:
            column = t.c[order_by]
            stmt = stmt.order_by(column.desc() if descending else column)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt).all()]

    def dead_letter_depth(self) -> dict[str, int]:
        """Unreplayed dead letters per workflow."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(dead_letters.c.workflow, sa.func.count())
                .where(dead_letters.c.replayed_at.is_(None))
                .group_by(dead_letters.c.workflow)
            ).all()
        return {str(w): int(n) for w, n in rows}

    def last_replay_at(self, run_id: str) -> float | None:
        """When a dead letter of this run was last replayed."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.max(dead_letters.c.replayed_at)).where(
                    dead_letters.c.run_id == run_id
                )
            ).scalar()
        return float(value) if value is not None else None

    def approval(self, run_id: str, name: str) -> dict[str, Any] | None:
        """An approval request, or None."""
        rows = self.rows("fm_approvals", equals={"run_id": run_id, "name": name})
        return rows[0] if rows else None

    def pending_approvals(
        self, *, tenant_ids: Sequence[str] | None = None, limit: int = 500
    ) -> list[dict[str, Any]]:
        """Undecided approvals, oldest first, each with its run's workflow, correlation id,
        tenant and status (one query; the tenant filter comes before the limit)."""
        stmt = (
            sa.select(approvals, runs.c.workflow, runs.c.correlation_id, runs.c.tenant_id,
                      runs.c.status.label("run_status"))
            .join(runs, runs.c.id == approvals.c.run_id)
            .where(approvals.c.decision.is_(None))
            .order_by(approvals.c.requested_at)
            .limit(limit)
        )  # fmt: skip
        if tenant_ids is not None:
            stmt = stmt.where(runs.c.tenant_id.in_(list(tenant_ids)))
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt).all()]

    def breaker_state(self, name: str) -> tuple[str, float] | None:
        """(state, changed_at) last saved for a breaker by any worker, or None."""
        rows = self.rows("fm_breakers", equals={"name": name})
        return (str(rows[0]["state"]), float(rows[0]["changed_at"])) if rows else None
