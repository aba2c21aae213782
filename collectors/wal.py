"""The write-ahead log: acknowledged requests on disk until ClickHouse has them.

One directory per signal under ``<data dir>/wal/``; numbered segment files in it. A segment
holds length-delimited request messages (varint length + protobuf bytes), which is exactly
what ClickHouse's ``FORMAT Protobuf`` reads: a trace segment is inserted as it lies on disk.
``append`` returns only after an fsync covering the record (group commit: one fsync serves
every writer that wrote before it). The writer ``seal``s the active segment, inserts it, and
deletes it only after the insert succeeded; at start every leftover segment is replayed.
A torn tail (a crash in the middle of an unacknowledged write) is cut off on read; a write
that fails half way (disk full) is cut off at once, so no later record ever follows a torn
one. Every rewrite of a file is tmp + fsync + rename + fsync of the directory.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "Quarantined",
    "Segment",
    "UnsyncedRecordError",
    "WriteAheadLog",
    "frame",
    "prune_quarantine",
    "quarantined",
    "read_records",
    "read_varint",
    "varint",
    "write_atomically",
]

logger = logging.getLogger(__name__)

_SUFFIX = ".wal"
_VARINT_MAX_BYTES = 10  # a 64-bit varint never takes more


class UnsyncedRecordError(OSError):
    """A record was written but its fsync failed: it is in the segment, not acknowledged."""


@dataclass(frozen=True)
class Segment:
    """A sealed segment file, the number of rows its records hold and its size in bytes."""

    path: Path
    rows: int
    bytes: int = 0


def varint(value: int) -> bytes:
    """``value`` (0 <= value < 2**64) as a protobuf base-128 varint."""
    if not 0 <= value < 1 << 64:
        raise ValueError(f"a varint holds 0 .. 2**64-1, not {value}")
    out = bytearray()
    while value > 0x7F:
        out.append(0x80 | (value & 0x7F))
        value >>= 7
    out.append(value)
    return bytes(out)


def read_varint(data: bytes, pos: int) -> tuple[int, int]:
    """The varint at ``data[pos:]`` and the position after it; IndexError when cut short,
    ValueError when longer than 10 bytes (not a length prefix)."""
    value = shift = 0
    for index in range(pos, min(len(data), pos + _VARINT_MAX_BYTES)):
        byte = data[index]
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, index + 1
        shift += 7
    if len(data) - pos >= _VARINT_MAX_BYTES:
        raise ValueError(f"varint at byte {pos} is longer than {_VARINT_MAX_BYTES} bytes")
    raise IndexError(f"varint at byte {pos} is cut short")


def frame(record: bytes) -> bytes:
    """One length-delimited record, as a segment holds it."""
    return varint(len(record)) + record


def read_records(data: bytes, source: str = "") -> list[bytes]:
    """Split length-delimited records; a torn last record is dropped with a warning."""
    records: list[bytes] = []
    pos = 0
    while pos < len(data):
        try:
            size, start = read_varint(data, pos)
        except (IndexError, ValueError):
            size, start = len(data), len(data)
        if start + size > len(data):
            logger.warning("%s: dropped a torn record at byte %d (never acknowledged)", source, pos)
            break
        records.append(data[start : start + size])
        pos = start + size
    return records


def fsync_directory(directory: Path) -> None:
    """Make a directory's entries (a create, rename or unlink in it) durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_atomically(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: tmp file, fsync, rename, fsync of the directory. A crash
    leaves the old file or the new one, never a mix."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        tmp.unlink(missing_ok=True)
        raise
    os.close(fd)
    os.replace(tmp, path)
    fsync_directory(path.parent)


