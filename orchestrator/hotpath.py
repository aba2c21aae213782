"""The PostgreSQL hot path (claim, checkpoint, release): one open psycopg connection per worker thread.

A claim, a checkpoint and a release are each one statement in autocommit (compiled once by
the store from its SQLAlchemy constructs), sent as a server-side prepared statement on a
connection the thread keeps open: no pool checkout, no per-call compilation, one round trip.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import psycopg

__all__ = ["HotPath"]

logger = logging.getLogger(__name__)


class HotPath:
    """Executes precompiled statements on a per-thread autocommit connection."""

    def __init__(self, conninfo: str, options: str) -> None:
        self.conninfo, self.options = conninfo, options
        self._local = threading.local()
        self._opened: list[psycopg.Connection[Any]] = []
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

    def first(self, sql: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """Run one statement (prepared on the server) with ``params``; its first row by
        column name, or None."""
        conn = self._connection()
        try:
            cursor = conn.execute(sql, params, prepare=True)
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
