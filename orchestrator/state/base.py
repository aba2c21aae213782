"""The state store's common interface and the SQL every backend shares.

``StateStore`` is what the engine, the workers and the API talk to. What differs per
backend (how a run is claimed, released and checkpointed: the hot path) is abstract here
and lives in ``sqlite.py`` and ``postgres.py``; everything else is one SQLAlchemy Core
implementation. Every write a worker makes while executing a run is fenced by its lease
token: a worker whose lease expired cannot checkpoint, so a run is never advanced by two
workers.
"""

from __future__ import annotations

import logging
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from orchestrator.state import actions, migrate
from orchestrator.state.records import Lease, RunRecord, lease_lost
from orchestrator.state.schema import (
    ACTIVE,
    approvals,
    breakers,
    dead_letters,
    idempotency,
    leases,
    runs,
    schedules,
    steps,
)
from orchestrator.state.views import StateViews

__all__ = ["STEP_COLUMNS", "StateStore", "claim_statement"]

logger = logging.getLogger(__name__)

B = sa.bindparam
STEP_COLUMNS = ("status", "attempts", "input", "output", "error", "error_type",
                "compensation", "seq")  # fmt: skip
# Hot-path statements built once: building SQLAlchemy constructs per call costs more than
# the database round trip on SQLite.
FENCE = (
    sa.update(runs)
    .where(runs.c.id == B("rid"), runs.c.lease_owner == B("owner"),
           runs.c.lease_token == B("token"), runs.c.status == "running")
    .values(lease_expires_at=B("expires"))
)  # fmt: skip
_CHECKPOINTS = sa.select(steps).where(steps.c.run_id == B("rid"))
_RECALL = sa.select(idempotency.c.result).where(
    idempotency.c.key == B("key"), idempotency.c.expires_at > B("now")
)


def claim_statement(*, skip_locked: bool) -> sa.Update:
    """Take the oldest ready run: status, owner, lease and execution count in one UPDATE."""
    # Plain binds, not an expanding IN: the PostgreSQL hot path compiles this once.
    active = runs.c.status.in_([sa.literal(s) for s in ACTIVE])
    pick = sa.select(runs.c.id).where(active, runs.c.ready_at <= B("now"))
    pick = pick.order_by(runs.c.ready_at).limit(1)
    if skip_locked:
        pick = pick.with_for_update(skip_locked=True)
    return (
        sa.update(runs)
        .where(runs.c.id == pick.scalar_subquery(), active)
        .values(
            status="running", lease_owner=B("owner"), lease_token=runs.c.lease_token + 1,
            lease_expires_at=B("expires"), executions=runs.c.executions + 1,
        )
        .returning(*runs.c)
    )  # fmt: skip


