"""Flowmeter observes itself: the ``flowmeter_*`` series ``GET /metrics`` serves.

One ``IngestMetrics`` per Pipeline, on a registry of its own (never prometheus_client's global
one: two pipelines in one process, as in the tests, keep their own counts). Counters are fed
where things happen (the pipeline counts records, the receivers count refused requests, the
store reports each statement's duration through ``Store.statement_observer``); the pipeline's
figures (buffer, WAL, quarantine, writer) are read at scrape time by ``pipeline_figures``.

Series (``signal`` is traces, metrics, logs or kpi):
- ``flowmeter_ingest_accepted_records_total{signal}``: records acknowledged (durable);
- ``flowmeter_ingest_refused_records_total{signal,reason}``: records refused inside an
  accepted request (``partial_success``);
- ``flowmeter_ingest_refused_requests_total{signal,transport,reason}``: whole requests refused
  (unauthenticated, too_large, invalid, unsupported, not_found, buffer_full, busy, unavailable);
- ``flowmeter_ingest_buffer_rows``, ``..._buffer_limit_rows``, ``..._buffer_fill_ratio``;
- ``flowmeter_wal_bytes{signal}``, ``flowmeter_wal_segments{signal}``;
- ``flowmeter_quarantined_segments{signal}``, ``flowmeter_quarantined_bytes{signal}``;
- ``flowmeter_writer_lag_seconds``, ``flowmeter_writer_running``,
  ``flowmeter_store_failed_inserts_total``, ``flowmeter_store_inserted_rows_total``;
- ``flowmeter_store_insert_seconds{table}`` (histogram of INSERT durations);
- ``flowmeter_store_query_seconds{query}`` (histogram of named-query durations: the
  dashboard's reads, and the few the collectors run).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from collectors import otlp
from models.errors import BackpressureError, IngestError, ReceiverBusyError

if TYPE_CHECKING:
    from collectors.pipeline import Pipeline

__all__ = ["IngestMetrics", "PipelineFigures", "pipeline_figures", "refusal_reason"]

_WAL_SUFFIX = ".wal"
_INSERT_PREFIX = "insert into "

_REASONS = {
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    413: "too_large",
    415: "unsupported",
    429: "buffer_full",
    503: "unavailable",
}


def refusal_reason(exc: IngestError) -> str:
    """The ``reason`` label of a refused request: a small fixed set, never the message."""
    if isinstance(exc, BackpressureError):
        return "buffer_full"
    if isinstance(exc, ReceiverBusyError):
        return "busy"
    return _REASONS.get(exc.status, "invalid" if exc.status < 500 else "unavailable")


@dataclass(frozen=True)
class PipelineFigures:
    """What the ingest pipeline holds right now (read at every scrape)."""

    buffered_rows: int  # acknowledged rows not in the store yet
    buffer_limit_rows: int  # FLOWMETER_BUFFER_MAX_ROWS
    wal_bytes: dict[str, int]  # per signal, segments waiting (sealed and active)
    wal_segments: dict[str, int]  # per signal, non-empty segment files
    quarantined_segments: dict[str, int]
    quarantined_bytes: dict[str, int]
    writer_lag_seconds: float  # age of the oldest waiting segment; 0 when none waits
    writer_running: bool
    failed_inserts: int
    inserted_rows: int


def _segments(directory: Path) -> list[tuple[Path, int]]:
    found = []
    for path in directory.glob(f"*{_WAL_SUFFIX}"):
        try:
            size = path.stat().st_size
        except FileNotFoundError:  # inserted and removed while we looked
            continue
        if size:
            found.append((path, size))
    return found


def pipeline_figures(pipeline: Pipeline) -> PipelineFigures:
    """Read the figures from what the Pipeline exposes today (pending_rows, its WAL and
    quarantine folders, its writer thread); the one place to switch to ``Pipeline.stats()``."""
    now_ns = time.time_ns()
    wal_bytes: dict[str, int] = {}
    wal_segments: dict[str, int] = {}
    q_segments: dict[str, int] = {}
    q_bytes: dict[str, int] = {}
    oldest_ns = now_ns
    for signal in otlp.SIGNALS:
        waiting = _segments(pipeline.wal_dir / signal)
        wal_bytes[signal] = sum(size for _, size in waiting)
        wal_segments[signal] = len(waiting)
        for path, _ in waiting:
            if path.stem.isdigit():  # segment names are their creation time in nanoseconds
                oldest_ns = min(oldest_ns, int(path.stem))
        set_aside = _segments(pipeline.wal_dir / "quarantine" / signal)
        q_segments[signal] = len(set_aside)
        q_bytes[signal] = sum(size for _, size in set_aside)
    writer = pipeline._thread  # the lead switches this function to Pipeline.stats()
    return PipelineFigures(
        buffered_rows=pipeline.pending_rows,
        buffer_limit_rows=pipeline.settings.buffer_max_rows,
        wal_bytes=wal_bytes,
        wal_segments=wal_segments,
        quarantined_segments=q_segments,
        quarantined_bytes=q_bytes,
        writer_lag_seconds=max(0.0, (now_ns - oldest_ns) / 1e9),
        writer_running=writer is not None and writer.is_alive(),
        failed_inserts=pipeline.failed_inserts,
        inserted_rows=pipeline.inserted_rows,
    )


class _PipelineCollector(Collector):
    """Turns ``pipeline_figures`` into gauges at scrape time."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline

    def collect(self) -> Iterator[Metric]:
        f = pipeline_figures(self.pipeline)
        yield _gauge("flowmeter_ingest_buffer_rows", "Acknowledged rows waiting for the store.",
                     f.buffered_rows)  # fmt: skip
        yield _gauge("flowmeter_ingest_buffer_limit_rows",
                     "FLOWMETER_BUFFER_MAX_ROWS: above it ingest answers 429.",
                     f.buffer_limit_rows)  # fmt: skip
        yield _gauge("flowmeter_ingest_buffer_fill_ratio", "Buffered rows / the buffer limit.",
                     f.buffered_rows / f.buffer_limit_rows)  # fmt: skip
        yield _per_signal("flowmeter_wal_bytes", "Bytes of WAL segments waiting for the store.",
                          f.wal_bytes)  # fmt: skip
        yield _per_signal("flowmeter_wal_segments", "Non-empty WAL segments waiting.",
                          f.wal_segments)  # fmt: skip
        yield _per_signal("flowmeter_quarantined_segments",
                          "WAL segments set aside under wal/quarantine/.",
                          f.quarantined_segments)  # fmt: skip
        yield _per_signal("flowmeter_quarantined_bytes", "Bytes of quarantined segments.",
                          f.quarantined_bytes)  # fmt: skip
        yield _gauge("flowmeter_writer_lag_seconds",
                     "Age of the oldest WAL segment the writer has not stored yet.",
                     f.writer_lag_seconds)  # fmt: skip
        yield _gauge("flowmeter_writer_running", "1 while the ingest writer thread runs.",
                     int(f.writer_running))  # fmt: skip
        failed = CounterMetricFamily("flowmeter_store_failed_inserts",
                                     "Insert attempts the store refused or failed.")  # fmt: skip
        failed.add_metric([], f.failed_inserts)
        yield failed
        inserted = CounterMetricFamily(
            "flowmeter_store_inserted_rows", "Rows stored by the writer."
        )
        inserted.add_metric([], f.inserted_rows)
        yield inserted


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _per_signal(name: str, doc: str, values: dict[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=["signal"])
    for signal, value in values.items():
        family.add_metric([signal], value)
    return family


class IngestMetrics:
    """The counters and histograms of one pipeline, and the registry ``/metrics`` renders."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.registry = CollectorRegistry()
        self._accepted = Counter(
            "flowmeter_ingest_accepted_records",
            "Records acknowledged (durable in the WAL or the store), per signal.",
            ["signal"],
            registry=self.registry,
        )
        self._refused_records = Counter(
            "flowmeter_ingest_refused_records",
            "Records refused inside an accepted request (partial_success), per signal and reason.",
            ["signal", "reason"],
            registry=self.registry,
        )
        self._refused_requests = Counter(
            "flowmeter_ingest_refused_requests",
            "Whole requests refused, per signal, transport and reason.",
            ["signal", "transport", "reason"],
            registry=self.registry,
        )
        self._insert_seconds = Histogram(
            "flowmeter_store_insert_seconds",
            "Duration of INSERT statements into the store, per table.",
            ["table"],
            registry=self.registry,
        )
        self._query_seconds = Histogram(
            "flowmeter_store_query_seconds",
            "Duration of named queries (the dashboard's reads), per query.",
            ["query"],
            registry=self.registry,
        )
        self.registry.register(_PipelineCollector(pipeline))
        # The store reports every statement here (one observer per store: the last pipeline's).
        pipeline.store.statement_observer = self.observe_statement

    def records(self, signal: str, accepted: int, refused: int, reason: str = "invalid") -> None:
        """Count one request's accepted records and the records refused inside it."""
        if accepted:
            self._accepted.labels(signal).inc(accepted)
        if refused:
            self._refused_records.labels(signal, reason).inc(refused)

    def refused(self, signal: str, transport: str, reason: str) -> None:
        """Count one whole request refused (``reason`` from ``refusal_reason`` or a fixed word)."""
        self._refused_requests.labels(signal, transport, reason).inc()

    def observe_statement(self, what: str, seconds: float) -> None:
        """The store's hook: an INSERT feeds the insert histogram, a named query the other."""
        if what.startswith(_INSERT_PREFIX):
            self._insert_seconds.labels(what[len(_INSERT_PREFIX) :]).observe(seconds)
        elif "/" in what:  # named queries are <area>/<name>
            self._query_seconds.labels(what).observe(seconds)
