"""Shared fixtures: one real embedded ClickHouse (chDB) per test session.

chDB runs one engine per process. The session migrates one database once; each test that
asks for ``store`` gets it with every table emptied (TRUNCATE is ~100x cheaper than
migrating a new database). Tests that need a database of their own (migrations, module
seeds) open ``Store(engine_dsn, database=...)`` themselves.
"""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from models.db import Store
from models.migrations import migrate

REPO = Path(__file__).resolve().parent.parent
# The official OTLP JSON examples from shared/fixtures, copied so a clone tests on its own.
FIXTURES = REPO / "tests" / "fixtures"


@pytest.fixture(scope="session")
def engine_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The chdb:// URL of this session's embedded engine."""
    return f"chdb://{tmp_path_factory.mktemp('chdb') / 'clickhouse'}"


@pytest.fixture(scope="session")
def _migrated_store(engine_dsn: str) -> Iterator[Store]:
    handle = Store(engine_dsn, database=f"t_{uuid.uuid4().hex[:12]}")
    migrate(handle)
    yield handle
    handle.close()


@pytest.fixture
def store(_migrated_store: Store) -> Store:
    """The session's migrated database in the real ClickHouse engine, every table empty."""
    _, rows = _migrated_store.read_only(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND engine NOT IN ('MaterializedView', 'View', 'Null') "
        "AND name != 'flowmeter_migrations'"
    )
    for (table,) in rows:
        _migrated_store.ddl(f"TRUNCATE TABLE `{table}`")
    return _migrated_store


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
