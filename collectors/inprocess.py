"""OpenTelemetry SDK exporters that hand telemetry straight to a Pipeline in this process.

They encode with the official OTLP encoders (the same bytes an OTLP exporter would send) and
call ``Pipeline.submit``, so in-process telemetry (the orchestrator, the demo) takes exactly
the receivers' path: validation, tenant, redaction, WAL, batching. A full buffer fails the
export (the SDK's batch processor drops or retries as it does for any exporter).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.common.metrics_encoder import encode_metrics
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk._logs.export import LogRecordExporter, LogRecordExportResult
from opentelemetry.sdk.metrics.export import (
    MetricExporter,
    MetricExportResult,
    MetricsData,
)
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from collectors.metrics import refusal_reason
from collectors.pipeline import Pipeline
from models.errors import IngestError

__all__ = ["InProcessLogExporter", "InProcessMetricExporter", "InProcessSpanExporter"]

logger = logging.getLogger(__name__)


def _submit(pipeline: Pipeline, signal: str, body: bytes, tenant: str | None) -> bool:
    try:
        result = pipeline.submit(signal, body, tenant=tenant)
    except IngestError as exc:
        logger.warning("in-process %s export refused: %s", signal, exc)
        pipeline.metrics.refused(signal, "inprocess", refusal_reason(exc))
        return False
    if result.rejected:
        logger.warning(
            "in-process %s export: %d rejected: %s", signal, result.rejected, result.message
        )
    return True


class InProcessSpanExporter(SpanExporter):
    """SpanExporter -> Pipeline.submit("traces", ...)."""

    def __init__(self, pipeline: Pipeline, *, tenant: str | None = None) -> None:
        self.pipeline = pipeline
        self.tenant = tenant

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        """Encode the spans as OTLP protobuf and submit them."""
        body = encode_spans(spans).SerializeToString()
        ok = _submit(self.pipeline, "traces", body, self.tenant)
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        """Nothing to release: the pipeline belongs to its owner."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Submitted spans are durable already."""
        return True


class InProcessLogExporter(LogRecordExporter):
    """LogRecordExporter -> Pipeline.submit("logs", ...)."""

    def __init__(self, pipeline: Pipeline, *, tenant: str | None = None) -> None:
        self.pipeline = pipeline
        self.tenant = tenant

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        """Encode the log records as OTLP protobuf and submit them."""
        body = encode_logs(batch).SerializeToString()
        ok = _submit(self.pipeline, "logs", body, self.tenant)
        return LogRecordExportResult.SUCCESS if ok else LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        """Nothing to release."""

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Submitted records are durable already."""
        return True


class InProcessMetricExporter(MetricExporter):
    """MetricExporter -> Pipeline.submit("metrics", ...)."""

    def __init__(self, pipeline: Pipeline, *, tenant: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.pipeline = pipeline
        self.tenant = tenant

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        """Encode the metrics as OTLP protobuf and submit them."""
        body = encode_metrics(metrics_data).SerializeToString()
        ok = _submit(self.pipeline, "metrics", body, self.tenant)
        return MetricExportResult.SUCCESS if ok else MetricExportResult.FAILURE

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        """Submitted data points are durable already."""
        return True

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        """Nothing to release."""