def _write_all(fd: int, data: bytes) -> None:
    # os.write may write less than asked (a signal, a nearly full disk): loop until done.
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        if written <= 0:
            raise OSError(f"os.write wrote {written} bytes")
        view = view[written:]


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
        self._active_bytes = 0  # bytes of whole records in the active file
        self._open()
        fsync_directory(directory)

    def _open(self) -> None:
        # Names never repeat (nanosecond clock, forced past the last one): a segment's name
        # is part of its insert's deduplication token.
        name = f"{time.time_ns():020d}"
        if name <= self._last_name:
            name = f"{int(self._last_name) + 1:020d}"
        path = self.directory / f"{name}{_SUFFIX}"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        self._last_name = name
        self._path = path
        self._written = self._synced = 0
        self._active_rows = 0
        self._active_bytes = 0

    @property
    def active_rows(self) -> int:
        """Rows appended to the active (unsealed) segment."""
        return self._active_rows

    @property
    def active_bytes(self) -> int:
        """Bytes appended to the active (unsealed) segment."""
        return self._active_bytes

    def append(self, payload: bytes, rows: int) -> None:
        """Write one record and return once it is fsynced; OSError when it is not durable.

        A write that fails part way (ENOSPC) is cut off again before the error is raised, so
        the segment never holds a torn record followed by acknowledged ones.
        """
        record = frame(payload)
        with self._lock:
            if self._fd < 0:
                raise OSError("the active WAL segment was retired after a failed write")
            try:
                _write_all(self._fd, record)
            except OSError:
                self._cut_back()
                raise
            self._written += 1
            mine = self._written
            generation = self._path
            self._active_rows += rows
            self._active_bytes += len(record)
        with self._sync_lock:
            with self._lock:
                if generation != self._path or self._synced >= mine:
                    return  # sealed (fsynced) or covered by another writer's fsync
                fd, target = self._fd, self._written
            try:
                os.fsync(fd)
            except OSError as exc:
                raise UnsyncedRecordError(exc.errno, f"fsync of {generation}: {exc}") from exc
            with self._lock:
                if generation == self._path:
                    self._synced = max(self._synced, target)

    def _cut_back(self) -> None:
        """Drop the bytes of a failed write; if even that fails, retire the file (its torn
        tail is cut off on read) until the writer seals it."""
        try:
            os.ftruncate(self._fd, self._active_bytes)
        except OSError as exc:
            logger.error("WAL %s: cannot cut a failed write off (%s); starting a new segment",
                         self._path, exc)  # fmt: skip
            os.close(self._fd)
            self._fd = -1

    def seal(self) -> Segment | None:
        """Close the active segment (fsynced) and start a new one; None when it was empty."""
        with self._sync_lock, self._lock:
            if self._path is None or (self._written == 0 and self._fd >= 0):
                return None
            segment: Segment | None = None
            if self._written == 0:  # retired before its first record: nothing to keep
                self._path.unlink(missing_ok=True)
            else:
                if self._fd >= 0:
                    os.fsync(self._fd)
                    os.close(self._fd)
                segment = Segment(self._path, self._active_rows, self._active_bytes)
            self._fd = -1
            self._written = 0
            self._open()
        fsync_directory(self.directory)
        return segment

    @property
    def retired(self) -> bool:
        """A failed write left the active file unusable: seal it to write on."""
        return self._fd < 0

    def read(self, path: Path) -> list[bytes]:
        """The records of one segment file."""
        return read_records(path.read_bytes(), str(path))

    def rewrite(self, path: Path, records: Iterable[bytes]) -> int:
        """Replace a leftover segment by ``records`` (atomically); return its new size."""
        data = b"".join(frame(r) for r in records)
        write_atomically(path, data)
        return len(data)

    def remove(self, path: Path) -> None:
        """Delete a segment whose records are in the store."""
        path.unlink(missing_ok=True)
        fsync_directory(self.directory)

    def quarantine(self, path: Path, reason: str) -> Path:
        """Move a segment the store keeps refusing to ``<wal>/quarantine/<signal>/`` with a
        ``.reason`` file beside it; moving it back into ``<wal>/<signal>/`` re-queues it at
        the next start."""
        target_dir = self.directory.parent / "quarantine" / self.directory.name
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        write_atomically(target_dir / f"{path.stem}.reason", (reason + "\n").encode())
        os.replace(path, target)
        fsync_directory(target_dir)
        fsync_directory(self.directory)
        return target

    def quarantine_records(self, path: Path, records: list[bytes], reason: str) -> Path:
        """Set aside only ``records`` of segment ``path`` (the ones the store refuses) under
        the segment's name in the quarantine, then delete the segment (its other records
        are in the store)."""
        target_dir = self.directory.parent / "quarantine" / self.directory.name
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / path.name
        write_atomically(target_dir / f"{path.stem}.reason", (reason + "\n").encode())
        write_atomically(target, b"".join(frame(r) for r in records))
        self.remove(path)
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


def prune_quarantine(wal_dir: Path, *, max_age_seconds: float, max_bytes: int) -> list[Path]:
    """Delete quarantined segments older than ``max_age_seconds`` and then, oldest first,
    as many as it takes to keep the quarantine under ``max_bytes``; return what went."""
    pruned: list[Path] = []
    kept = quarantined(wal_dir)
    now = time.time()
    total = sum(q.bytes for q in kept)
    for q in kept:
        too_old = now - q.quarantined_at > max_age_seconds
        if not too_old and total <= max_bytes:
            continue
        segment = wal_dir / "quarantine" / q.signal / q.segment
        segment.unlink(missing_ok=True)
        segment.with_suffix(".reason").unlink(missing_ok=True)
        total -= q.bytes
        pruned.append(segment)
        logger.warning(
            "pruned quarantined segment %s (%d bytes, %s): %s", segment, q.bytes,
            "older than FLOWMETER_QUARANTINE_MAX_AGE_DAYS" if too_old
            else "over FLOWMETER_QUARANTINE_MAX_BYTES", q.reason,
        )  # fmt: skip
    return pruned
