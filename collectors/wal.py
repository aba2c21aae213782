"""The write-ahead log: acknowledged requests on disk until ClickHouse has them.

One directory per signal under ``<data dir>/wal/``; numbered segment files in it. A segment
holds length-delimited request messages (varint length + protobuf bytes), which is exactly
what ClickHouse's ``FORMAT Protobuf`` reads: a trace segment is inserted as it lies on disk.
``append`` returns only after an fsync covering the record (group commit: one fsync serves
every writer that wrote before it). The writer ``seal``s the active segment, inserts it, and
deletes it only after the insert succeeded; at start every leftover segment is replayed.
A torn tail (a crash in the middle of an unacknowledged write) is cut off on read.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from google.protobuf.internal.decoder import _DecodeVarint  # type: ignore[attr-defined]
from google.protobuf.internal.encoder import _VarintBytes  # type: ignore[attr-defined]

__all__ = ["Quarantined", "Segment", "WriteAheadLog", "quarantined", "read_records"]

logger = logging.getLogger(__name__)

_SUFFIX = ".wal"


@dataclass(frozen=True)
class Segment:
    """A sealed segment file and the number of rows its records hold."""

    path: Path
    rows: int


def read_records(data: bytes, source: str = "") -> list[bytes]:
    """Split length-delimited records; a torn last record is dropped with a warning."""
    records: list[bytes] = []
    pos = 0
    while pos < len(data):
        try:
            size, start = _DecodeVarint(data, pos)
        except IndexError:
            size, start = len(data), len(data)
        if start + size > len(data):
            logger.warning("%s: dropped a torn record at byte %d (never acknowledged)", source, pos)
            break
        records.append(data[start : start + size])
        pos = start + size
    return records


class WriteAheadLog:
    """Append-only, fsynced, segmented log of one signal's acknowledged requests."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()  # guards the active file and counters
        self._sync_lock = threading.Lock()  # one fsync at a time
        existing = sorted(directory.glob(f"*{_SUFFIX}"))
        self._last_name = existing[-1].stem if existing else ""
        self.leftovers: list[Path] = existing
        self._fd = -1
        self._path: Path | None = None
        self._written = 0  # records written to the active file
        self._synced = 0  # records known durable
        self._active_rows = 0
        self._open()
        self._fsync_dir()

    def _open(self) -> None:
        # Names never repeat (nanosecond clock, forced past the last one): a segment's name
        # is part of its insert's deduplication token.
        name = f"{time.time_ns():020d}"
        if name <= self._last_name:
            name = f"{int(self._last_name) + 1:020d}"
        self._last_name = name
        self._path = self.directory / f"{name}{_SUFFIX}"
        self._fd = os.open(self._path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._written = self._synced = 0
        self._active_rows = 0

    def _fsync_dir(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    @property
    def active_rows(self) -> int:
        """Rows appended to the active (unsealed) segment."""
        return self._active_rows

    def append(self, payload: bytes, rows: int) -> None:
        """Write one record and return once it is fsynced."""
        frame = _VarintBytes(len(payload)) + payload
        with self._lock:
            os.write(self._fd, frame)
            self._written += 1
            mine = self._written
            generation = self._path
            self._active_rows += rows
        with self._sync_lock:
            with self._lock:
                if generation != self._path or self._synced >= mine:
                    return  # sealed (fsynced) or covered by another writer's fsync
                fd, target = self._fd, self._written
            os.fsync(fd)
            with self._lock:
                if generation == self._path:
                    self._synced = max(self._synced, target)

    def seal(self) -> Segment | None:
        """Close the active segment (fsynced) and start a new one; None when it was empty."""
        with self._sync_lock, self._lock:
            if self._written == 0:
                return None
            os.fsync(self._fd)
            os.close(self._fd)
            assert self._path is not None
            segment = Segment(self._path, self._active_rows)
            self._open()
        self._fsync_dir()
        return segment

    def read(self, path: Path) -> list[bytes]:
        """The records of one segment file."""
        return read_records(path.read_bytes(), str(path))

    def remove(self, path: Path) -> None:
        """Delete a segment whose records are in the store."""
        path.unlink(missing_ok=True)
        self._fsync_dir()

    def quarantine(self, path: Path, reason: str) -> Path:
        """Move a segment the store keeps refusing to ``<wal>/quarantine/<signal>/`` with a
        ``.reason`` file beside it; moving it back into ``<wal>/<signal>/`` re-queues it at
        the next start."""
        target_dir = self.directory.parent / "quarantine" / self.directory.name
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        (target_dir / f"{path.stem}.reason").write_text(reason + "\n", encoding="utf-8")
        os.replace(path, target)
        fd = os.open(target_dir, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        self._fsync_dir()
        return target

    def close(self) -> None:
        """Close the active segment; an empty one is deleted."""
        with self._sync_lock, self._lock:
            if self._fd < 0:
                return
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = -1
            if self._written == 0 and self._path is not None:
                self._path.unlink(missing_ok=True)


@dataclass(frozen=True)
class Quarantined:
    """A segment set aside under ``<wal>/quarantine/<signal>/``, with why."""

    signal: str
    segment: str
    bytes: int
    quarantined_at: float  # epoch seconds
    reason: str


def quarantined(wal_dir: Path) -> list[Quarantined]:
    """The segments set aside under ``<wal_dir>/quarantine/``, oldest first."""
    found = []
    for segment in (wal_dir / "quarantine").glob(f"*/*{_SUFFIX}"):
        reason = segment.with_suffix(".reason")
        stamp = reason if reason.exists() else segment
        text = reason.read_text(encoding="utf-8").strip() if reason.exists() else ""
        found.append(Quarantined(segment.parent.name, segment.name, segment.stat().st_size,
                                 stamp.stat().st_mtime, text))  # fmt: skip
    return sorted(found, key=lambda q: q.quarantined_at)
