"""OpenTelemetry emission with the names of docs/telemetry.md; exporters are injected.

By default the OTLP exporters read the standard OTEL_* variables; tests pass the SDK's
in-memory exporters and reader, and the demo passes the collectors' in-process ones. Span
and log timestamps come from the engine's clock, so a virtual-time backfill produces spans
at their simulated times.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk._logs import LoggerProvider, ReadableLogRecord
from opentelemetry.sdk._logs.export import (
    BatchLogRecordProcessor,
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor, SpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from orchestrator.virtual_metrics import VirtualTimeMetricReader

__all__ = ["ENGINE_SERVICE", "Telemetry", "format_traceparent", "parse_traceparent"]

ENGINE_SERVICE = "flowmeter-orchestrator"
NS = 1_000_000_000

logger = logging.getLogger(__name__)


def format_traceparent(trace_id: int, span_id: int) -> str:
    """W3C traceparent text of a sampled span."""
    return f"00-{trace_id:032x}-{span_id:016x}-01"


def parse_traceparent(value: str) -> tuple[int, int]:
    """(trace_id, span_id) of a W3C traceparent."""
    parts = value.split("-")
    if len(parts) != 4 or len(parts[1]) != 32 or len(parts[2]) != 16:
        raise ValueError(f"not a W3C traceparent: {value!r}")
    return int(parts[1], 16), int(parts[2], 16)


class _ChosenIds(RandomIdGenerator):
    """Random ids, except when the engine needs a run span to carry its stored ids."""

    def __init__(self) -> None:
        self._local = threading.local()

    def choose(self, trace_id: int, span_id: int) -> None:
        self._local.ids = (trace_id, span_id)

    def generate_trace_id(self) -> int:
        ids = getattr(self._local, "ids", None)
        return ids[0] if ids else super().generate_trace_id()

    def generate_span_id(self) -> int:
        ids = getattr(self._local, "ids", None)
        if ids:
            self._local.ids = None
            return int(ids[1])
        return super().generate_span_id()


class Telemetry:
    """Tracer, meter and event logger for the engine and the systems the flows call."""

    def __init__(
        self,
        *,
        span_exporter: SpanExporter | None = None,
        log_exporter: LogRecordExporter | None = None,
        metric_reader: MetricReader | None = None,
        metric_exporter: MetricExporter | None = None,
        synchronous: bool = False,
        attributes: Mapping[str, str] | None = None,
        drain: Callable[[float], bool] | None = None,
    ) -> None:
        self._drain = drain  # e.g. Pipeline.flush: exported data -> the store
        if span_exporter is None:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

            span_exporter = OTLPSpanExporter()
        if log_exporter is None:
            from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter

            log_exporter = OTLPLogExporter()
        self._log_exporter = _CountedLogExporter(log_exporter)
        if metric_reader is None:
            if metric_exporter is None:
                from opentelemetry.exporter.otlp.proto.http.metric_exporter import (
                    OTLPMetricExporter,
                )

                metric_exporter = OTLPMetricExporter()
            metric_reader = PeriodicExportingMetricReader(metric_exporter)
        readers = [metric_reader]
        # With an exporter, a second reader can export at the engine clock's (simulated)
        # times: the demo backfill's metric history.
        self._virtual_reader: VirtualTimeMetricReader | None = None
        if metric_exporter is not None:
            self._virtual_reader = VirtualTimeMetricReader(metric_exporter)
            readers.append(self._virtual_reader)
        self._extra = dict(attributes or {})
        self._span_processor: SpanProcessor = (
            SimpleSpanProcessor(span_exporter)
            if synchronous
            else BatchSpanProcessor(span_exporter, max_queue_size=65536, max_export_batch_size=2048)
        )
        self._ids = _ChosenIds()
        self._providers: dict[str, TracerProvider] = {}
        self._lock = threading.Lock()
        resource = self._resource(ENGINE_SERVICE)
        self.tracer = self.tracer_for(ENGINE_SERVICE)
        self.log_provider = LoggerProvider(resource=resource, shutdown_on_exit=False)
        self.log_provider.add_log_record_processor(
            SimpleLogRecordProcessor(self._log_exporter)
            if synchronous
            else BatchLogRecordProcessor(self._log_exporter, max_queue_size=65536)
        )
        self.events = self.log_provider.get_logger("flowmeter.orchestrator")
        self.meter_provider = MeterProvider(
            metric_readers=readers, resource=resource, shutdown_on_exit=False
        )
        meter = self.meter_provider.get_meter("flowmeter.orchestrator")
        self.runs_started = meter.create_counter("flowmeter.runs.started")
        self.runs_completed = meter.create_counter("flowmeter.runs.completed")
        self.runs_failed = meter.create_counter("flowmeter.runs.failed")
        self.step_retries = meter.create_counter("flowmeter.step.retries")
        self.dlq_additions = meter.create_counter("flowmeter.dlq.additions")
        self.dlq_depth = meter.create_gauge("flowmeter.dlq.depth")
        self.queue_lag = meter.create_gauge("flowmeter.queue.lag", unit="s")
        self.breaker_state = meter.create_gauge("flowmeter.breaker.state")
        self.step_duration = meter.create_histogram("flowmeter.step.duration", unit="ms")

    def _resource(self, service: str) -> Resource:
        return Resource.create({"service.name": service, **self._extra})

    def tracer_for(self, service: str) -> trace.Tracer:
        """A tracer whose spans report under ``service.name`` = ``service``."""
        with self._lock:
            provider = self._providers.get(service)
            if provider is None:
                provider = TracerProvider(
                    resource=self._resource(service), id_generator=self._ids, shutdown_on_exit=False
                )
                provider.add_span_processor(self._span_processor)
                self._providers[service] = provider
        return provider.get_tracer("flowmeter.orchestrator")

    def new_run_ids(self) -> tuple[int, int]:
        """(trace_id, span_id) for a new run; joins the caller's active trace if any."""
        active = trace.get_current_span().get_span_context()
        trace_id = active.trace_id if active.is_valid else self._ids.generate_trace_id()
        return trace_id, self._ids.generate_span_id()

    def emit_run_span(
        self,
        traceparent: str,
        start: float,
        end: float,
        attributes: dict[str, AttributeValue],
        *,
        error: str | None = None,
        events: list[tuple[str, float, dict[str, Any]]] | None = None,
        reuse_ids: bool = True,
    ) -> None:
        """The run's span, with the trace and span id stored on the run row (or, for a
        replay, a fresh span parented to the stored one)."""
        trace_id, span_id = parse_traceparent(traceparent)
        if reuse_ids:
            self._ids.choose(trace_id, span_id)
            parent = otel_context.Context()
        else:
            parent = _parent_context(traceparent)
        name = f"run {attributes.get('workflow.name', '')}"
        span = self.tracer.start_span(
            name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes,
            start_time=int(start * NS),
        )  # fmt: skip
        for event_name, at, event_attributes in events or ():
            span.add_event(event_name, event_attributes, timestamp=int(at * NS))
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=int(end * NS))

    @contextmanager
    def span(
        self,
        name: str,
        traceparent: str,
        start: float,
        attributes: dict[str, AttributeValue],
        *,
        service: str = ENGINE_SERVICE,
        kind: SpanKind = SpanKind.INTERNAL,
    ) -> Iterator[trace.Span]:
        """A child span of the run; the caller ends it (with the clock's end time)."""
        tracer = self.tracer if service == ENGINE_SERVICE else self.tracer_for(service)
        span = tracer.start_span(
            name, context=_parent_context(traceparent), kind=kind, attributes=attributes,
            start_time=int(start * NS),
        )  # fmt: skip
        token = otel_context.attach(trace.set_span_in_context(span))
        try:
            yield span
        finally:
            otel_context.detach(token)

    def event(
        self, name: str, at: float, attributes: dict[str, AttributeValue], traceparent: str | None
    ) -> None:
        """A log event (``kpi.*``, ``dlq.*``) at the clock's time, linked to the run's trace."""
        ctx = _parent_context(traceparent) if traceparent else None
        self.events.emit(
            timestamp=int(at * NS), observed_timestamp=int(at * NS), context=ctx,
            body=name, attributes={"event.name": name, **attributes}, event_name=name,
        )  # fmt: skip

    @property
    def log_export_failures(self) -> int:
        """How many batches of log events the exporter refused (e.g. no receiver listening)."""
        return self._log_exporter.failures

    @property
    def exports_virtual_metrics(self) -> bool:
        """Whether ``export_metrics_at`` sends anything (built with a metric exporter)."""
        return self._virtual_reader is not None

    def export_metrics_at(self, at: float) -> None:
        """Export every metric's current value stamped at ``at`` (a simulated time)."""
        if self._virtual_reader is not None:
            self._virtual_reader.export_at(at)

    def flush(self, timeout_millis: int = 30000) -> None:
        """Push everything buffered to the exporters (and, with ``drain``, on into the store)."""
        self._push(timeout_millis)
        if self._drain is not None and not self._drain(timeout_millis / 1000):
            logger.warning("telemetry flush: the ingest pipeline did not drain in time")

    def _push(self, timeout_millis: int) -> None:
        self._span_processor.force_flush(timeout_millis)
        self.log_provider.force_flush(timeout_millis)
        self.meter_provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush to the exporters and stop every provider (the pipeline's owner drains it)."""
        self._push(30000)
        self._span_processor.shutdown()
        self.log_provider.shutdown()
        self.meter_provider.shutdown()


class _CountedLogExporter(LogRecordExporter):
    """Passes batches on to ``inner`` and counts the ones it refused."""

    def __init__(self, inner: LogRecordExporter) -> None:
        self.inner, self.failures = inner, 0

    def export(self, batch: Sequence[ReadableLogRecord]) -> LogRecordExportResult:
        result = self.inner.export(batch)
        if result != LogRecordExportResult.SUCCESS:
            self.failures += 1
        return result

    def shutdown(self) -> None:
        self.inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self.inner.force_flush(timeout_millis)


def _parent_context(traceparent: str) -> otel_context.Context:
    trace_id, span_id = parse_traceparent(traceparent)
    parent = SpanContext(trace_id, span_id, is_remote=True, trace_flags=trace.TraceFlags(1))
    return trace.set_span_in_context(NonRecordingSpan(parent))
