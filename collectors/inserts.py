"""What the writer inserts through and by which rules: the store interface, per-table
inserts, segment encoders, the ClickHouse error codes that tell a store outage from data the
store refuses, and the writer's policy (batching, attempts, backoff, quarantine retention)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from models.errors import StoreDataError, StoreError

__all__ = [
    "OUTAGE_CODES",
    "BadRecord",
    "ErrorCode",
    "InsertTarget",
    "SegmentEncoder",
    "StoreHealth",
    "StoreOutageError",
    "TableInsert",
    "WriterPolicy",
    "is_outage",
]


class ErrorCode(IntEnum):
    """ClickHouse error codes the writer tells apart (src/Common/ErrorCodes.cpp)."""

    UNEXPECTED_END_OF_FILE = 3
    NO_SUCH_COLUMN_IN_TABLE = 16
    UNKNOWN_TABLE = 60
    UNKNOWN_DATABASE = 81
    TIMEOUT_EXCEEDED = 159
    TOO_SLOW = 160
    READONLY = 164
    TOO_MANY_SIMULTANEOUS_QUERIES = 202
    SOCKET_TIMEOUT = 209
    NETWORK_ERROR = 210
    MEMORY_LIMIT_EXCEEDED = 241
    TABLE_IS_READ_ONLY = 242
    NOT_ENOUGH_SPACE = 243
    TOO_MANY_PARTS = 252
    UNKNOWN_STATUS_OF_INSERT = 319
    QUERY_WAS_CANCELLED = 394
    SYSTEM_ERROR = 425
    VIOLATED_CONSTRAINT = 469
    KEEPER_EXCEPTION = 999


# About the store, not the data: resources, limits, the connection, and a schema that is not
# there (yet). An insert refused with one of these waits and retries; nothing is quarantined.
OUTAGE_CODES = frozenset(
    {
        ErrorCode.UNEXPECTED_END_OF_FILE,
        ErrorCode.NO_SUCH_COLUMN_IN_TABLE,
        ErrorCode.UNKNOWN_TABLE,
        ErrorCode.UNKNOWN_DATABASE,
        ErrorCode.TIMEOUT_EXCEEDED,
        ErrorCode.TOO_SLOW,
        ErrorCode.READONLY,
        ErrorCode.TOO_MANY_SIMULTANEOUS_QUERIES,
        ErrorCode.SOCKET_TIMEOUT,
        ErrorCode.NETWORK_ERROR,
        ErrorCode.MEMORY_LIMIT_EXCEEDED,
        ErrorCode.TABLE_IS_READ_ONLY,
        ErrorCode.NOT_ENOUGH_SPACE,
        ErrorCode.TOO_MANY_PARTS,
        ErrorCode.UNKNOWN_STATUS_OF_INSERT,
        ErrorCode.QUERY_WAS_CANCELLED,
        ErrorCode.SYSTEM_ERROR,
        ErrorCode.KEEPER_EXCEPTION,
    }
)
_CODE = re.compile(r"Code: (\d+)")


def is_outage(exc: BaseException) -> bool:
    """Whether a failed insert is about the store (wait and retry) rather than the data.

    A ClickHouse error is an outage when its code is in OUTAGE_CODES; a store error without
    a code is the connection (unreachable, closed) unless the client library could not
    encode the values (StoreDataError). Every other exception is about the data.
    """
    if isinstance(exc, StoreDataError):
        return False
    if isinstance(exc, StoreError):
        match = _CODE.search(str(exc))
        return match is None or int(match.group(1)) in OUTAGE_CODES
    return False


class InsertTarget(Protocol):
    """What the writer needs from the store (models.db.Store implements it)."""

    def insert(
        self,
        table: str,
        data: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        *,
        column_oriented: bool = False,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert rows (or columns) into a table in one INSERT."""

    def insert_raw(
        self,
        table: str,
        payload: bytes,
        fmt: str,
        *,
        column_names: Sequence[str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        """Insert bytes ClickHouse decodes itself (``FORMAT Protobuf``)."""

    def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        """Run a named query (the KPI dedup lookup)."""


@dataclass(frozen=True)
class TableInsert:
    """One INSERT of a range of records into one table; ``write(target, token)`` runs it."""

    table: str
    write: Callable[[InsertTarget, str], None]


class SegmentEncoder(Protocol):
    """Turns a signal's records into table inserts (collectors.encoders)."""

    numbered_parts: bool  # top-level tokens are ``<token>-<n>`` (traces) or ``<token>``

    def parts(self, rows: int, records: int) -> int:
        """Into how many concurrent top-level inserts a segment is cut."""

    def inserts(self, records: Sequence[bytes]) -> list[TableInsert]:
        """The inserts for these records, in a fixed table order; raises on bad records."""

    def rows(self, record: bytes) -> int:
        """Rows one record holds (spans, log records, data points)."""


class StoreHealth:
    """Successful inserts of every signal: the proof that the store takes data."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.successes = 0

    def succeeded(self) -> None:
        """Count one successful insert."""
        with self._lock:
            self.successes += 1


class StoreOutageError(Exception):
    """The store cannot take anything now; the segment waits."""


@dataclass(frozen=True)
class BadRecord:
    """A record the store refused: its index in the segment, the tables still to write, why."""

    index: int
    tables: frozenset[str] | None
    error: str


@dataclass(frozen=True)
class WriterPolicy:
    """When segments are sealed and how refusals are handled."""

    batch_rows: int
    """Seal the active segment at this many rows."""
    batch_seconds: float
    """... or this long after its first record."""
    max_attempts: int
    """Refusals of a record (about its data) before it is quarantined."""
    retry_max_seconds: float
    """Longest backoff between attempts."""
    quarantine_max_age_seconds: float = float("inf")
    """Quarantined segments older than this are deleted (oldest first, logged)."""
    quarantine_max_bytes: int = 1 << 62
    """The quarantine is pruned, oldest first, to stay under this."""

    def backoff(self, failures: int) -> float:
        """Seconds to wait after ``failures`` failures in a row."""
        return float(min(self.retry_max_seconds, 0.25 * 2 ** min(failures, 30)))
