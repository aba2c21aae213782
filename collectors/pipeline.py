"""The ingest pipeline: validate, log to the WAL, acknowledge, then batch into ClickHouse.

``submit`` is what every receiver calls (HTTP, gRPC, the in-process SDK exporters). It checks
every value against its column first (collectors.limits: records that would not fit are
refused in ``partial_success``, the rest kept), then returns only once the request is
fsynced in the write-ahead log, so an OK answer never covers data that a crash could lose.
Per signal, a writer thread (collectors.writer) seals WAL segments at
``FLOWMETER_BATCH_ROWS`` rows or after ``FLOWMETER_BATCH_SECONDS``, inserts them, isolates
and quarantines records the store refuses for their data, and waits out store outages.
Each signal's waiting rows and WAL bytes are capped (``FLOWMETER_BUFFER_MAX_ROWS``,
``FLOWMETER_WAL_MAX_BYTES``), and the WAL's disk keeps ``FLOWMETER_DISK_FREE_MIN_BYTES``:
past a cap ``submit`` raises ``BackpressureError`` (429 / RESOURCE_EXHAUSTED).
"""

from __future__ import annotations

import errno
import logging
import shutil
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

from google.protobuf.message import DecodeError

from collectors import otlp
from collectors.encoders import INSERT_PARTS, encoder_for
from collectors.ingest_stats import PipelineStats, SignalStats
from collectors.kpi_logs import KpiLogs
from collectors.limits import Refusals, screen
from collectors.metrics import IngestMetrics
from collectors.recognition import Recognizer
from collectors.redaction import redactor_for
from collectors.rows import Decoder
from collectors.wal import (
    Segment,
    UnsyncedRecordError,
    WriteAheadLog,
    frame,
    prune_quarantine,
)
from collectors.writer import SignalWriter, StoreHealth, WriterPolicy
from models.db import Store
from models.errors import BackpressureError, IngestError
from models.rules_file import load_rules
from models.settings import Settings

__all__ = ["Pipeline", "SubmitResult"]

logger = logging.getLogger(__name__)

DAY_SECONDS = 86_400.0


@dataclass(frozen=True)
class SubmitResult:
    """What happened to one request: rows accepted (durable), rows rejected, and why."""

    accepted: int
    rejected: int = 0
    message: str = ""


