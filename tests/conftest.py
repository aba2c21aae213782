"""Shared fixtures: one real embedded ClickHouse (chDB) per test session.

chDB runs one engine per process, so every test gets its own *database* inside the
session's engine: isolated, migrated, and cheap.
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
FIXTURES = REPO.parent / "shared" / "fixtures"


@pytest.fixture(scope="session")
def engine_dsn(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The chdb:// URL of this session's embedded engine."""
    return f"chdb://{tmp_path_factory.mktemp('chdb') / 'clickhouse'}"


@pytest.fixture
def store(engine_dsn: str) -> Iterator[Store]:
    """A freshly migrated, empty database in the session's real ClickHouse engine."""
    handle = Store(engine_dsn, database=f"t_{uuid.uuid4().hex[:12]}")
    migrate(handle)
    yield handle
    handle.close()


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
