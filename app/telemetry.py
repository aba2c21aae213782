"""Where this process's orchestrator telemetry goes: the CLI commands, ``flowmeter up`` and
the dashboard's replays all build it here."""

from __future__ import annotations

import logging
from typing import Any

from models.settings import PLATFORM_TENANT, Settings
from orchestrator.telemetry import Telemetry

__all__ = ["audit_telemetry", "telemetry_for"]

logger = logging.getLogger(__name__)


def telemetry_for(
    settings: Settings,
    pipeline: Any | None = None,
    *,
    synchronous: bool = False,
    timeout: float | None = None,
) -> Telemetry:
    """Telemetry into ``pipeline`` through the collectors' in-process exporters (the same
    ingest path as OTLP), or else over OTLP/HTTP to this Flowmeter's own receiver (within
    ``timeout`` seconds per export; ``synchronous`` exports each event as it is emitted)."""
    if pipeline is not None:
        from collectors.inprocess import (
            InProcessLogExporter,
            InProcessMetricExporter,
            InProcessSpanExporter,
        )

        return Telemetry(
            span_exporter=InProcessSpanExporter(pipeline),
            log_exporter=InProcessLogExporter(pipeline),
            metric_exporter=InProcessMetricExporter(pipeline),
            drain=pipeline.flush,
        )
    from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    host = settings.bind if settings.bind not in ("0.0.0.0", "::") else "127.0.0.1"  # noqa: S104
    scheme = "https" if settings.tls_cert else "http"
    base = f"{scheme}://{host}:{settings.otlp_http_port}"
    options: dict[str, Any] = {"timeout": timeout, "headers": _platform_headers(settings)}
    return Telemetry(
        span_exporter=OTLPSpanExporter(endpoint=f"{base}/v1/traces", **options),
        log_exporter=OTLPLogExporter(endpoint=f"{base}/v1/logs", **options),
        metric_exporter=OTLPMetricExporter(endpoint=f"{base}/v1/metrics", **options),
        synchronous=synchronous,
    )


def _platform_headers(settings: Settings) -> dict[str, str] | None:
    """``Authorization`` with the platform token (tenant ``*``) when ingest tokens are on."""
    if not settings.ingest_tokens:
        return None  # the exporters' own OTEL_EXPORTER_OTLP_HEADERS still apply
    token = next((t for t, tenant in settings.ingest_tokens.items() if tenant == PLATFORM_TENANT),
                 None)  # fmt: skip
    if token is None:
        logger.warning("FLOWMETER_INGEST_TOKENS has no platform token (TOKEN=*): this process's "
                       "telemetry will be refused by the receiver")  # fmt: skip
        return None
    return {"authorization": f"Bearer {token}"}


def audit_telemetry(settings: Settings) -> Telemetry:
    """Telemetry for operator actions outside the engine (replays from the CLI or the
    dashboard): each ``dlq.replayed`` event goes to the receiver at once, within 5 s, so
    drill-downs show who replayed what; ``log_export_failures`` tells when it did not."""
    return telemetry_for(settings, synchronous=True, timeout=5.0)