class Pipeline:
    """Receivers' shared write path; a models.lifecycle.Service."""

    name = "ingest pipeline"

    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.redactor = redactor_for(settings)  # RedactionKeyError: refuse to start
        self.decoder = Decoder(self.redactor, settings.max_attributes)
        self.kpi_logs = KpiLogs(self.redactor, tenant_from_resource=bool(settings.ingest_tokens))
        self.recognizer = Recognizer(load_rules(settings.rules_file))  # RulesError names the line
        self.wal_dir = settings.data_dir / "wal"
        self.policy = WriterPolicy(
            batch_rows=settings.batch_rows,
            batch_seconds=settings.batch_seconds,
            max_attempts=settings.ingest_max_attempts,
            retry_max_seconds=settings.ingest_retry_max_seconds,
            quarantine_max_age_seconds=settings.quarantine_max_age_days * DAY_SECONDS,
            quarantine_max_bytes=settings.quarantine_max_bytes,
        )
        self.health = StoreHealth()
        self._cond = threading.Condition()  # shared with the writers
        self._writers: dict[str, SignalWriter] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=INSERT_PARTS, thread_name_prefix="ingest-insert"
        )
        self._accepted: Counter[str] = Counter()
        self._refused: dict[str, Counter[str]] = {s: Counter() for s in otlp.SIGNALS}
        self._running = False
        self.metrics = IngestMetrics(self)  # GET /metrics (collectors/metrics.py)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the WAL, queue leftover segments for replay, start the writer threads."""
        prune_quarantine(
            self.wal_dir,
            max_age_seconds=self.policy.quarantine_max_age_seconds,
            max_bytes=self.policy.quarantine_max_bytes,
        )
        for signal in otlp.SIGNALS:
            wal = WriteAheadLog(self.wal_dir / signal)
            encoder = encoder_for(signal, self.decoder, self.kpi_logs.stored_events)
            writer = SignalWriter(
                signal, wal, encoder, self.store, self.policy, self.health, self._pool, self._cond
            )
            for path in wal.leftovers:
                segment = self._replayable(signal, wal, path)
                writer.replay(segment)
                logger.info("WAL replay: %s holds %d %s rows", path, segment.rows, signal)
            self._writers[signal] = writer
        for writer in self._writers.values():
            writer.start()
        self._running = True

    def _replayable(self, signal: str, wal: WriteAheadLog, path: Path) -> Segment:
        """A leftover segment; undecodable records are cut out (logged, atomic rewrite)."""
        good: list[bytes] = []
        rows = 0
        records = wal.read(path)
        for index, record in enumerate(records):
            try:
                rows += otlp.count_rows(signal, otlp.REQUEST_TYPES[signal].FromString(record))
            except DecodeError:
                logger.error("WAL %s: record %d is corrupt and is skipped", path, index)
                continue
            good.append(record)
        size = sum(len(frame(r)) for r in good)
        if len(good) != len(records) or path.stat().st_size != size:
            size = wal.rewrite(path, good)
        return Segment(path, rows, size)

    def stop(self, timeout: float) -> None:
        """Stop the writers after they tried to store everything acknowledged (the rest
        stays in the WAL)."""
        self._running = False
        deadline = time.monotonic() + timeout
        for writer in self._writers.values():
            writer.nudge()
        for writer in self._writers.values():
            writer.stop(max(0.0, deadline - time.monotonic()))
        self._pool.shutdown(wait=False)
        for writer in self._writers.values():
            writer.wal.close()

    # --- figures ---------------------------------------------------------------------------
    def _total(self, name: str) -> int:
        return sum(w.counter(name) for w in self._writers.values())

    @property
    def pending_rows(self) -> int:
        """Acknowledged rows that are not in the store yet."""
        return sum(w.pending_rows for w in self._writers.values())

    @property
    def inserted_rows(self) -> int:
        """Rows stored since start."""
        return self._total("inserted_rows")

    @property
    def quarantined_rows(self) -> int:
        """Rows set aside under wal/quarantine/ since start."""
        return self._total("quarantined_rows")

    @property
    def failed_inserts(self) -> int:
        """Failed insert attempts since start (a health figure)."""
        return self._total("failed_inserts")

    def wait_inserted(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` rows are in the store, without forcing a flush."""
        with self._cond:
            return self._cond.wait_for(lambda: self.inserted_rows >= count, timeout)

    def wait_failed_inserts(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` insert attempts have failed (tests, health checks)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.failed_inserts >= count, timeout)

    def wait_stats(self, predicate: Callable[[PipelineStats], bool], timeout: float) -> bool:
        """Block until ``predicate(self.stats())`` holds (tests, health checks)."""
        with self._cond:
            return self._cond.wait_for(lambda: predicate(self.stats()), timeout)

    def flush(self, timeout: float = 30.0) -> bool:
        """Insert everything acknowledged now; True once nothing waits."""
        deadline = time.monotonic() + timeout
        for writer in self._writers.values():
            writer.nudge()
        return all([writer.flush(deadline) for writer in self._writers.values()])

    def stats(self) -> PipelineStats:
        """Counters and gauges of every signal now (cheap: no I/O)."""
        signals = {}
        s = self.settings
        for signal, writer in self._writers.items():
            figures = writer.stats()
            with self._cond:
                accepted = self._accepted[signal]
                refused = MappingProxyType(dict(self._refused[signal]))
            fill = max(
                figures.pending_rows / s.buffer_max_rows, figures.wal_bytes / s.wal_max_bytes
            )
            signals[signal] = SignalStats(accepted, refused, figures, fill)
        return PipelineStats(MappingProxyType(signals))

    def _refuse(self, signal: str, reason: str, records: int) -> None:
        with self._cond:
            self._refused[signal][reason] += records

    # --- the request path ------------------------------------------------------------------
    def submit(
        self,
        signal: str,
        body: bytes,
        *,
        content_type: str = otlp.PROTOBUF,
        content_encoding: str | None = None,
        tenant: str | None = None,
    ) -> SubmitResult:
        """Validate one OTLP request and make it durable; raise IngestError / BackpressureError."""
        if len(body) > self.settings.max_body_bytes:
            raise IngestError(
                f"body is {len(body)} bytes; FLOWMETER_MAX_BODY_BYTES is "
                f"{self.settings.max_body_bytes}",
                413,
            )
        raw = otlp.decompress(body, content_encoding, self.settings.max_decompressed_bytes)
        message = otlp.parse_request(signal, raw, content_type)
        unchanged = raw if otlp.media_type(content_type) == otlp.PROTOBUF else None
        return self.submit_message(signal, message, tenant=tenant, raw=unchanged, size=len(raw))

    def submit_message(
        self,
        signal: str,
        message: Any,
        *,
        tenant: str | None = None,
        raw: bytes | None = None,
        size: int | None = None,
    ) -> SubmitResult:
        """Like ``submit`` for a parsed request; ``raw``: its protobuf bytes, if at hand;
        ``size``: its size in bytes, if known (no string in it is longer)."""
        if not self._running:
            raise IngestError("the ingest pipeline is not running", 503)
        writer = self._writers[signal]
        findings = otlp.validate(signal, message, self.settings.max_attributes)
        size = size if size is not None else message.ByteSize()
        refusals = Refusals()
        if findings.late_timestamps or size > self.settings.max_value_bytes:
            # The per-record checks; for traces only when validate saw a late time, or
            # when some string might be over the limit (none is longer than its request).
            refusals = screen(
                signal, message, size=size, max_value_bytes=self.settings.max_value_bytes
            )
        if refusals.count:
            raw = None
        if tenant is not None:
            otlp.stamp_tenant(signal, message, tenant)
            raw = None
        if signal == "traces" and findings.over_attributes:
            otlp.cap_span_attributes(message, self.settings.max_attributes)
            raw = None
        if signal == "traces" and self.recognizer.enrich(message, raw):
            raw = None
        if signal == "logs":
            kpi = self.kpi_logs.drop_bad_records(message)
            if kpi.count:
                refusals.extend(kpi)
                raw = None
        for reason, records in refusals.by_reason.items():
            self._refuse(signal, reason, records)
        rows = otlp.count_rows(signal, message)
        if rows == 0:
            return SubmitResult(0, refusals.count, refusals.message())
        # Unchanged protobuf is logged as received: re-encoding costs as much as parsing.
        payload = raw if raw is not None else message.SerializeToString()
        self._make_room(signal, writer, rows, len(frame(payload)))
        try:
            writer.wal.append(payload, rows)
        except OSError as exc:
            if not isinstance(exc, UnsyncedRecordError):  # else it is in the segment: counted
                writer.release(rows, len(frame(payload)))
            if writer.wal.retired:
                writer.nudge()  # the writer seals the file a failed write left unusable
            self._wal_failed(signal, exc, rows)
        writer.appended()
        with self._cond:
            self._accepted[signal] += rows
        return SubmitResult(rows, refusals.count, refusals.message())

    def _make_room(self, signal: str, writer: SignalWriter, rows: int, size: int) -> None:
        """Reserve room for a record, or refuse it (429) when a cap or the disk floor is hit."""
        s = self.settings
        retry_after = min(30.0, 1.0 + writer.counter("outages"))
        floor = s.disk_free_min_bytes
        if floor:
            free = shutil.disk_usage(self.wal_dir).free
            if free - size < floor:
                self._refuse(signal, "disk_free", rows)
                raise BackpressureError(
                    f"the WAL's disk has {free} bytes free; FLOWMETER_DISK_FREE_MIN_BYTES is "
                    f"{floor}; retry later",
                    retry_after=retry_after,
                )
        waiting_rows, waiting_bytes = writer.reserve(rows, size)
        problem = reason = ""
        if waiting_rows and waiting_rows + rows > s.buffer_max_rows:
            reason = "buffer_rows"
            problem = (
                f"{waiting_rows} {signal} rows wait for the store "
                f"(FLOWMETER_BUFFER_MAX_ROWS={s.buffer_max_rows})"
            )
        elif waiting_bytes and waiting_bytes + size > s.wal_max_bytes:
            reason = "wal_bytes"
            problem = (
                f"{waiting_bytes} {signal} WAL bytes wait for the store "
                f"(FLOWMETER_WAL_MAX_BYTES={s.wal_max_bytes})"
            )
        if problem:
            writer.release(rows, size)
            self._refuse(signal, reason, rows)
            raise BackpressureError(
                f"ingest buffer full: {problem}; retry later", retry_after=retry_after
            )

    def _wal_failed(self, signal: str, exc: OSError, rows: int) -> None:
        logger.error("WAL append failed: %s", exc)
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            self._refuse(signal, "disk_full", rows)
            raise BackpressureError(
                f"the WAL's disk is full ({exc.strerror}); nothing was acknowledged; retry later",
                retry_after=5.0,
            ) from exc
        self._refuse(signal, "wal_io", rows)
        raise IngestError(f"cannot write the write-ahead log: {exc}", 503) from exc
