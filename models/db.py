"""The ClickHouse store: the only module that imports clickhouse_connect.

One ``Store`` per process and URL. ``chdb://`` runs the real ClickHouse engine in-process
(chDB locks its data directory to one process, so the store also holds a lock file naming
the owner's pid); ``http(s)://`` talks to a server. Clients are pooled: a thread borrows
one per statement, so receivers, workers and Streamlit sessions use the store at once.
"""

from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlparse

import clickhouse_connect
import pandas as pd
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from models.errors import QueryError, ReadOnlyError, StoreError, StoreLockedError
from models.queries import get_query

__all__ = ["Store", "concurrently", "current_store", "set_current_store"]

logger = logging.getLogger(__name__)

_READONLY_CODES = ("(READONLY)", "Code: 164")


class _DataDirLock:
    """An exclusive flock on ``<dir>.lock`` that names the pid holding it."""

    _held: ClassVar[dict[Path, tuple[int, int]]] = {}  # path -> (fd, users in this process)
    _guard = threading.Lock()

    @classmethod
    def acquire(cls, path: Path) -> None:
        with cls._guard:
            if path in cls._held:
                fd, users = cls._held[path]
                cls._held[path] = (fd, users + 1)
                return
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                owner = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise StoreLockedError(
                    f"the data directory {path.with_suffix('')} is in use by another Flowmeter "
                    f"process (pid {owner}); stop it first, or set FLOWMETER_DATA_DIR to another "
                    "folder (the embedded engine serves one process only)"
                ) from None
            os.ftruncate(fd, 0)
            os.pwrite(fd, str(os.getpid()).encode(), 0)
            cls._held[path] = (fd, 1)

    @classmethod
    def release(cls, path: Path) -> None:
        with cls._guard:
            fd, users = cls._held.pop(path, (-1, 0))
            if users > 1:
                cls._held[path] = (fd, users - 1)
            elif fd >= 0:
                os.close(fd)


