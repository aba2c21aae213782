"""Durable engine state through SQLAlchemy: the only module that imports it.

SQLite (one file, writers serialised with BEGIN IMMEDIATE) by default; PostgreSQL for many
worker processes, where claims use ``FOR UPDATE SKIP LOCKED``. Every write a worker makes
while executing a run is fenced by its lease token: a worker whose lease expired cannot
checkpoint, so a run is never advanced by two workers.
"""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import Connection, Engine

from models.errors import LeaseLostError, NotFoundError, ReplayRefusedError
from models.settings import Settings

__all__ = ["ACTIVE", "TERMINAL", "Lease", "OrchestratorStore", "RunRecord"]

logger = logging.getLogger(__name__)

ACTIVE = ("ready", "waiting")
TERMINAL = ("completed", "failed", "dead_lettered", "compensated")

metadata = sa.MetaData()
Text, Float, Int = sa.Text, sa.Float, sa.Integer

runs = sa.Table(
    "fm_runs",
    metadata,
    sa.Column("id", sa.String(32), primary_key=True),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("phase", sa.String(20), nullable=False, server_default="main"),
    sa.Column("payload", Text, nullable=False),
    sa.Column("result", Text),
    sa.Column("error", Text),
    sa.Column("correlation_id", sa.String(200), nullable=False),
    sa.Column("tenant_id", sa.String(100), nullable=False, server_default=""),
    sa.Column("product_line", sa.String(100), nullable=False, server_default=""),
    sa.Column("entity_type", sa.String(100), nullable=False, server_default=""),
    sa.Column("entity_id", sa.String(200), nullable=False, server_default=""),
    sa.Column("mode", sa.String(20), nullable=False, server_default="automated"),
    sa.Column("dedupe_key", sa.String(300), unique=True),
    sa.Column("traceparent", sa.String(60), nullable=False),
    sa.Column("created_at", Float, nullable=False),
    sa.Column("ready_at", Float, nullable=False),
    sa.Column("finished_at", Float),
    sa.Column("lease_owner", sa.String(100)),
    sa.Column("lease_token", Int, nullable=False, server_default="0"),
    sa.Column("lease_expires_at", Float),
    sa.Column("executions", Int, nullable=False, server_default="0"),
    sa.Column("replays", Int, nullable=False, server_default="0"),
    sa.Index("fm_runs_ready", "status", "ready_at"),
    sa.Index("fm_runs_correlation", "correlation_id"),
)
steps = sa.Table(
    "fm_steps",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("step_key", sa.String(200), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),  # ok | error | retrying
    sa.Column("attempts", Int, nullable=False),
    sa.Column("input", Text),
    sa.Column("output", Text),
    sa.Column("error", Text),
    sa.Column("error_type", sa.String(200)),
    sa.Column("compensation", sa.String(200)),
    sa.Column("seq", Int, nullable=False),
    sa.Column("finished_at", Float, nullable=False),
)
idempotency = sa.Table(
    "fm_idempotency",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("result", Text, nullable=False),
    sa.Column("created_at", Float, nullable=False),
    sa.Column("expires_at", Float, nullable=False),
)
dead_letters = sa.Table(
    "fm_dead_letters",
    metadata,
    sa.Column("id", Int, primary_key=True, autoincrement=True),
    sa.Column("run_id", sa.String(32), nullable=False),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("step", sa.String(200), nullable=False, server_default=""),
    sa.Column("reason", sa.String(50), nullable=False),
    sa.Column("error", Text, nullable=False),
    sa.Column("payload", Text, nullable=False),
    sa.Column("attempts", Int, nullable=False),
    sa.Column("correlation_id", sa.String(200), nullable=False),
    sa.Column("tenant_id", sa.String(100), nullable=False),
    sa.Column("quarantined_at", Float, nullable=False),
    sa.Column("replayed_at", Float),
    sa.Column("replayed_by", sa.String(200)),
    sa.Column("replay_reason", Text),
)
audit_log = sa.Table(
    "fm_audit_log",
    metadata,
    sa.Column("id", Int, primary_key=True, autoincrement=True),
    sa.Column("at", Float, nullable=False),
    sa.Column("actor", sa.String(200), nullable=False),
    sa.Column("action", sa.String(50), nullable=False),
    sa.Column("target", sa.String(200), nullable=False),
    sa.Column("reason", Text, nullable=False),
    sa.Column("detail", Text, nullable=False, server_default="{}"),
)
approvals = sa.Table(
    "fm_approvals",
    metadata,
    sa.Column("run_id", sa.String(32), primary_key=True),
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("requested_at", Float, nullable=False),
    sa.Column("deadline", Float, nullable=False),
    sa.Column("decision", sa.String(20)),
    sa.Column("decided_by", sa.String(200)),
    sa.Column("decided_at", Float),
    sa.Column("reason", Text),
)
breakers = sa.Table(
    "fm_breakers",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("state", sa.String(20), nullable=False),
    sa.Column("changed_at", Float, nullable=False),
)
schedules = sa.Table(
    "fm_schedules",
    metadata,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("workflow", sa.String(100), nullable=False),
    sa.Column("interval_seconds", Float, nullable=False),
    sa.Column("watermark", Float, nullable=False),
)


