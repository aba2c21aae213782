"""The state store on PostgreSQL (many worker processes), with its psycopg hot path.

Claims use ``FOR UPDATE SKIP LOCKED``. A claim, a checkpoint and a release are each one
statement in autocommit (compiled once from the SQLAlchemy constructs), sent as a
server-side prepared statement on a connection the worker thread keeps open: no pool
checkout, no per-call compilation, one round trip. Everything else goes through the
SQLAlchemy pool like on SQLite.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable
from typing import Any

import psycopg
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Dialect

from orchestrator.state.base import FENCE, STEP_COLUMNS, StateStore, claim_statement
from orchestrator.state.records import Lease, RunRecord, lease_lost
from orchestrator.state.schema import runs, steps

__all__ = ["HotPath", "PostgresStore"]

logger = logging.getLogger(__name__)

B = sa.bindparam
_CLAIM = claim_statement(skip_locked=True)
# The fence (check-and-renew the lease) and the step upsert in one statement.
_FENCED = FENCE.returning(runs.c.id).cte("fenced")
_upsert = pg_insert(steps).from_select(
    ["run_id", "step_key", "finished_at", *STEP_COLUMNS],
    sa.select(_FENCED.c.id, B("key"), B("at"),
              *(B(f"v_{c}", type_=steps.c[c].type) for c in STEP_COLUMNS)),
)  # fmt: skip
_FENCED_UPSERT = _upsert.on_conflict_do_update(
    index_elements=["run_id", "step_key"],
    set_={c: _upsert.excluded[c] for c in ("finished_at", *STEP_COLUMNS)},
).returning(steps.c.run_id)


@functools.cache  # a few value sets (finished, rescheduled, waiting)
def _fenced_release(names: tuple[str, ...]) -> sa.Update:
    return (
        sa.update(runs)
        .where(runs.c.id == B("rid"), runs.c.lease_owner == B("owner"),
               runs.c.lease_token == B("token"), runs.c.status == "running")
        .values(lease_owner=None, lease_expires_at=None,
                **{n: B(f"v_{n}", type_=runs.c[n].type) for n in names})
        .returning(runs.c.id)
    )  # fmt: skip


class HotPath:
    """Executes statements (compiled once per name) on a per-thread autocommit connection."""

    def __init__(self, conninfo: str, options: str, dialect: Dialect) -> None:
        self.conninfo, self.options, self.dialect = conninfo, options, dialect
        self._local = threading.local()
        self._opened: list[psycopg.Connection[Any]] = []
        self._compiled: dict[Any, tuple[str, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def _connection(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._local, "conn", None)
        if conn is None or conn.closed:
            kwargs: dict[str, Any] = {"autocommit": True}
            if self.options:
                kwargs["options"] = self.options
            conn = psycopg.connect(self.conninfo, **kwargs)
            self._local.conn = conn
            with self._lock:
                self._opened.append(conn)
        return conn

    def first(self, name: Any, stmt: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """Run ``stmt`` (compiled the first time under ``name``; then ``stmt`` may be None)
        prepared on the server; its first row by column name, or None."""
        found = self._compiled.get(name)
        if found is None:
            compiled = stmt.compile(dialect=self.dialect)
            found = self._compiled[name] = (str(compiled), dict(compiled.params))
        sql, defaults = found
        conn = self._connection()
        try:
            cursor = conn.execute(sql, {**defaults, **params}, prepare=True)
            row = cursor.fetchone()
            if row is None or cursor.description is None:
                return None
            return dict(zip((d.name for d in cursor.description), row, strict=True))
        except psycopg.OperationalError:
            # A broken connection: the next call opens a new one; this write failed.
            self._local.conn = None
            conn.close()
            raise

    def close(self) -> None:
        """Close every connection a thread opened."""
        with self._lock:
            opened, self._opened = self._opened, []
        for conn in opened:
            conn.close()


class PostgresStore(StateStore):
    """Engine state in PostgreSQL (``schema``: the search_path, for tests and benches)."""

    def __init__(
        self, dsn: str, *, schema: str | None = None, synchronous_commit: bool = True,
        progress: Callable[[str], None] | None = None,
    ) -> None:  # fmt: skip
        options = [f"-csearch_path={schema}"] if schema else []
        if not synchronous_commit:
            # A PostgreSQL crash may forget the last few hundred ms of commits; those
            # steps then run again (at-least-once, as after a worker crash).
            options.append("-csynchronous_commit=off")
        args: dict[str, Any] = {"options": " ".join(options)} if options else {}
        # No pre-ping: it costs a round trip per transaction; a dead connection fails
        # the transaction, which the engine treats like any other failed write.
        engine = sa.create_engine(dsn, connect_args=args, pool_size=4, max_overflow=8)
        url = engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._hot = HotPath(url, " ".join(options), engine.dialect)
        super().__init__(engine, progress)

    def close(self) -> None:
        """Release pooled connections and the hot path's."""
        self._hot.close()
        super().close()

    def claim(self, owner: str, now: float, lease_seconds: float) -> RunRecord | None:
        """Atomically take the oldest ready run (``FOR UPDATE SKIP LOCKED``)."""
        found = self._hot.first("claim", _CLAIM, {"now": now, "owner": owner,
                                                  "expires": now + lease_seconds})  # fmt: skip
        return RunRecord.from_mapping(found) if found is not None else None

    def release(self, lease: Lease, now: float, **values: Any) -> None:
        """Leave the run (fenced, one statement): finished, rescheduled or waiting."""
        names = tuple(sorted(values))
        params = {"rid": lease.run_id, "owner": lease.owner, "token": lease.token,
                  **{f"v_{n}": values[n] for n in names}}  # fmt: skip
        if self._hot.first(("release", names), _fenced_release(names), params) is None:
            raise lease_lost(lease)

    def save_step(
        self, lease: Lease, now: float, lease_seconds: float, step_key: str, **values: Any
    ) -> None:
        """Checkpoint a step: lease check-and-renew and upsert in one statement."""
        key = values.pop("idempotency_key", None)
        params = {"rid": lease.run_id, "key": step_key, "at": now,
                  "owner": lease.owner, "token": lease.token, "expires": now + lease_seconds,
                  **{f"v_{c}": values.get(c) for c in STEP_COLUMNS}}  # fmt: skip
        if key is None:
            # The common case: one autocommitted round trip on this thread's connection.
            if self._hot.first("save_step", _FENCED_UPSERT, params) is None:
                raise lease_lost(lease)
            return
        with self.tx() as conn:
            if conn.execute(_FENCED_UPSERT, params).first() is None:
                raise lease_lost(lease)
            if values.get("status") == "ok":
                self.remember(conn, key, values.get("output") or "null", now)
