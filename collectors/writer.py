"""The segment writer: one thread per signal moves sealed WAL segments into the store.

Failure policy (docs/adr/0006-poison-isolation.md): an **outage** (store unreachable, a
resource or limit error, a missing table: ``collectors.inserts.OUTAGE_CODES``) waits with
backoff and quarantines nothing. **Anything else** (a ClickHouse error about the data, a
client-side encoding error, any other exception) is poison: the failing range is bisected to
single records, the good ones land, and the bad ones are retried (later segments go first)
and quarantined alone after ``max_attempts`` refusals, once the store proved it takes data.
Insert tokens derive from the segment name and the record range, and the bisection is a pure
function of the segment, so a replay repeats the same ranges and ClickHouse deduplicates
them; a range with some tables written carries on with the remaining tables only.
I/O errors are logged, counted and retried: the thread never dies silently.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from collectors.ingest_stats import WriterStats
from collectors.inserts import (
    BadRecord,
    InsertTarget,
    SegmentEncoder,
    StoreHealth,
    StoreOutageError,
    WriterPolicy,
    is_outage,
)
from collectors.wal import Segment, WriteAheadLog, prune_quarantine

__all__ = ["SignalWriter", "WriterPolicy"]

logger = logging.getLogger(__name__)


@dataclass
class _Queued:
    segment: Segment
    since: float  # epoch seconds of its oldest record (for the writer lag)
    bad: list[BadRecord] | None = None  # None: the whole segment is still to insert
    attempts: int = 0
    proof_mark: int = -1  # StoreHealth.successes before the first refusal
    inserted: bool = False  # in the store: only the file removal is left
    not_before: float = 0.0  # monotonic


@dataclass
class _Counters:
    inserts: int = 0
    insert_seconds_total: float = 0.0
    last_insert_seconds: float = 0.0
    failed_inserts: int = 0
    inserted_rows: int = 0
    quarantined_rows: int = 0
    quarantined_segments: int = 0
    io_errors: int = 0
    outages: int = 0  # outages in a row
    resume_at: float = 0.0  # monotonic: no insert before this after an outage


class SignalWriter:
    """Seals one signal's WAL segments and inserts them, isolating what the store refuses."""

    def __init__(
        self,
        signal: str,
        wal: WriteAheadLog,
        encoder: SegmentEncoder,
        target: InsertTarget,
        policy: WriterPolicy,
        health: StoreHealth,
        pool: ThreadPoolExecutor | None = None,
        cond: threading.Condition | None = None,
    ) -> None:
        self.signal = signal
        self.wal = wal
        self.encoder = encoder
        self.target = target
        self.policy = policy
        self.health = health
        self._pool = pool
        self._cond = cond or threading.Condition()  # shared: the pipeline waits on it
        self._queue: deque[_Queued] = deque()
        self._first_at: float | None = None  # monotonic: first record of the active segment
        self._first_wall: float | None = None
        self._flush_now = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pending_rows = 0  # acknowledged rows not in the store (active + queued)
        self._pending_bytes = 0
        self._counters = _Counters()
        self._next_prune = 0.0

    # --- what the request path and the pipeline call ----------------------------------------
    def replay(self, segment: Segment) -> None:
        """Queue a segment left over from an earlier run (before ``start``)."""
        since = int(segment.path.stem) / 1e9 if segment.path.stem.isdigit() else time.time()
        self._queue.append(_Queued(segment, since))
        self._pending_rows += segment.rows
        self._pending_bytes += segment.bytes

    def reserve(self, rows: int, size: int) -> tuple[int, int]:
        """Count ``rows``/``size`` as waiting; return what waited before (for the caps)."""
        with self._cond:
            before = (self._pending_rows, self._pending_bytes)
            self._pending_rows += rows
            self._pending_bytes += size
            return before

    def release(self, rows: int, size: int) -> None:
        """Undo a ``reserve`` whose record never reached the WAL."""
        with self._cond:
            self._pending_rows -= rows
            self._pending_bytes -= size
            self._cond.notify_all()

    def appended(self) -> None:
        """A record is in the active segment: start the batch clock, wake the writer when due."""
        with self._cond:
            if self._first_at is None:
                self._first_at = time.monotonic()
                self._first_wall = time.time()
                self._cond.notify_all()
            elif self.wal.active_rows >= self.policy.batch_rows or self.wal.retired:
                self._cond.notify_all()

    @property
    def pending_rows(self) -> int:
        """Acknowledged rows not in the store yet."""
        with self._cond:
            return self._pending_rows

    @property
    def pending_bytes(self) -> int:
        """WAL bytes of acknowledged records not in the store yet."""
        with self._cond:
            return self._pending_bytes

    def counter(self, name: str) -> int:
        """One of the writer's counters by name (inserted_rows, failed_inserts, ...)."""
        with self._cond:
            return int(getattr(self._counters, name))

    def wait_for(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Block until ``predicate()`` (evaluated under the writer's lock) holds."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def stats(self) -> WriterStats:
        """The writer's figures now."""
        with self._cond:
            c = self._counters
            oldest = [q.since for q in self._queue]
            if self._first_wall is not None:
                oldest.append(self._first_wall)
            return WriterStats(
                wal_bytes=self._pending_bytes,
                wal_segments=len(self._queue) + (1 if self.wal.active_rows else 0),
                pending_rows=self._pending_rows,
                lag_seconds=max(0.0, time.time() - min(oldest)) if oldest else 0.0,
                last_insert_seconds=c.last_insert_seconds,
                inserts=c.inserts,
                insert_seconds_total=c.insert_seconds_total,
                failed_inserts=c.failed_inserts,
                inserted_rows=c.inserted_rows,
                quarantined_rows=c.quarantined_rows,
                quarantined_segments=c.quarantined_segments,
                io_errors=c.io_errors,
                alive=self._thread is not None and self._thread.is_alive(),
            )

    # --- lifecycle ---------------------------------------------------------------------------
    def start(self) -> None:
        """Start the writer thread."""
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name=f"ingest-writer-{self.signal}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Try to store everything acknowledged, then stop (the rest stays in the WAL)."""
        with self._cond:
            self._stopping = True
            self._flush_now = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning(
                    "%s writer still busy after %.1fs; the WAL keeps the rest", self.signal, timeout
                )

    def flush(self, deadline: float) -> bool:
        """Insert everything acknowledged now; True once nothing waits (monotonic deadline)."""
        with self._cond:
            while self._pending_rows:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._flush_now = True
                self._cond.notify_all()
                self._cond.wait(min(remaining, 0.5))
        return True

    def nudge(self) -> None:
        """Ask for a seal and an insert attempt now, without waiting."""
        with self._cond:
            self._flush_now = True
            self._cond.notify_all()

    # --- the thread --------------------------------------------------------------------------
    def _seal_due(self, now: float) -> bool:
        if self.wal.retired:
            return True
        if not self.wal.active_rows:
            return False
        first = self._first_at
        return (
            self._flush_now
            or self.wal.active_rows >= self.policy.batch_rows
            or (first is not None and now - first >= self.policy.batch_seconds)
        )

    def _ready(self, now: float) -> _Queued | None:
        if now < self._counters.resume_at:
            return None
        for item in self._queue:
            if item.not_before <= now:
                return item
        return None

    def _wait_seconds(self, now: float) -> float | None:
        times = [q.not_before for q in self._queue]
        if self._queue and self._counters.resume_at > now:
            times.append(self._counters.resume_at)
        if self._first_at is not None:
            times.append(self._first_at + self.policy.batch_seconds)
        if not times:
            return None
        return max(0.01, min(times) - now)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    if not self.wal.active_rows and not self.wal.retired:
                        self._first_at = self._first_wall = None  # its records were sealed
                    seal = self._seal_due(now)
                    item = self._ready(now)
                    if seal or item is not None:
                        break
                    if self._stopping:
                        return  # tried everything once; what waits stays in the WAL
                    self._flush_now = False
                    self._cond.wait(self._wait_seconds(now))
                since = self._first_wall or time.time()
                if seal:
                    self._first_at = self._first_wall = None
            try:
                if seal:
                    self._seal(since)
                item = self._ready(time.monotonic())
                if item is not None:
                    self._process(item)
                self._prune(time.monotonic())
            except Exception as exc:  # never a silently dead thread: log, count, back off
                with self._cond:
                    self._counters.io_errors += 1
                    errors = self._counters.io_errors
                    self._cond.notify_all()
                logger.exception("%s writer: %s (error %d); retrying", self.signal, exc, errors)
                with self._cond:
                    if self._stopping:
                        return
                    self._cond.wait(self.policy.backoff(min(errors, 8)))

    def _seal(self, since: float) -> None:
        try:
            segment = self.wal.seal()
        except OSError:
            with self._cond:  # the records are still in the active segment: keep the clock
                self._first_at, self._first_wall = time.monotonic(), since
            raise
        if segment is not None:
            with self._cond:
                self._queue.append(_Queued(segment, since))

    def _prune(self, now: float) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + 60.0
        prune_quarantine(
            self.wal.directory.parent,
            max_age_seconds=self.policy.quarantine_max_age_seconds,
            max_bytes=self.policy.quarantine_max_bytes,
        )

    def _process(self, item: _Queued) -> None:
        if not item.inserted:
            marks = self.health.successes
            started = time.perf_counter()
            try:
                bad = self._insert(item)
            except StoreOutageError as exc:
                with self._cond:
                    c = self._counters
                    c.outages += 1
                    c.resume_at = time.monotonic() + self.policy.backoff(c.outages - 1)
                    self._cond.notify_all()
                logger.warning(
                    "insert of %s (%d %s rows) failed (store outage %d), will retry: %s",
                    item.segment.path.name,
                    item.segment.rows,
                    self.signal,
                    self._counters.outages,
                    exc.__cause__ or exc,
                )
                return
            seconds = time.perf_counter() - started
            with self._cond:
                self._counters.outages = 0
                self._counters.resume_at = 0.0
            if bad:
                self._refused(item, bad, marks)
                return
            with self._cond:
                c = self._counters
                c.inserts += 1
                c.insert_seconds_total += seconds
                c.last_insert_seconds = seconds
            item.inserted = True
        self._remove(item)

    def _remove(self, item: _Queued) -> None:
        try:
            self.wal.remove(item.segment.path)
        except OSError as exc:
            self._io_error(item, f"cannot delete stored segment {item.segment.path}: {exc}")
            return
        with self._cond:
            self._queue.remove(item)
            self._pending_rows -= item.segment.rows
            self._pending_bytes -= item.segment.bytes
            self._counters.inserted_rows += item.segment.rows
            self._cond.notify_all()

    def _io_error(self, item: _Queued, message: str) -> None:
        with self._cond:
            self._counters.io_errors += 1
            item.not_before = time.monotonic() + self.policy.backoff(self._counters.io_errors)
            self._cond.notify_all()
        logger.error("%s writer: %s; will retry", self.signal, message)

    def _refused(self, item: _Queued, bad: list[BadRecord], marks: int) -> None:
        item.bad = bad
        item.attempts += 1
        if item.proof_mark < 0:
            item.proof_mark = marks
        proven = self.health.successes > item.proof_mark
        if item.attempts >= self.policy.max_attempts and proven:
            self._quarantine(item, bad)
            return
        delay = self.policy.backoff(item.attempts - 1)
        with self._cond:
            item.not_before = time.monotonic() + delay
            self._cond.notify_all()
        logger.warning(
            "%s: %d of its %s records refused (attempt %d), retry in %.1fs: %s",
            item.segment.path.name,
            len(bad),
            self.signal,
            item.attempts,
            delay,
            bad[0].error,
        )

    def _quarantine(self, item: _Queued, bad: list[BadRecord]) -> None:
        records = self.wal.read(item.segment.path)
        kept = [records[b.index] for b in bad]
        reason = f"{item.attempts} attempts: " + "; ".join(
            f"record {b.index}"
            + (f" ({', '.join(sorted(b.tables))})" if b.tables is not None else "")
            + f": {b.error}"
            for b in bad
        )
        try:
            target = self.wal.quarantine_records(item.segment.path, kept, reason)
        except OSError as exc:
            self._io_error(item, f"cannot quarantine {item.segment.path}: {exc}")
            return
        bad_rows = sum(self.encoder.rows(r) for r in kept)
        with self._cond:
            self._queue.remove(item)
            c = self._counters
            self._pending_rows -= item.segment.rows
            self._pending_bytes -= item.segment.bytes
            c.quarantined_rows += bad_rows
            c.quarantined_segments += 1
            c.inserted_rows += max(0, item.segment.rows - bad_rows)
            self._cond.notify_all()
        logger.error(
            "quarantined %d of the %d records of %s (%s) at %s: %s",
            len(kept),
            len(records),
            item.segment.path.name,
            self.signal,
            target,
            reason,
        )
        self._next_prune = 0.0

    # --- inserting with isolation ------------------------------------------------------------
    def _insert(self, item: _Queued) -> list[BadRecord]:
        """Insert what is left of a segment; return the records refused; raise StoreOutageError."""
        records = self.wal.read(item.segment.path)
        token = f"{self.signal}-{item.segment.path.stem}"
        if item.bad is not None:
            bad: list[BadRecord] = []
            for b in item.bad:
                bad += self._insert_range(records, b.index, b.index + 1, b.tables, token)
            return bad
        parts = max(1, min(self.encoder.parts(item.segment.rows, len(records)), len(records)))
        size = -(-len(records) // parts) if records else 1
        ranges = [(lo, min(lo + size, len(records))) for lo in range(0, len(records), size)]
        if len(ranges) == 1 or self._pool is None:
            found: list[BadRecord] = []
            for n, (lo, hi) in enumerate(ranges):
                found += self._insert_range(records, lo, hi, None, token, self._top(token, n))
            return found
        jobs = [
            self._pool.submit(self._insert_range, records, lo, hi, None, token, self._top(token, n))
            for n, (lo, hi) in enumerate(ranges)
        ]
        found, outage = [], None
        for job in jobs:  # wait for every part before answering
            try:
                found += job.result()
            except StoreOutageError as exc:
                outage = exc
        if outage is not None:
            raise outage
        return found

    def _top(self, token: str, n: int) -> str:
        return f"{token}-{n}" if self.encoder.numbered_parts else token

    def _insert_range(
        self,
        records: Sequence[bytes],
        lo: int,
        hi: int,
        tables: frozenset[str] | None,
        token: str,
        range_token: str | None = None,
    ) -> list[BadRecord]:
        """Insert records[lo:hi] into ``tables`` (None: all); bisect what is refused."""
        range_token = range_token or f"{token}-r{lo}-{hi}"
        try:
            inserts = self.encoder.inserts(records[lo:hi])
        except Exception as exc:  # a record this code cannot turn into an insert
            return self._split(records, lo, hi, tables, token, f"{type(exc).__name__}: {exc}")
        todo = [i for i in inserts if tables is None or i.table in tables]
        for n, insert in enumerate(todo):
            try:
                insert.write(self.target, range_token)
            except Exception as exc:
                with self._cond:
                    self._counters.failed_inserts += 1
                    self._cond.notify_all()
                if is_outage(exc):
                    raise StoreOutageError(str(exc)) from exc
                left = frozenset(i.table for i in todo[n:])
                return self._split(records, lo, hi, left, token, f"{type(exc).__name__}: {exc}")
            self.health.succeeded()
        return []

    def _split(
        self,
        records: Sequence[bytes],
        lo: int,
        hi: int,
        tables: frozenset[str] | None,
        token: str,
        error: str,
    ) -> list[BadRecord]:
        if hi - lo <= 1:
            return [BadRecord(lo, tables, error)]
        mid = (lo + hi) // 2
        return self._insert_range(records, lo, mid, tables, token) + self._insert_range(
            records, mid, hi, tables, token
        )