B = sa.bindparam
# Hot-path statements built once: building SQLAlchemy constructs per call costs more than
# the database round trip on SQLite.
_FENCE = (
    sa.update(runs)
    .where(runs.c.id == B("rid"), runs.c.lease_owner == B("owner"),
           runs.c.lease_token == B("token"), runs.c.status == "running")
    .values(lease_expires_at=B("expires"))
)  # fmt: skip
_STEP_COLUMNS = ("status", "attempts", "input", "output", "error", "error_type",
                 "compensation", "seq")  # fmt: skip
_DELETE_STEP = sa.delete(steps).where(steps.c.run_id == B("rid"), steps.c.step_key == B("key"))
_INSERT_STEP = sa.insert(steps).values(
    run_id=B("rid"), step_key=B("key"), finished_at=B("at"),
    **{c: B(f"v_{c}", required=False) for c in _STEP_COLUMNS},
)  # fmt: skip
_PG_FENCED = _FENCE.returning(runs.c.id).cte("fenced")
_pg_upsert = pg_insert(steps).from_select(
    ["run_id", "step_key", "finished_at", *_STEP_COLUMNS],
    sa.select(_PG_FENCED.c.id, B("key"), B("at"),
              *(B(f"v_{c}", type_=steps.c[c].type) for c in _STEP_COLUMNS)),
)  # fmt: skip
_PG_FENCED_UPSERT = _pg_upsert.on_conflict_do_update(
    index_elements=["run_id", "step_key"],
    set_={c: _pg_upsert.excluded[c] for c in ("finished_at", *_STEP_COLUMNS)},
).returning(steps.c.run_id)
_CHECKPOINTS = sa.select(steps).where(steps.c.run_id == B("rid"))
_RECALL = sa.select(idempotency.c.result).where(
    idempotency.c.key == B("key"), idempotency.c.expires_at > B("now")
)


def dumps(value: Any) -> str:
    """JSON text of a checkpointed value."""
    return json.dumps(value, default=str, separators=(",", ":"))


@dataclass(frozen=True)
class RunRecord:
    """One row of fm_runs."""

    id: str
    workflow: str
    status: str
    phase: str
    payload: Any
    correlation_id: str
    tenant_id: str
    product_line: str
    entity_type: str
    entity_id: str
    mode: str
    traceparent: str
    created_at: float
    ready_at: float
    lease_token: int
    executions: int
    replays: int
    result: Any = None
    error: str | None = None
    finished_at: float | None = None

    @classmethod
    def from_row(cls, row: Any) -> RunRecord:
        """Build from a fm_runs row."""
        return cls.from_mapping(dict(row._mapping))

    @classmethod
    def from_mapping(cls, m: dict[str, Any]) -> RunRecord:
        """Build from a fm_runs row as a dict."""
        return cls(
            id=m["id"], workflow=m["workflow"], status=m["status"], phase=m["phase"],
            payload=json.loads(m["payload"]), correlation_id=m["correlation_id"],
            tenant_id=m["tenant_id"], product_line=m["product_line"],
            entity_type=m["entity_type"], entity_id=m["entity_id"], mode=m["mode"],
            traceparent=m["traceparent"], created_at=m["created_at"], ready_at=m["ready_at"],
            lease_token=m["lease_token"], executions=m["executions"], replays=m["replays"],
            result=json.loads(m["result"]) if m["result"] else None, error=m["error"],
            finished_at=m["finished_at"],
        )  # fmt: skip


@dataclass(frozen=True)
class Lease:
    """A worker's fenced hold on one run."""

    run_id: str
    owner: str
    token: int


