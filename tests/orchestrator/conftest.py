"""Orchestrator fixtures: a state database on SQLite or on the local PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from orchestrator.state import StateStore, open_store
from tests.orchestrator import sample_flows

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_DSN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass(frozen=True)
class StateDb:
    """Where a test's engine state lives."""

    dsn: str
    schema: str  # "" on SQLite

    def open(self) -> StateStore:
        """A store on this database."""
        return open_store(self.dsn, schema=self.schema or None)


def _sqlite(tmp_path: Path) -> StateDb:
    return StateDb(f"sqlite:///{tmp_path / 'orchestrator.db'}", "")


@pytest.fixture
def pg_db() -> Iterator[StateDb]:
    """A fresh schema in the local PostgreSQL, dropped afterwards."""
    schema = f"t_orch_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield StateDb(PG_DSN, schema)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def state_db(request: pytest.FixtureRequest, tmp_path: Path) -> StateDb:
    """The engine state database: a SQLite file, and again the local PostgreSQL."""
    if request.param == "sqlite":
        return _sqlite(tmp_path)
    return request.getfixturevalue("pg_db")  # type: ignore[no-any-return]


@pytest.fixture
def sqlite_db(tmp_path: Path) -> StateDb:
    """A SQLite state database only."""
    return _sqlite(tmp_path)


@pytest.fixture(autouse=True)
def _fresh_sample_state() -> Iterator[None]:
    sample_flows.calls.clear()
    sample_flows.failures.clear()
    yield
    sample_flows.calls.clear()
    sample_flows.failures.clear()
