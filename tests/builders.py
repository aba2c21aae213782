"""Small builders that insert rows shaped like what the orchestrator and collectors emit."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from models.db import Store
from models.kpi import KPI_COLUMNS

SPAN_COLUMNS = [
    "Timestamp",
    "TraceId",
    "SpanId",
    "ParentSpanId",
    "SpanName",
    "SpanKind",
    "ServiceName",
    "ResourceAttributes",
    "SpanAttributes",
    "Duration",
    "StatusCode",
    "StatusMessage",
    "Events.Timestamp",
    "Events.Name",
    "Events.Attributes",
]


@dataclass
class Span:
    """One span row; ``events`` are (name, attributes) pairs stamped at the span start."""

    ts: datetime
    name: str
    trace_id: str = ""
    span_id: str = field(default_factory=lambda: uuid.uuid4().hex[:16])
    parent: str = ""
    service: str = "flowmeter-orchestrator"
    attrs: dict[str, str] = field(default_factory=dict)
    duration_ms: float = 100.0
    error: bool = False
    events: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    kind: str = "Internal"

    def row(self) -> list[Any]:
        return [
            self.ts,
            self.trace_id or uuid.uuid4().hex,
            self.span_id,
            self.parent,
            self.name,
            self.kind,
            self.service,
            {},
            self.attrs,
            int(self.duration_ms * 1_000_000),
            "Error" if self.error else "Ok",
            "boom" if self.error else "",
            [self.ts] * len(self.events),
            [e[0] for e in self.events],
            [e[1] for e in self.events],
        ]


def insert_spans(store: Store, spans: list[Span]) -> None:
    store.insert("otel_traces", [s.row() for s in spans], SPAN_COLUMNS)


def run(
    store: Store,
    ts: datetime,
    workflow: str,
    *,
    tenant: str = "acme",
    outcome: str = "completed",
    mode: str = "automated",
    correlation: str = "",
    entity: str = "",
    product_line: str = "retail",
    duration_ms: float = 1000.0,
    steps: list[tuple[str, str, float]] | None = None,
    calls: list[tuple[str, float]] | None = None,
) -> str:
    """Insert a `run <workflow>` span, its step spans and external calls; return the trace id."""
    trace_id = uuid.uuid4().hex
    base = {
        "correlation.id": correlation or uuid.uuid4().hex[:12],
        "workflow.name": workflow,
        "tenant.id": tenant,
        "product.line": product_line,
        "entity.id": entity,
    }
    root = Span(
        ts,
        f"run {workflow}",
        trace_id,
        attrs={**base, "run.outcome": outcome, "run.mode": mode},
        duration_ms=duration_ms,
        error=outcome in ("failed", "dead_lettered"),
        events=[("dead_letter", {"dlq.reason": "x"})] if outcome == "dead_lettered" else [],
    )
    spans = [root]
    for attempt, (step, step_outcome, ms) in enumerate(steps or [], start=1):
        spans.append(
            Span(
                ts + timedelta(milliseconds=attempt),
                f"step {step}",
                trace_id,
                parent=root.span_id,
                attrs={
                    **base,
                    "step.name": step,
                    "step.attempt": str(attempt),
                    "step.outcome": step_outcome,
                },
                duration_ms=ms,
                error=step_outcome != "ok",
                events=[("retry", {"retry.delay_ms": "10"})] if step_outcome == "retry" else [],
            )
        )
    for peer, ms in calls or []:
        spans.append(
            Span(
                ts,
                f"POST {peer}",
                trace_id,
                parent=root.span_id,
                kind="Client",
                attrs={**base, "peer.service": peer},
                duration_ms=ms,
            )
        )
    insert_spans(store, spans)
    return trace_id


def kpi_event(
    store: Store,
    ts: datetime,
    kpi: str,
    *,
    value: float = 1.0,
    amount: Decimal | None = None,
    currency: str = "",
    workflow: str = "order-to-cash",
    tenant: str = "acme",
    correlation: str = "",
    entity: str = "",
    trace_id: str = "",
) -> None:
    store.insert(
        "business_events",
        [
            [
                uuid.uuid4().hex,
                ts,
                kpi,
                value,
                amount,
                currency,
                "order",
                entity,
                correlation,
                trace_id,
                workflow,
                tenant,
                "retail",
                {},
                1,
            ]
        ],
        list(KPI_COLUMNS),
    )


LOG_COLUMNS = [
    "Timestamp",
    "TraceId",
    "SpanId",
    "SeverityText",
    "ServiceName",
    "Body",
    "LogAttributes",
    "EventName",
]


def log_event(
    store: Store, ts: datetime, event_name: str, attrs: dict[str, str], trace_id: str = ""
) -> None:
    store.insert(
        "otel_logs",
        [[ts, trace_id, "", "INFO", "flowmeter-orchestrator", event_name, attrs, event_name]],
        LOG_COLUMNS,
    )


def gauge(store: Store, ts: datetime, metric: str, value: float, attrs: dict[str, str]) -> None:
    store.insert(
        "otel_metrics_gauge",
        [["flowmeter-orchestrator", metric, attrs, ts, ts, value]],
        ["ServiceName", "MetricName", "Attributes", "StartTimeUnix", "TimeUnix", "Value"],
    )


def module_store(engine_dsn: str) -> Store:
    """A migrated database for a module whose tests only read (seed once, query many times)."""
    from models.migrations import migrate

    handle = Store(engine_dsn, database=f"t_{uuid.uuid4().hex[:12]}")
    migrate(handle)
    return handle
