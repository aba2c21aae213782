"""A simulated external ledger (a payments provider) that dedupes by idempotency key and
records every attempt, so tests can prove each effect happened exactly once."""

from __future__ import annotations

import sqlite3
from typing import Any

import psycopg


class Ledger:
    """Append-only attempts plus one effect per idempotency key, in SQLite or PostgreSQL."""

    def __init__(self, dsn: str, schema: str | None = None) -> None:
        self.dsn, self.schema = dsn, schema
        self._conn: Any = None
        with self._connect() as conn:
            cur = conn.cursor()
            cur.execute(
                "CREATE TABLE IF NOT EXISTS ledger_attempts (key TEXT NOT NULL, run_id TEXT, pid INTEGER)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS ledger_effects (key TEXT PRIMARY KEY, amount INTEGER)"
            )
            conn.commit()

    def _connect(self) -> Any:
        if self.dsn.startswith("postgresql"):
            url = self.dsn.replace("postgresql+psycopg://", "postgresql://")
            options = f"-csearch_path={self.schema}" if self.schema else ""
            return psycopg.connect(url, options=options)
        return sqlite3.connect(self.dsn.removeprefix("sqlite:///"), timeout=60)

    def _sql(self, text: str) -> str:
        return text.replace("?", "%s") if self.dsn.startswith("postgresql") else text

    def apply(self, key: str, amount: int, run_id: str, pid: int) -> None:
        """Record the attempt; apply the effect only if this key was never applied."""
        if self._conn is None:
            self._conn = self._connect()
        conn = self._conn
        cur = conn.cursor()
        cur.execute(self._sql("INSERT INTO ledger_attempts VALUES (?, ?, ?)"), (key, run_id, pid))
        cur.execute(
            self._sql("INSERT INTO ledger_effects VALUES (?, ?) ON CONFLICT (key) DO NOTHING"),
            (key, amount),
        )
        conn.commit()

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        """Every row of ledger_attempts or ledger_effects."""
        assert table in ("ledger_attempts", "ledger_effects")
        with self._connect() as conn:
            cur = conn.cursor()
            cur.execute(f"SELECT * FROM {table}")
            return list(cur.fetchall())
