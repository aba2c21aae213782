"""The ingest pipeline: validate, log to the WAL, acknowledge, then batch into ClickHouse.

``submit`` is what every receiver calls (HTTP, gRPC, the in-process SDK exporters). It
returns only once the request is fsynced in the write-ahead log, so an OK answer never
covers data that a crash could lose. One writer thread seals WAL segments at
``FLOWMETER_BATCH_ROWS`` rows or after ``FLOWMETER_BATCH_SECONDS``, inserts each segment in
one INSERT per table (traces: the segment's bytes as ``FORMAT Protobuf``, decoded by
ClickHouse; a big trace segment as two concurrent INSERTs), and
deletes a segment only after its insert succeeded. When the store fails the writer retries
with exponential backoff while acknowledged rows wait on disk; when more than
``FLOWMETER_BUFFER_MAX_ROWS`` rows wait, ``submit`` raises ``BackpressureError`` (429 /
RESOURCE_EXHAUSTED). Memory holds counters only: waiting rows live in the WAL files.

A segment the store refuses for what it holds (a ClickHouse error that is not about
resources or the connection, ``FLOWMETER_INGEST_MAX_ATTEMPTS`` times in a row, while a later
segment of the same signal goes in) or that this code cannot turn into an INSERT is moved to
``<wal>/quarantine/<signal>/`` with the reason, so one bad segment never blocks the data
behind it; nothing in it is lost, and moving it back re-queues it at the next start.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from google.protobuf.internal.encoder import _VarintBytes  # type: ignore[attr-defined]
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from collectors import otlp
from collectors.kpi_store import write_kpi_events
from collectors.metrics import IngestMetrics
from collectors.redaction import Redactor, load_secret
from collectors.rows import Decoder, any_value, event_name
from collectors.wal import Segment, WriteAheadLog, read_records
from models.db import Store
from models.errors import BackpressureError, IngestError, KpiContractError, StoreError
from models.kpi import KpiEvent, is_kpi_event_name, kpi_event_from_log
from models.settings import Settings

__all__ = ["Pipeline", "SubmitResult"]

logger = logging.getLogger(__name__)

TRACES_STAGING = "otel_traces_ingest"
INSERT_PARTS = 2  # concurrent inserts for one big trace segment
MIN_PART_ROWS = 5000  # ... each of at least this many spans


# ClickHouse error codes about resources, limits or the connection, not the data: an insert
# refused with one of these is retried for as long as it takes, never quarantined.
TRANSIENT_CODES = frozenset({
    3, 159, 160, 164, 202, 209, 210, 241, 242, 243, 252, 319, 394, 425, 999,
})  # fmt: skip
_CODE = re.compile(r"Code: (\d+)")


def refused_for_content(exc: Exception) -> bool:
    """Whether a failed insert names a ClickHouse error about what was inserted (not the
    connection, a limit or a resource): retrying the same segment cannot succeed."""
    if not isinstance(exc, StoreError):
        return False
    match = _CODE.search(str(exc))
    return match is not None and int(match.group(1)) not in TRANSIENT_CODES


def _proto_schema() -> str:
    path = Path(str(resources.files("sql") / "proto" / "otlp_traces_staging.proto")).resolve()
    return f"{path}:TracesRequest"


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
        self.redactor = Redactor(
            settings.redact_keys, load_secret(settings.redact_secret, settings.data_dir)
        )
        self.decoder = Decoder(self.redactor, settings.max_attributes)
        self.wal_dir = settings.data_dir / "wal"
        self._proto = _proto_schema()
        self._wal: dict[str, WriteAheadLog] = {}
        self._cond = threading.Condition()
        self._pending = 0  # acknowledged rows not yet in the store
        self._first_at: dict[str, float | None] = dict.fromkeys(otlp.SIGNALS)
        self._sealed: deque[tuple[str, Segment]] = deque()
        self._flush_now = False
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._pool = ThreadPoolExecutor(
            max_workers=INSERT_PARTS, thread_name_prefix="ingest-insert"
        )
        self._failures = 0
        self._later_went_in = False  # a later segment went in while the head kept failing
        self.failed_inserts = 0  # total failed insert attempts (a health figure)
        self.inserted_rows = 0
        self.quarantined_rows = 0  # rows of segments moved to wal/quarantine/
        self.metrics = IngestMetrics(self)  # GET /metrics (collectors/metrics.py)

    # --- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Open the WAL, queue leftover segments for replay, start the writer thread."""
        self.store.execute("collectors/clear_ingest_config")
        # No patterns: a regex and a literal that no attribute key can match.
        never = "\x00never"
        self.store.insert(
            "ingest_config",
            [
                [
                    self.redactor.regex or never,
                    self.redactor.literals or [never],
                    self.redactor.secret,
                ]
            ],
            ["redact_regex", "redact_words", "redact_secret"],
        )
        for signal in otlp.SIGNALS:
            wal = WriteAheadLog(self.wal_dir / signal)
            self._wal[signal] = wal
            for path in wal.leftovers:
                rows = self._replayable_rows(signal, wal, path)
                self._sealed.append((signal, Segment(path, rows)))
                self._pending += rows
                logger.info("WAL replay: %s holds %d %s rows", path, rows, signal)
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="ingest-writer", daemon=True)
        self._thread.start()

    def _replayable_rows(self, signal: str, wal: WriteAheadLog, path: Path) -> int:
        """Rows in a leftover segment; undecodable records are cut out (logged) first."""
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
        if len(good) != len(records) or path.stat().st_size != sum(
            len(_VarintBytes(len(r))) + len(r) for r in records
        ):
            path.write_bytes(b"".join(_VarintBytes(len(r)) + r for r in good))
        return rows

    def stop(self, timeout: float) -> None:
        """Stop the writer after it tried to store everything acknowledged (the rest stays in the WAL)."""
        with self._cond:
            self._stopping = True
            self._flush_now = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                logger.warning(
                    "ingest writer still busy after %.1fs; the WAL keeps the rest", timeout
                )
        self._pool.shutdown(wait=False)
        for wal in self._wal.values():
            wal.close()

    @property
    def pending_rows(self) -> int:
        """Acknowledged rows that are not in the store yet."""
        with self._cond:
            return self._pending

    def wait_inserted(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` rows are in the store, without forcing a flush."""
        with self._cond:
            return self._cond.wait_for(lambda: self.inserted_rows >= count, timeout)

    def wait_failed_inserts(self, count: int, timeout: float) -> bool:
        """Block until at least ``count`` insert attempts have failed (tests, health checks)."""
        with self._cond:
            return self._cond.wait_for(lambda: self.failed_inserts >= count, timeout)

    def flush(self, timeout: float = 30.0) -> bool:
        """Insert everything acknowledged now; True once nothing waits."""
        deadline = time.monotonic() + timeout
        with self._cond:
            self._flush_now = True
            self._cond.notify_all()
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._flush_now = True
                self._cond.notify_all()
                self._cond.wait(min(remaining, 0.5))
        return True

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
        return self.submit_message(signal, message, tenant=tenant, raw=unchanged)

    def submit_message(
        self, signal: str, message: Any, *, tenant: str | None = None, raw: bytes | None = None
    ) -> SubmitResult:
        """Like ``submit`` for a parsed request; ``raw``: its protobuf bytes, if at hand."""
        if self._thread is None:
            raise IngestError("the ingest pipeline is not running", 503)
        over_limit = otlp.validate(signal, message, self.settings.max_attributes)
        if tenant is not None:
            otlp.stamp_tenant(signal, message, tenant)
            raw = None
        if signal == "traces" and over_limit:
            otlp.cap_span_attributes(message, self.settings.max_attributes)
            raw = None
        rejected, reasons = 0, list[str]()
        if signal == "logs":
            rejected, reasons = self._drop_bad_kpi_records(message)
            if rejected:
                raw = None
        rows = otlp.count_rows(signal, message)
        if rows == 0:
            self.metrics.records(signal, 0, rejected)
            return SubmitResult(0, rejected, "; ".join(reasons))
        # Unchanged protobuf is logged as received: re-encoding costs as much as parsing.
        payload = raw if raw is not None else message.SerializeToString()
        with self._cond:
            limit = self.settings.buffer_max_rows
            if self._pending and self._pending + rows > limit:
                raise BackpressureError(
                    f"ingest buffer full: {self._pending} rows wait for the store "
                    f"(FLOWMETER_BUFFER_MAX_ROWS={limit}); retry later",
                    retry_after=min(30.0, 1.0 + self._failures),
                )
            self._pending += rows
        try:
            self._wal[signal].append(payload, rows)
        except OSError as exc:
            with self._cond:
                self._pending -= rows
            logger.error("WAL append failed: %s", exc)
            raise IngestError(f"cannot write the write-ahead log: {exc}", 503) from exc
        with self._cond:
            if self._first_at[signal] is None:
                # The writer may be asleep with no time bound: wake it to start the clock.
                self._first_at[signal] = time.monotonic()
                self._cond.notify_all()
            elif self._wal[signal].active_rows >= self.settings.batch_rows:
                self._cond.notify_all()
        self.metrics.records(signal, rows, rejected)
        return SubmitResult(rows, rejected, "; ".join(reasons))

    # --- KPI events carried by logs --------------------------------------------------------
    def _kpi_events(
        self, message: Any, *, drop_invalid: bool
    ) -> tuple[list[KpiEvent], int, list[str]]:
        events: list[KpiEvent] = []
        reasons: list[str] = []
        rejected = 0
        for rl in message.resource_logs:
            tenant = None
            if self.settings.ingest_tokens:
                tenant = next(
                    (
                        kv.value.string_value
                        for kv in rl.resource.attributes
                        if kv.key == otlp.TENANT_KEY
                    ),
                    None,
                )
            for sl in rl.scope_logs:
                keep = []
                for record in sl.log_records:
                    name = event_name(record)
                    if not is_kpi_event_name(name):
                        keep.append(record)
                        continue
                    attributes = {kv.key: any_value(kv.value) for kv in record.attributes}
                    for key, value in attributes.items():
                        if isinstance(value, str) and self.redactor.sensitive(key):
                            attributes[key] = self.redactor.hash(value)
                    try:
                        events.append(
                            kpi_event_from_log(
                                name,
                                attributes,
                                timestamp_ns=record.time_unix_nano
                                or record.observed_time_unix_nano,
                                trace_id=record.trace_id.hex(),
                                tenant=tenant,
                            )
                        )
                        keep.append(record)
                    except KpiContractError as exc:
                        rejected += 1
                        event_id = attributes.get("event.id", "")
                        reasons.append(f"{name} (event.id {event_id!r}): {exc}")
                if drop_invalid and len(keep) != len(sl.log_records):
                    del sl.log_records[:]
                    sl.log_records.extend(keep)
        return events, rejected, reasons

    def _drop_bad_kpi_records(self, message: Any) -> tuple[int, list[str]]:
        _, rejected, reasons = self._kpi_events(message, drop_invalid=True)
        return rejected, reasons

    # --- the writer ------------------------------------------------------------------------
    def _due(self, now: float) -> list[str]:
        due = []
        for signal, wal in self._wal.items():
            first = self._first_at[signal]
            if wal.active_rows and (
                self._flush_now
                or wal.active_rows >= self.settings.batch_rows
                or (first is not None and now - first >= self.settings.batch_seconds)
            ):
                due.append(signal)
        return due

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    due = self._due(now)
                    if due or self._sealed or self._stopping:
                        break
                    firsts = [f for f in self._first_at.values() if f is not None]
                    wait = self.settings.batch_seconds - (now - min(firsts)) if firsts else None
                    self._cond.wait(wait)
                for signal in due:
                    self._first_at[signal] = None
                self._flush_now = False
            for signal in due:
                segment = self._wal[signal].seal()
                if segment is not None:
                    self._sealed.append((signal, segment))
            failed = self._drain()
            with self._cond:
                idle = not self._sealed and not any(w.active_rows for w in self._wal.values())
                if self._stopping and (idle or failed):
                    return
                if failed:
                    delay = min(self.settings.ingest_retry_max_seconds, 0.25 * 2**self._failures)
                    self._cond.wait(delay)

    def _drain(self) -> bool:
        """Insert sealed segments in order; False when all went in, True after a failure."""
        while self._sealed:
            signal, segment = self._sealed[0]
            try:
                self._insert(signal, segment)
            except (StoreError, OSError) as exc:
                self._failures += 1
                with self._cond:
                    self.failed_inserts += 1
                    self._cond.notify_all()
                if refused_for_content(exc):
                    if self._later_went_in:  # ... and this one, tried again, still fails
                        self._set_aside(signal, segment, f"{self._failures} attempts: {exc}")
                        continue
                    if self._failures >= self.settings.ingest_max_attempts:
                        self._later_went_in = self._later_segment_goes_in(signal)
                        if self._later_went_in:
                            continue  # the store took data just now: try this one once more
                self._later_went_in = False
                logger.warning(
                    "insert of %s (%d %s rows) failed (attempt %d), will retry: %s",
                    segment.path.name, segment.rows, signal, self._failures, exc,
                )  # fmt: skip
                return True
            except Exception as exc:
                if self._stopping:  # e.g. the insert pool shut down under us: the WAL keeps it
                    return True
                # The segment cannot become an INSERT (a decoding bug): retrying cannot help.
                logger.exception("segment %s cannot be inserted", segment.path.name)
                self._set_aside(signal, segment, f"{type(exc).__name__}: {exc}")
                continue
            self._inserted(0)
            self._failures = 0
            self._later_went_in = False
        return False

    def _inserted(self, index: int) -> None:
        signal, segment = self._sealed[index]
        self._wal[signal].remove(segment.path)
        del self._sealed[index]
        with self._cond:
            self._pending -= segment.rows
            self.inserted_rows += segment.rows
            self._cond.notify_all()

    def _later_segment_goes_in(self, signal: str) -> bool:
        """Insert the next sealed segment of ``signal`` out of turn: if the store takes it, the
        head segment is refused for what it holds; if not (a missing table, a bad schema), the
        fault is the store's and both wait. No later segment yet: the head waits."""
        later = next((i for i, (s, _) in enumerate(self._sealed) if i and s == signal), None)
        if later is None:
            return False
        try:
            self._insert(signal, self._sealed[later][1])
        except Exception:  # any failure: nothing proven, keep retrying
            return False
        self._inserted(later)
        return True

    def _set_aside(self, signal: str, segment: Segment, reason: str) -> None:
        target = self._wal[signal].quarantine(segment.path, reason)
        self._sealed.popleft()
        self._failures = 0
        self._later_went_in = False
        with self._cond:
            self._pending -= segment.rows
            self.quarantined_rows += segment.rows
            self._cond.notify_all()
        logger.error(
            "quarantined %s (%d %s rows) at %s: %s", segment.path.name, segment.rows, signal,
            target, reason,
        )  # fmt: skip

    def _insert(self, signal: str, segment: Segment) -> None:
        """One segment into the store; replaying it after a crash inserts nothing twice.

        Every INSERT carries ``insert_deduplication_token`` = signal, segment name and table,
        and the tables keep a deduplication window (sql/schema/100_collectors_traces.sql), so
        a segment whose insert succeeded but whose file survived a crash is skipped on replay.
        """
        data = segment.path.read_bytes()
        token = f"{signal}-{segment.path.stem}"
        records = read_records(data, str(segment.path))
        if signal == "traces":
            framed = [_VarintBytes(len(r)) + r for r in records]
            # A big segment goes in as INSERT_PARTS concurrent inserts (ClickHouse runs one
            # insert on one core); the split depends on the records only, so a replay
            # produces the same parts and the same tokens.
            parts = min(INSERT_PARTS, max(1, segment.rows // MIN_PART_ROWS), len(framed))
            size = -(-len(framed) // parts) if framed else 1
            chunks = [b"".join(framed[i : i + size]) for i in range(0, len(framed), size)]
            jobs = [
                self._pool.submit(self._insert_traces, chunk, f"{token}-{n}")
                for n, chunk in enumerate(chunks)
            ]
            for job in jobs:
                job.result()
        elif signal == "logs":
            requests = [ExportLogsServiceRequest.FromString(r) for r in records]
            events: list[KpiEvent] = []
            for request in requests:
                events.extend(self._kpi_events(request, drop_invalid=False)[0])
            if events:
                write_kpi_events(self.store, events)  # idempotent: first, so a retry is safe
            cols = self.decoder.logs(requests)
            self._insert_columns("otel_logs", cols.names, cols.data, token)
        else:
            metrics = [ExportMetricsServiceRequest.FromString(r) for r in records]
            for table, cols in self.decoder.metrics(metrics).items():
                self._insert_columns(table, cols.names, cols.data, token)

    def _insert_traces(self, payload: bytes, token: str) -> None:
        self.store.insert_raw(
            TRACES_STAGING,
            payload,
            "Protobuf",
            settings={
                "format_schema": self._proto,
                "insert_deduplication_token": token,
                "deduplicate_blocks_in_dependent_materialized_views": 1,
            },
        )

    def _insert_columns(
        self, table: str, names: tuple[str, ...], data: list[list[Any]], token: str
    ) -> None:
        self.store.insert(
            table,
            data,
            names,
            column_oriented=True,
            settings={"insert_deduplication_token": f"{token}-{table}"},
        )
