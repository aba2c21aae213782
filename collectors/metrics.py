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

from collections.abc import Iterator
from dataclasses import dataclass, field
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
    buffer_fill: float  # the fullest signal's rows or WAL bytes over their caps
    accepted_records: dict[str, int]  # per signal, since start
    refused_records: dict[tuple[str, str], int]  # (signal, reason) -> records, since start
    wal_bytes: dict[str, int]  # per signal, segments waiting (sealed and active)
    wal_segments: dict[str, int]
    quarantined_segments: dict[str, int]
    quarantined_bytes: dict[str, int]
    writer_lag_seconds: float  # age of the oldest record not in the store; 0 when none waits
    writer_running: bool
    writer_io_errors: int
    failed_inserts: int
    inserted_rows: int


def _folder_bytes(directory: Path) -> int:
    total = 0
    for path in directory.glob(f"*{_WAL_SUFFIX}"):
        try:
            total += path.stat().st_size
        except FileNotFoundError:  # pruned while we looked
            continue
    return total


def pipeline_figures(pipeline: Pipeline) -> PipelineFigures:
    """The figures of ``Pipeline.stats()`` (no I/O but the quarantine folders' sizes)."""
    stats = pipeline.stats()
    signals = stats.signals
    refused = {
        (signal, reason): count
        for signal, figures in signals.items()
        for reason, count in figures.refused_records.items()
    }
    return PipelineFigures(
        buffered_rows=pipeline.pending_rows,
        buffer_limit_rows=pipeline.settings.buffer_max_rows,
        buffer_fill=stats.buffer_fill,
        accepted_records={s: f.accepted_records for s, f in signals.items()},
        refused_records=refused,
        wal_bytes={s: f.writer.wal_bytes for s, f in signals.items()},
        wal_segments={s: f.writer.wal_segments for s, f in signals.items()},
        quarantined_segments={s: f.writer.quarantined_segments for s, f in signals.items()},
        quarantined_bytes={
            s: _folder_bytes(pipeline.wal_dir / "quarantine" / s) for s in otlp.SIGNALS
        },
        writer_lag_seconds=stats.writer_lag_seconds,
        writer_running=bool(signals) and stats.writers_alive,
        writer_io_errors=stats.io_errors,
        failed_inserts=sum(f.writer.failed_inserts for f in signals.values()),
        inserted_rows=sum(f.writer.inserted_rows for f in signals.values()),
    )


class _PipelineCollector(Collector):
    """Turns ``pipeline_figures`` (and the KPI API's counts) into series at scrape time."""

    def __init__(self, pipeline: Pipeline, kpi: _KpiCounts) -> None:
        self.pipeline = pipeline
        self.kpi = kpi

    def collect(self) -> Iterator[Metric]:
        f = pipeline_figures(self.pipeline)
        accepted = CounterMetricFamily(
            "flowmeter_ingest_accepted_records",
            "Records acknowledged (durable in the WAL or the store), per signal.",
            labels=["signal"],
        )
        for signal, count in {**f.accepted_records, "kpi": self.kpi.accepted}.items():
            accepted.add_metric([signal], count)
        yield accepted
        refused = CounterMetricFamily(
            "flowmeter_ingest_refused_records",
            "Records refused inside an accepted request (partial_success), per signal and reason.",
            labels=["signal", "reason"],
        )
        for (signal, reason), count in {**f.refused_records, **self.kpi.refused}.items():
            refused.add_metric([signal, reason], count)
        yield refused
        yield _gauge("flowmeter_ingest_buffer_rows", "Acknowledged rows waiting for the store.",
                     f.buffered_rows)  # fmt: skip
        yield _gauge("flowmeter_ingest_buffer_limit_rows",
                     "FLOWMETER_BUFFER_MAX_ROWS: above it ingest answers 429.",
                     f.buffer_limit_rows)  # fmt: skip
        yield _gauge("flowmeter_ingest_buffer_fill_ratio",
                     "The fullest signal's waiting rows or WAL bytes over their caps.",
                     f.buffer_fill)  # fmt: skip
        yield _per_signal("flowmeter_wal_bytes", "Bytes of WAL segments waiting for the store.",
                          f.wal_bytes)  # fmt: skip
        yield _per_signal("flowmeter_wal_segments", "WAL segments waiting.", f.wal_segments)
        yield _per_signal("flowmeter_quarantined_segments",
                          "Segments (or their refused records) set aside since start.",
                          f.quarantined_segments)  # fmt: skip
        yield _per_signal("flowmeter_quarantined_bytes", "Bytes under wal/quarantine/.",
                          f.quarantined_bytes)  # fmt: skip
        yield _gauge("flowmeter_writer_lag_seconds",
                     "Age of the oldest acknowledged record not in the store yet.",
                     f.writer_lag_seconds)  # fmt: skip
        yield _gauge("flowmeter_writer_running", "1 while every signal's writer thread runs.",
                     int(f.writer_running))  # fmt: skip
        for name, doc, value in (
            ("flowmeter_writer_io_errors", "Writer I/O (and other) errors survived.",
             f.writer_io_errors),
            ("flowmeter_store_failed_inserts", "Insert attempts the store refused or failed.",
             f.failed_inserts),
            ("flowmeter_store_inserted_rows", "Rows stored by the writers.", f.inserted_rows),
        ):  # fmt: skip
            family = CounterMetricFamily(name, doc)
            family.add_metric([], value)
            yield family


@dataclass
class _KpiCounts:
    """``POST /v1/kpi`` bypasses the WAL: its records are counted here."""

    accepted: int = 0
    refused: dict[tuple[str, str], int] = field(default_factory=dict)


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
        self._kpi = _KpiCounts()
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
        self.registry.register(_PipelineCollector(pipeline, self._kpi))
        # The store reports every statement here (one observer per store: the last pipeline's).
        pipeline.store.statement_observer = self.observe_statement

    def kpi_records(self, accepted: int, refused: int, reason: str = "kpi_contract") -> None:
        """Count one ``POST /v1/kpi`` batch's accepted events and the events refused in it."""
        self._kpi.accepted += accepted
        if refused:
            key = ("kpi", reason)
            self._kpi.refused[key] = self._kpi.refused.get(key, 0) + refused

    def refused(self, signal: str, transport: str, reason: str) -> None:
        """Count one whole request refused (``reason`` from ``refusal_reason`` or a fixed word)."""
        self._refused_requests.labels(signal, transport, reason).inc()

    def observe_statement(self, what: str, seconds: float) -> None:
        """The store's hook: an INSERT feeds the insert histogram, a named query the other."""
        if what.startswith(_INSERT_PREFIX):
            self._insert_seconds.labels(what[len(_INSERT_PREFIX) :]).observe(seconds)
        elif "/" in what:  # named queries are <area>/<name>
            self._query_seconds.labels(what).observe(seconds)