class OrchestratorStore:
    """Engine state in SQLite or PostgreSQL; creates its tables on open."""

    def __init__(
        self, dsn: str, *, schema: str | None = None, synchronous_commit: bool = True
    ) -> None:
        self.dsn = dsn
        self.is_postgres = dsn.startswith("postgresql")
        if self.is_postgres:
            options = [f"-csearch_path={schema}"] if schema else []
            if not synchronous_commit:
                # A PostgreSQL crash may forget the last few hundred ms of commits; those
                # steps then run again (at-least-once, as after a worker crash).
                options.append("-csynchronous_commit=off")
            args: dict[str, Any] = {"options": " ".join(options)} if options else {}
            # No pre-ping: it costs a round trip per transaction; a dead connection fails
            # the transaction, which the engine treats like any other failed write.
            self.engine: Engine = sa.create_engine(
                dsn, connect_args=args, pool_size=4, max_overflow=8
            )
        else:
            self.engine = sa.create_engine(
                dsn, connect_args={"timeout": 60, "isolation_level": None}
            )
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
            sa.event.listen(self.engine, "begin", _sqlite_begin_immediate)
        metadata.create_all(self.engine)
        self._hot: Any = None
        self._compiled: dict[Any, tuple[str, dict[str, Any]]] = {}
        if self.is_postgres:
            from orchestrator.hotpath import HotPath

            url = self.engine.url.set(drivername="postgresql")
            self._hot = HotPath(url.render_as_string(hide_password=False), " ".join(options))
        self._autocommit = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        # Plain binds, not an expanding IN: the hot path compiles this statement once.
        active = runs.c.status.in_([sa.literal(s) for s in ACTIVE])
        pick = sa.select(runs.c.id).where(active, runs.c.ready_at <= B("now"))
        pick = pick.order_by(runs.c.ready_at).limit(1)
        if self.is_postgres:
            pick = pick.with_for_update(skip_locked=True)
        self._claim_stmt = (
            sa.update(runs)
            .where(runs.c.id == pick.scalar_subquery(), active)
            .values(
                status="running", lease_owner=B("owner"), lease_token=runs.c.lease_token + 1,
                lease_expires_at=B("expires"), executions=runs.c.executions + 1,
            )
            .returning(*runs.c)
        )  # fmt: skip

    @classmethod
    def from_settings(cls, settings: Settings) -> OrchestratorStore:
        """The configured state database (SQLite in the data dir unless set)."""
        if settings.orchestrator_dsn.startswith("sqlite"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        store = cls(settings.orchestrator_dsn,
                    synchronous_commit=settings.orchestrator_sync_commit)  # fmt: skip
        store.idempotency_ttl = settings.idempotency_ttl_hours * 3600.0
        return store

    @property
    def safe_dsn(self) -> str:
        """The database URL with any password hidden."""
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        """Release pooled connections (and the checkpoint hot path's)."""
        if self._hot is not None:
            self._hot.close()
        self.engine.dispose()

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction."""
        with self.engine.begin() as conn:
            yield conn

    @contextmanager
    def one_statement(self) -> Iterator[Connection]:
        """A connection for one atomic statement: on PostgreSQL in autocommit mode (no
        BEGIN/COMMIT round trips), on SQLite an ordinary transaction."""
        if self.is_postgres:
            with self._autocommit.connect() as conn:
                yield conn
        else:
            with self.engine.begin() as conn:
                yield conn

    # --- submitting and claiming ---------------------------------------------------------
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

    def claim(self, owner: str, now: float, lease_seconds: float) -> RunRecord | None:
        """Atomically take the oldest ready run (SKIP LOCKED / guarded UPDATE)."""
        stmt = self._claim_stmt
        if self._hot is not None:
            found = self._hot_first("claim", stmt, {"now": now, "owner": owner,
                                                    "expires": now + lease_seconds})  # fmt: skip
            return RunRecord.from_mapping(found) if found is not None else None
        with self.one_statement() as conn:
            row = conn.execute(stmt, {"now": now, "owner": owner,
                                      "expires": now + lease_seconds}).first()  # fmt: skip
        return RunRecord.from_row(row) if row is not None else None

    def _hot_first(self, name: Any, stmt: Any, params: dict[str, Any]) -> dict[str, Any] | None:
        """Execute ``stmt`` (compiled once under ``name``) on the thread's open connection."""
        found = self._compiled.get(name)
        if found is None:
            compiled = stmt.compile(dialect=self.engine.dialect)
            found = self._compiled[name] = (str(compiled), dict(compiled.params))
        sql, defaults = found
        return self._hot.first(sql, {**defaults, **params})

    def fence(self, conn: Connection, lease: Lease, now: float, lease_seconds: float) -> None:
        """Renew the lease inside ``conn``'s transaction, or raise LeaseLostError."""
        result = conn.execute(_FENCE, {"rid": lease.run_id, "owner": lease.owner,
                                       "token": lease.token, "expires": now + lease_seconds})  # fmt: skip
        if result.rowcount != 1:
            raise LeaseLostError(f"run {lease.run_id}: lease {lease.token} lost by {lease.owner}")

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

    def release(self, lease: Lease, now: float, **values: Any) -> None:
        """Leave the run (fenced): finished, rescheduled or waiting, as ``values`` say."""
        if self._hot is not None:
            names = tuple(sorted(values))
            fenced_release = (
                sa.update(runs)
                .where(runs.c.id == B("rid"), runs.c.lease_owner == B("owner"),
                       runs.c.lease_token == B("token"), runs.c.status == "running")
                .values(lease_owner=None, lease_expires_at=None,
                        **{n: B(f"v_{n}", type_=runs.c[n].type) for n in names})
                .returning(runs.c.id)
            ) if ("release", names) not in self._compiled else None  # fmt: skip
            params = {"rid": lease.run_id, "owner": lease.owner, "token": lease.token,
                      **{f"v_{n}": values[n] for n in names}}  # fmt: skip
            if self._hot_first(("release", names), fenced_release, params) is None:
                raise LeaseLostError(
                    f"run {lease.run_id}: lease {lease.token} lost by {lease.owner}"
                )
            return
        stmt = (
            sa.update(runs)
            .where(runs.c.id == lease.run_id, runs.c.lease_owner == lease.owner,
                   runs.c.lease_token == lease.token, runs.c.status == "running")
            .values(lease_owner=None, lease_expires_at=None, **values)
        )  # fmt: skip
        with self.one_statement() as conn:
            if conn.execute(stmt).rowcount != 1:
                raise LeaseLostError(
                    f"run {lease.run_id}: lease {lease.token} lost by {lease.owner}"
                )

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

    def last_replay_at(self, run_id: str) -> float | None:
        """When a dead letter of this run was last replayed."""
        with self.engine.connect() as conn:
            value = conn.execute(
                sa.select(sa.func.max(dead_letters.c.replayed_at)).where(
                    dead_letters.c.run_id == run_id
                )
            ).scalar()
        return float(value) if value is not None else None

    # --- checkpoints -----------------------------------------------------------------------
    def checkpoints(self, run_id: str) -> dict[str, dict[str, Any]]:
        """Every checkpointed step of a run by key."""
        with self.engine.connect() as conn:
            rows = conn.execute(_CHECKPOINTS, {"rid": run_id}).all()
        return {r.step_key: dict(r._mapping) for r in rows}

    def save_step(
        self, lease: Lease, now: float, lease_seconds: float, step_key: str, **values: Any
    ) -> None:
        """Checkpoint a step's outcome (fenced, one transaction; replaces a retrying row)."""
        key = values.pop("idempotency_key", None)
        params = {"rid": lease.run_id, "key": step_key, "at": now}
        params.update({f"v_{c}": values.get(c) for c in _STEP_COLUMNS})
        if self.is_postgres:
            fenced = {"owner": lease.owner, "token": lease.token, "expires": now + lease_seconds}
        if self.is_postgres and key is None:
            # The common case, one round trip on this thread's open connection: the lease
            # check-and-renew and the upsert in one autocommitted statement.
            if self._hot_first("save_step", _PG_FENCED_UPSERT, {**params, **fenced}) is None:
                raise LeaseLostError(
                    f"run {lease.run_id}: lease {lease.token} lost by {lease.owner}"
                )
            return
        with self.tx() as conn:
            if self.is_postgres:
                if conn.execute(_PG_FENCED_UPSERT, {**params, **fenced}).first() is None:
                    raise LeaseLostError(
                        f"run {lease.run_id}: lease {lease.token} lost by {lease.owner}"
                    )
            else:
                self.fence(conn, lease, now, lease_seconds)
                conn.execute(_DELETE_STEP, {"rid": lease.run_id, "key": step_key})
                conn.execute(_INSERT_STEP, params)
            if key is not None and values.get("status") == "ok":
                self._remember(conn, key, values.get("output") or "null", now)

    def _remember(self, conn: Connection, key: str, result: str, now: float) -> None:
        conn.execute(sa.delete(idempotency).where(idempotency.c.key == key))
        conn.execute(
            sa.insert(idempotency).values(
                key=key, result=result, created_at=now, expires_at=now + self.idempotency_ttl
            )
        )

    idempotency_ttl = 7 * 86400.0

    def recall(self, key: str, now: float) -> str | None:
        """The stored result for an idempotency key that has not expired, else None."""
        with self.engine.connect() as conn:
            row = conn.execute(_RECALL, {"key": key, "now": now}).first()
        return str(row[0]) if row is not None else None

    def purge_idempotency(self, now: float) -> int:
        """Delete expired idempotency records; return how many."""
        with self.tx() as conn:
            return int(
                conn.execute(sa.delete(idempotency).where(idempotency.c.expires_at <= now)).rowcount
            )

    # --- reads -------------------------------------------------------------------------------
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
        is_null: tuple[str, ...] = (),
        order_by: str | None = None,
        descending: bool = False,
        limit: int = 500,
    ) -> list[dict[str, Any]]:
        """Rows of one engine table as dicts, filtered by column equality / NULL-ness."""
        t = metadata.tables[table]
        where = [t.c[name] == value for name, value in (equals or {}).items()]
        where += [t.c[name].is_(None) for name in is_null]
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

    # --- dead letters, audit, approvals, breakers, schedules --------------------------------
    def quarantine(self, conn: Connection, **values: Any) -> int:
        """Insert a dead letter; return its id."""
        result = conn.execute(sa.insert(dead_letters).values(**values).returning(dead_letters.c.id))
        return int(result.scalar_one())

    def mark_replayed(
        self, dead_letter_id: int, actor: str, reason: str, now: float
    ) -> dict[str, Any]:
        """Claim a dead letter for replay exactly once; audit it; put its run back to ready."""
        with self.tx() as conn:
            row = conn.execute(
                sa.select(dead_letters).where(dead_letters.c.id == dead_letter_id)
            ).first()
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
            conn.execute(
                sa.delete(steps).where(steps.c.run_id == row.run_id, steps.c.status != "ok")
            )
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == row.run_id)
                .values(status="ready", phase="main", ready_at=now, error=None,
                        finished_at=None, replays=runs.c.replays + 1)
            )  # fmt: skip
            self.audit(conn, now, actor, "dlq.replay", str(dead_letter_id), reason,
                       {"run_id": row.run_id, "workflow": row.workflow})  # fmt: skip
            return dict(row._mapping)

    def audit(
        self,
        conn: Connection,
        now: float,
        actor: str,
        action: str,
        target: str,
        reason: str,
        detail: dict[str, Any] | None = None,
    ) -> None:
        """Append one audit row."""
        conn.execute(
            sa.insert(audit_log).values(
                at=now, actor=actor, action=action, target=target, reason=reason,
                detail=dumps(detail or {}),
            )
        )  # fmt: skip

    def approval(self, run_id: str, name: str) -> dict[str, Any] | None:
        """An approval request, or None."""
        rows = self.rows("fm_approvals", equals={"run_id": run_id, "name": name})
        return rows[0] if rows else None

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
        """Approve or reject a pending approval, audit it and wake the run; return its name."""
        with self.tx() as conn:
            where = [approvals.c.run_id == run_id, approvals.c.decision.is_(None)]
            if name is not None:
                where.append(approvals.c.name == name)
            row = conn.execute(sa.select(approvals).where(*where)).first()
            if row is None:
                raise NotFoundError(f"run {run_id!r} has no pending approval"
                                    + (f" named {name!r}" if name else ""))  # fmt: skip
            conn.execute(
                sa.update(approvals)
                .where(approvals.c.run_id == run_id, approvals.c.name == row.name)
                .values(decision=decision, decided_by=actor, decided_at=now, reason=reason)
            )
            conn.execute(
                sa.update(runs)
                .where(runs.c.id == run_id, runs.c.status == "waiting")
                .values(status="ready", ready_at=now)
            )
            self.audit(conn, now, actor, f"approval.{decision}", run_id, reason, {"name": row.name})
            return str(row.name)

    def breaker_state(self, name: str) -> tuple[str, float] | None:
        """(state, changed_at) last saved for a breaker by any worker, or None."""
        rows = self.rows("fm_breakers", equals={"name": name})
        return (str(rows[0]["state"]), float(rows[0]["changed_at"])) if rows else None

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
        make_run: Any,
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
                values = make_run(watermark, watermark + interval)
                if self.insert_run(conn, **values) is not None:
                    submitted += 1
                watermark += interval
            conn.execute(
                sa.update(schedules).where(schedules.c.name == name).values(watermark=watermark)
            )
            return submitted


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.close()


def _sqlite_begin_immediate(conn: Connection) -> None:
    # pysqlite defers BEGIN; taking the write lock up front avoids lock-upgrade deadlocks.
    conn.exec_driver_sql("BEGIN IMMEDIATE")
