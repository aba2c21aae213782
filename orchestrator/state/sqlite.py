"""The state store on one SQLite file (the default): writers serialised by BEGIN IMMEDIATE."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orchestrator.state.base import STEP_COLUMNS, StateStore, claim_statement
from orchestrator.state.records import Lease, RunRecord, lease_lost
from orchestrator.state.schema import runs, steps

__all__ = ["SQLiteStore"]

B = sa.bindparam
_CLAIM = claim_statement(skip_locked=False)  # one writer at a time: nothing to skip
_DELETE_STEP = sa.delete(steps).where(steps.c.run_id == B("rid"), steps.c.step_key == B("key"))
_INSERT_STEP = sa.insert(steps).values(
    run_id=B("rid"), step_key=B("key"), finished_at=B("at"),
    **{c: B(f"v_{c}", required=False) for c in STEP_COLUMNS},
)  # fmt: skip


class SQLiteStore(StateStore):
    """Engine state in a SQLite file; one process (the embedded mode) or a few readers."""

    def __init__(self, dsn: str, progress: Callable[[str], None] | None = None) -> None:
        engine = sa.create_engine(dsn, connect_args={"timeout": 60, "isolation_level": None})
        sa.event.listen(engine, "connect", _pragmas)
        sa.event.listen(engine, "begin", _begin_immediate)
        super().__init__(engine, progress)

    def claim(self, owner: str, now: float, lease_seconds: float) -> RunRecord | None:
        """Atomically take the oldest ready run (a guarded UPDATE under the write lock)."""
        with self.tx() as conn:
            row = conn.execute(_CLAIM, {"now": now, "owner": owner,
                                        "expires": now + lease_seconds}).first()  # fmt: skip
        return RunRecord.from_row(row) if row is not None else None

    def release(self, lease: Lease, now: float, **values: Any) -> None:
        """Leave the run (fenced): finished, rescheduled or waiting, as ``values`` say."""
        stmt = (
            sa.update(runs)
            .where(runs.c.id == lease.run_id, runs.c.lease_owner == lease.owner,
                   runs.c.lease_token == lease.token, runs.c.status == "running")
            .values(lease_owner=None, lease_expires_at=None, **values)
        )  # fmt: skip
        with self.tx() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise lease_lost(lease)

    def save_step(
        self, lease: Lease, now: float, lease_seconds: float, step_key: str, **values: Any
    ) -> None:
        """Checkpoint a step: fence, replace its row, remember an idempotent result."""
        key = values.pop("idempotency_key", None)
        params = {"rid": lease.run_id, "key": step_key, "at": now}
        params.update({f"v_{c}": values.get(c) for c in STEP_COLUMNS})
        with self.tx() as conn:
            self.fence(conn, lease, now, lease_seconds)
            conn.execute(_DELETE_STEP, {"rid": lease.run_id, "key": step_key})
            conn.execute(_INSERT_STEP, params)
            if key is not None and values.get("status") == "ok":
                self.remember(conn, key, values.get("output") or "null", now)


def _pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _begin_immediate(conn: Connection) -> None:
    # pysqlite defers BEGIN; taking the write lock up front avoids lock-upgrade deadlocks.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