class StateStore(StateViews, ABC):
    """Engine state in one SQL database; a subclass per backend supplies the hot path."""

    idempotency_ttl = 7 * 86400.0

    def __init__(self, engine: Engine, progress: Callable[[str], None] | None = None) -> None:
        self.engine = engine
        # Like the ClickHouse migrations at start: whoever opens the store first upgrades it.
        self.applied = migrate.upgrade(engine, progress)

    @property
    def dsn(self) -> str:
        """The database URL (with its password)."""
        return self.engine.url.render_as_string(hide_password=False)

    @property
    def safe_dsn(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release pooled connections."""
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction."""
        with self.engine.begin() as conn:
            yield conn

    # --- the hot path: one per backend --------------------------------------------------
    @abstractmethod
    def claim(self, owner: str, now: float, lease_seconds: float) -> RunRecord | None:
        """Atomically take the oldest ready run, or None when none is ready."""

    @abstractmethod
    def release(self, lease: Lease, now: float, **values: Any) -> None:
        """Leave the run (fenced): finished, rescheduled or waiting, as ``values`` say."""

    @abstractmethod
    def save_step(
        self, lease: Lease, now: float, lease_seconds: float, step_key: str, **values: Any
    ) -> None:
        """Checkpoint a step's outcome (fenced, one transaction; replaces a retrying row);
        with ``idempotency_key`` and status ok, remember the result under that key too."""

    # --- submitting and leases -----------------------------------------------------------
    def insert_run(self, conn: Connection, **values: Any) -> str | None:
        """Insert a run; with a dedupe_key already present return None (no duplicate)."""
        key = values.get("dedupe_key")
        if key is not None:
            found = conn.execute(sa.select(runs.c.id).where(runs.c.dedupe_key == key)).first()
            if found is not None:
                return None
        run_id = values.pop("id", None) or uuid.uuid4().hex
        conn.execute(sa.insert(runs).values(id=run_id, **values))
        return str(run_id)

    def fence(self, conn: Connection, lease: Lease, now: float, lease_seconds: float) -> None:
        """Renew the lease inside ``conn``'s transaction, or raise LeaseLostError."""
        result = conn.execute(FENCE, {"rid": lease.run_id, "owner": lease.owner,
                                      "token": lease.token, "expires": now + lease_seconds})  # fmt: skip
        if result.rowcount != 1:
            raise lease_lost(lease)

    def heartbeat(self, lease: Lease, now: float, lease_seconds: float) -> None:
        """Renew a lease (raises LeaseLostError when it is gone)."""
        with self.tx() as conn:
            self.fence(conn, lease, now, lease_seconds)

    def recover_expired(self, now: float) -> list[str]:
        """Return runs whose lease expired to ready; the continuous recovery sweep."""
        with self.tx() as conn:
            rows = conn.execute(
                sa.update(runs)
                .where(runs.c.status == "running", runs.c.lease_expires_at < now)
                .values(status="ready", lease_owner=None, ready_at=now)
                .returning(runs.c.id)
            ).all()
        return [str(r[0]) for r in rows]

    def update_fenced(self, lease: Lease, now: float, lease_seconds: float, **values: Any) -> None:
        """Change a run this worker still holds (fenced), keeping the lease."""
        with self.tx() as conn:
            self.fence(conn, lease, now, lease_seconds)
            conn.execute(sa.update(runs).where(runs.c.id == lease.run_id).values(**values))

    def dead_letter(self, lease: Lease, now: float, error: str, **letter: Any) -> int:
        """Mark the held run dead-lettered and quarantine it, in one transaction."""
        with self.tx() as conn:
            self.fence(conn, lease, now, 0.0)
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == lease.run_id)
                .values(status="dead_lettered", error=error, finished_at=now, lease_owner=None)
            )
            return self.quarantine(conn, run_id=lease.run_id, error=error, quarantined_at=now,
                                   **letter)  # fmt: skip

    def quarantine(self, conn: Connection, **values: Any) -> int:
        """Insert a dead letter; return its id."""
        result = conn.execute(sa.insert(dead_letters).values(**values).returning(dead_letters.c.id))
        return int(result.scalar_one())

    # --- checkpoints and idempotency ------------------------------------------------------
    def checkpoints(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Every checkpointed step of a run by key."""
        with self.engine.connect() as conn:
            rows = conn.execute(_CHECKPOINTS, {"rid": run_id}).all()
        return {r.step_key: dict(r._mapping) for r in rows}

    def remember(self, conn: Connection, key: str, result: str, now: float) -> None:
        """Store a step's result under its idempotency key (replacing an expired one)."""
        conn.execute(sa.delete(idempotency).where(idempotency.c.key == key))
        conn.execute(
            sa.insert(idempotency).values(
                key=key, result=result, created_at=now, expires_at=now + self.idempotency_ttl
            )
        )

    def recall(self, key: str, now: float) -> str | None:
        """The stored result for an idempotency key that has not expired, else None."""
        with self.engine.connect() as conn:
            row = conn.execute(_RECALL, {"key": key, "now": now}).first()
        return str(row[0]) if row is not None else None

    def purge_idempotency(self, now: float) -> int:
        """Delete expired idempotency records; return how many."""
        with self.tx() as conn:
            deleted = conn.execute(sa.delete(idempotency).where(idempotency.c.expires_at <= now))
            return int(deleted.rowcount)

    # --- audited actions ------------------------------------------------------------------
    def audit(
        self, conn: Connection, now: float, actor: str, action: str, target: str, reason: str,
        detail: dict[str, Any] | None = None, *, tenant_id: str = "",
    ) -> None:  # fmt: skip
        """Append one audit row (``tenant_id``: the tenant of the record acted on)."""
        actions.audit(conn, now, actor, action, target, reason, detail, tenant_id=tenant_id)

    def mark_replayed(
        self, dead_letter_id: int, actor: str, reason: str, now: float
    ) -> dict[str, Any]:
        """Claim a dead letter for replay exactly once; audit it; put its run back to ready."""
        with self.tx() as conn:
            return actions.mark_replayed(conn, dead_letter_id, actor, reason, now)

    def request_approval(self, run_id: str, name: str, now: float, deadline: float) -> None:
        """Record that a run waits for approval ``name`` (idempotent)."""
        with self.tx() as conn:
            exists = conn.execute(
                sa.select(approvals.c.run_id).where(
                    approvals.c.run_id == run_id, approvals.c.name == name
                )
            ).first()
            if exists is None:
                conn.execute(sa.insert(approvals).values(
                    run_id=run_id, name=name, requested_at=now, deadline=deadline))  # fmt: skip

    def decide(
        self, run_id: str, name: str | None, decision: str, actor: str, reason: str, now: float
    ) -> str:
        """Approve or reject a pending approval once, audit it and wake the run; return its
        name. NotFoundError when there is no such approval, ApprovalDecidedError when
        someone decided it first (also when two decide at the same moment)."""
        with self.tx() as conn:
            return actions.decide(conn, run_id, name, decision, actor, reason, now)

    # --- leases ---------------------------------------------------------------------------
    def hold_lease(self, name: str, holder: str, now: float, seconds: float) -> bool:
        """Take or renew the lease ``name`` for ``seconds``; False while another holds it."""
        with self.tx() as conn:
            renewed = conn.execute(
                sa.update(leases)
                .where(leases.c.name == name)
                .where(sa.or_(leases.c.holder == holder, leases.c.expires_at < now))
                .values(holder=holder, expires_at=now + seconds)
            ).rowcount
            if renewed:
                return True
        try:
            with self.tx() as conn:
                conn.execute(
                    sa.insert(leases).values(name=name, holder=holder, expires_at=now + seconds)
                )
        except sa.exc.IntegrityError:  # it exists and is someone else's, still valid
            return False
        return True

    def release_lease(self, name: str, holder: str) -> None:
        """Give the lease up now (a clean stop), so another process takes over at once."""
        with self.tx() as conn:
            conn.execute(
                sa.delete(leases).where(leases.c.name == name).where(leases.c.holder == holder)
            )

    # --- breakers and schedules -----------------------------------------------------------
    def save_breaker(self, name: str, state: str, now: float) -> None:
        """Persist a breaker's state so the dashboard and the other workers see it."""
        with self.tx() as conn:
            conn.execute(sa.delete(breakers).where(breakers.c.name == name))
            conn.execute(sa.insert(breakers).values(name=name, state=state, changed_at=now))

    def schedule_windows(
        self,
        name: str,
        workflow: str,
        interval: float,
        start: float,
        now: float,
        make_run: Callable[[float, float], dict[str, Any]],
    ) -> int:
        """Submit one run per elapsed window past the watermark, advancing it in the same
        transaction (the window's dedupe key makes a re-run of an interrupted window safe)."""
        with self.tx() as conn:
            row = conn.execute(sa.select(schedules).where(schedules.c.name == name)).first()
            if row is None:
                conn.execute(sa.insert(schedules).values(
                    name=name, workflow=workflow, interval_seconds=interval, watermark=start))  # fmt: skip
                watermark = start
            else:
                watermark = float(row.watermark)
            submitted = 0
            while watermark + interval <= now:
                if self.insert_run(conn, **make_run(watermark, watermark + interval)):
                    submitted += 1
                watermark += interval
            conn.execute(
                sa.update(schedules).where(schedules.c.name == name).values(watermark=watermark)
            )
            return submitted