class Store:
    """A ClickHouse store reached through clickhouse-connect, one client per thread."""

    def __init__(self, dsn: str, *, cluster: str = "", database: str = "") -> None:
        self.dsn = dsn
        self.cluster = cluster
        self.database = database
        if database and not database.isidentifier():
            raise StoreError(f"database name {database!r}: letters, digits and '_' only")
        self.embedded = dsn.startswith("chdb:")
        self._lock_path: Path | None = None
        if self.embedded:
            location = Path(urlparse(dsn).path or ".").resolve()
            self._lock_path = location.with_name(location.name + ".lock")
            _DataDirLock.acquire(self._lock_path)
        self._idle: queue.SimpleQueue[Client] = queue.SimpleQueue()
        self._clients: list[Client] = []
        self._clients_guard = threading.Lock()
        self._closed = False
        # Called with (statement, seconds) after each one: Flowmeter's /metrics histograms.
        self.statement_observer: Callable[[str, float], None] | None = None
        try:
            if database and self.embedded:
                try:
                    bootstrap = clickhouse_connect.get_client(dsn=self.dsn)
                    try:
                        bootstrap.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
                    finally:
                        bootstrap.close()
                except ClickHouseError as exc:
                    raise StoreError(f"create database {database}: {exc}") from exc
            self._give_back(self._borrow())  # open one client now so a bad URL fails at start
        except Exception:
            self.close()
            raise

    # --- clients -------------------------------------------------------------------------
    def _borrow(self) -> Client:
        """An idle client, or a new one: threads never share a client at the same time."""
        if self._closed:
            raise StoreError("the store is closed")
        try:
            return self._idle.get_nowait()
        except queue.Empty:
            pass
        try:
            client = self._open_client()
        except ClickHouseError as exc:
            raise StoreError(f"cannot open the ClickHouse store {self._safe_dsn}: {exc}") from exc
        with self._clients_guard:
            self._clients.append(client)
        return client

    def _give_back(self, client: Client) -> None:
        if not self._closed:
            self._idle.put(client)

    def _open_client(self) -> Client:
        database = self.database or None
        if self.embedded:
            return clickhouse_connect.get_client(dsn=self.dsn, database=database)
        # No session id: a session-less HTTP client may be shared, and never serialises.
        return clickhouse_connect.get_client(
            dsn=self.dsn, database=database, autogenerate_session_id=False
        )

    @property
    def _safe_dsn(self) -> str:
        parsed = urlparse(self.dsn)
        if parsed.password:
            return self.dsn.replace(f":{parsed.password}@", ":***@")
        return self.dsn

    def close(self) -> None:
        """Close every client; the embedded engine's data dir is released."""
        self._closed = True
        with self._clients_guard:
            clients, self._clients = self._clients, []
        for client in clients:
            try:
                client.close()
            except ClickHouseError:
                logger.warning("closing a ClickHouse client failed", exc_info=True)
        if self._lock_path is not None:
            _DataDirLock.release(self._lock_path)
            self._lock_path = None

    # --- named queries -------------------------------------------------------------------
    def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run the named query; rows as dicts."""
        result = self._run_query(name, params)
        return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]

    def query_df(self, name: str, **params: Any) -> pd.DataFrame:
        """Run the named query; a pandas DataFrame."""
        query = get_query(name)
        with self._session(query.name) as client:
            frame = client.query_df(query.sql, parameters=query.bind(params))
        if frame.empty and len(frame.columns) == 0:
            # No rows comes back without columns; keep the header's so callers can rely on them.
            return pd.DataFrame(columns=query.columns)
        return frame

    def execute(self, name: str, **params: Any) -> None:
        """Run a named statement that returns nothing (INSERT ... SELECT, ALTER ...)."""
        query = get_query(name)
        with self._session(query.name) as client:
            client.command(query.sql, parameters=query.bind(params))

    def _run_query(self, name: str, params: Mapping[str, Any]) -> Any:
        query = get_query(name)
        with self._session(query.name) as client:
            return client.query(query.sql, parameters=query.bind(params))

    # --- writes --------------------------------------------------------------------------
    def insert(
        self,
        table: str,
        data: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        *,
        column_oriented: bool = False,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert rows (or columns, with column_oriented) into a table in one INSERT."""
        with self._session(f"insert into {table}") as client:
            client.insert(
                table,
                data,
                column_names=list(column_names),
                column_oriented=column_oriented,
                settings=dict(settings or {}),
            )

    def insert_df(self, table: str, frame: pd.DataFrame) -> None:
        """Insert a DataFrame whose columns are named as the table's."""
        with self._session(f"insert into {table}") as client:
            client.insert_df(table, frame)

    def insert_raw(
        self,
        table: str,
        payload: bytes,
        fmt: str,
        *,
        column_names: Sequence[str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert bytes that ClickHouse decodes itself (``FORMAT Protobuf``, ``CSV`` ...)."""
        with self._session(f"insert into {table}") as client:
            client.raw_insert(
                table,
                column_names=list(column_names) if column_names else None,
                insert_block=payload,
                settings=dict(settings or {}),
                fmt=fmt,
            )

    def ddl(self, statement: str) -> None:
        """Run one schema statement (migrations only)."""
        with self._session("schema statement") as client:
            client.command(statement)

    # --- ad hoc reads (flowmeter sql) ----------------------------------------------------
    def read_only(self, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
        """Run engineer-typed SQL with ClickHouse's ``readonly`` setting; writes are refused."""
        if self._closed:
            raise StoreError("the store is closed")
        # A client of its own, closed after: chDB keeps per-query settings on the connection,
        # and a pooled client must never come back read-only.
        client = self._open_client()
        try:
            result = client.query(sql, settings={"readonly": 1})
        except ClickHouseError as exc:
            message = str(exc)
            if any(code in message for code in _READONLY_CODES):
                raise ReadOnlyError(
                    "refused: `flowmeter sql` is read-only (ClickHouse readonly=1); "
                    "only SELECT, SHOW, DESCRIBE and EXPLAIN run here"
                ) from None
            raise StoreError(_first_line(message)) from None
        finally:
            client.close()
        return list(result.column_names), [tuple(row) for row in result.result_rows]

    def scalar(self, sql_name: str, **params: Any) -> Any:
        """First column of the first row of a named query (None when empty)."""
        rows = self._run_query(sql_name, params).result_rows
        return rows[0][0] if rows else None

    @contextmanager
    def _session(self, what: str) -> Iterator[Client]:
        """Borrow a client for one statement; ClickHouse errors become StoreError."""
        client = self._borrow()
        started = time.perf_counter()
        try:
            yield client
        except QueryError:
            raise
        except ClickHouseError as exc:
            raise StoreError(f"{what}: {_first_line(str(exc))}") from exc
        finally:
            self._give_back(client)
            if self.statement_observer is not None:
                self.statement_observer(what, time.perf_counter() - started)


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    for line in lines:
        if "DB::Exception" in line or "Code:" in line:
            return line.strip()
    return lines[0].strip() if lines else message


_current: Store | None = None
_current_guard = threading.Lock()


def set_current_store(store: Store | None) -> None:
    """Make ``store`` the process-wide handle (``flowmeter up`` and tests set it)."""
    global _current
    with _current_guard:
        _current = store


def current_store() -> Store:
    """The process-wide store; opened from the settings (and migrated) on first use."""
    global _current
    with _current_guard:
        if _current is None:
            from models.migrations import migrate
            from models.settings import load_settings

            settings = load_settings()
            store = Store(settings.clickhouse_dsn, cluster=settings.clickhouse_cluster)
            migrate(store)
            _current = store
        return _current


def concurrently(*calls: Callable[[], Any]) -> list[Any]:
    """Run independent store calls at once (each borrows its own pooled client); results in order.

    A dashboard figure often needs several small queries; run one after another their fixed
    costs add up, run together they overlap. The first call runs on the caller's thread; the
    first call's exception (else the first other one's) is raised once every call has finished.
    """
    if len(calls) <= 1:
        return [call() for call in calls]
    with ThreadPoolExecutor(max_workers=len(calls) - 1, thread_name_prefix="store") as pool:
        futures = [pool.submit(call) for call in calls[1:]]
        first = calls[0]()  # raising here still waits for the others (the pool's exit)
        return [first, *(future.result() for future in futures)]
