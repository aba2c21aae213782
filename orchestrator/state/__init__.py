"""The engine's state database: one store per backend behind ``StateStore``.

    schema.py     the tables (as the newest migration leaves them)
    migrate.py    Alembic revisions in migrations/, applied when a store opens
    base.py       StateStore: the interface and the SQL every backend shares
    sqlite.py     SQLiteStore (the default, one file in the data dir)
    postgres.py   PostgresStore (many workers) with its psycopg hot path

Only this package imports SQLAlchemy.
"""

from __future__ import annotations

from collections.abc import Callable

from models.settings import Settings
from orchestrator.state.base import StateStore
from orchestrator.state.postgres import PostgresStore
from orchestrator.state.records import Lease, RunRecord
from orchestrator.state.sqlite import SQLiteStore

__all__ = [
    "Lease",
    "PostgresStore",
    "RunRecord",
    "SQLiteStore",
    "StateStore",
    "open_store",
    "store_from_settings",
]


def open_store(
    dsn: str, *, schema: str | None = None, synchronous_commit: bool = True,
    progress: Callable[[str], None] | None = None,
) -> StateStore:  # fmt: skip
    """The store for ``dsn`` (``sqlite:///...`` or ``postgresql+psycopg://...``), migrated
    to the newest revision (``progress`` hears each revision applied); ``schema`` and
    ``synchronous_commit`` apply to PostgreSQL."""
    if dsn.startswith("postgresql"):
        return PostgresStore(dsn, schema=schema, synchronous_commit=synchronous_commit,
                             progress=progress)  # fmt: skip
    if dsn.startswith("sqlite"):
        return SQLiteStore(dsn, progress)
    raise ValueError(f"state database URL {dsn.split(':')[0]}:... is neither sqlite nor "
                     "postgresql (FLOWMETER_ORCHESTRATOR_DB_URL)")  # fmt: skip


def store_from_settings(
    settings: Settings, progress: Callable[[str], None] | None = None
) -> StateStore:
    """The configured state database (SQLite in the data dir unless set), migrated."""
    if settings.orchestrator_dsn.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(settings.orchestrator_dsn, progress=progress,
                       synchronous_commit=settings.orchestrator_sync_commit)  # fmt: skip
    store.idempotency_ttl = settings.idempotency_ttl_hours * 3600.0
    return store
