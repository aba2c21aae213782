"""The official SDK, through the in-process exporters, lands rows with the exporter's values."""

from __future__ import annotations

import logging
from collections.abc import Callable

from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from collectors.inprocess import (
    InProcessLogExporter,
    InProcessMetricExporter,
    InProcessSpanExporter,
)
from collectors.pipeline import Pipeline
from models.db import Store
from tests.collectors.conftest import rows


def test_spans_land_with_exporter_values(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    pipeline = make_pipeline()
    provider = TracerProvider(resource=Resource({"service.name": "payments-api", "host.cores": 4}))
    provider.add_span_processor(SimpleSpanProcessor(InProcessSpanExporter(pipeline)))
    tracer = provider.get_tracer("flowmeter.test", "1.2.3")
    with tracer.start_as_current_span(
        "run order",
        kind=SpanKind.SERVER,
        attributes={
            "workflow.name": "order",
            "n": 3,
            "ok": True,
            "tags": ["a", "b"],
            "user.email": "a@b.c",
        },
    ) as parent:
        parent.add_event("retry", {"retry.delay_ms": 250})
        parent_ctx = parent.get_span_context()
        with tracer.start_as_current_span(
            "step charge", kind=SpanKind.CLIENT, links=[Link(parent_ctx, {"why": "x"})]
        ) as child:
            child.set_status(Status(StatusCode.ERROR, "card declined"))
    provider.shutdown()
    assert pipeline.flush(30)
    got = {r["SpanName"]: r for r in rows(store, "SELECT * FROM otel_traces")}
    assert set(got) == {"run order", "step charge"}
    run, step = got["run order"], got["step charge"]
    assert run["TraceId"] == format(parent_ctx.trace_id, "032x")
    assert run["SpanId"] == format(parent_ctx.span_id, "016x")
    assert step["ParentSpanId"] == run["SpanId"]
    assert (run["SpanKind"], step["SpanKind"]) == ("Server", "Client")
    assert (run["StatusCode"], step["StatusCode"], step["StatusMessage"]) == (
        "Unset",
        "Error",
        "card declined",
    )
    assert run["ServiceName"] == "payments-api"
    assert run["ResourceAttributes"]["host.cores"] == "4"
    assert (run["ScopeName"], run["ScopeVersion"]) == ("flowmeter.test", "1.2.3")
    attrs = run["SpanAttributes"]
    assert (attrs["workflow.name"], attrs["n"], attrs["ok"], attrs["tags"]) == (
        "order",
        "3",
        "true",
        '["a","b"]',
    )
    assert attrs["user.email"] == pipeline.redactor.hash("a@b.c") != "a@b.c"
    assert run["Duration"] > 0
    assert run["Events.Name"] == ["retry"]
    assert run["Events.Attributes"] == [{"retry.delay_ms": "250"}]
    assert step["Links.SpanId"] == [run["SpanId"]]
    assert step["Links.Attributes"] == [{"why": "x"}]


def test_logs_and_kpi_events(store: Store, make_pipeline: Callable[..., Pipeline]) -> None:
    pipeline = make_pipeline()
    provider = LoggerProvider(resource=Resource({"service.name": "erp"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(InProcessLogExporter(pipeline)))
    log = logging.getLogger("flowmeter.test.kpi")
    log.propagate = False
    handler = LoggingHandler(logger_provider=provider)
    log.addHandler(handler)
    try:
        log.warning("plain line", extra={"customer.phone": "+331234"})
        log.warning(
            "order",
            extra={
                "event.name": "kpi.order_advanced",
                "event.id": "e-1",
                "kpi.value": 2.0,
                "entity.type": "order",
            },
        )
        log.warning("bad", extra={"event.name": "kpi.order_advanced", "kpi.value": 1.0})
    finally:
        log.removeHandler(handler)
        provider.shutdown()
    assert pipeline.flush(30)
    logs = rows(
        store,
        "SELECT Body, ServiceName, SeverityText, LogAttributes, EventName FROM otel_logs ORDER BY Body",
    )
    assert [r["Body"] for r in logs] == [
        "order",
        "plain line",
    ]  # the contract-breaking KPI record is rejected
    assert logs[1]["LogAttributes"]["customer.phone"] == pipeline.redactor.hash("+331234")
    assert logs[0]["EventName"] == "kpi.order_advanced"
    assert logs[0]["ServiceName"] == "erp"
    events = rows(store, "SELECT event_id, kpi, value, entity_type FROM business_events")
    assert events == [
        {"event_id": "e-1", "kpi": "order_advanced", "value": 2.0, "entity_type": "order"}
    ]


def test_metrics_of_each_sdk_type(store: Store, make_pipeline: Callable[..., Pipeline]) -> None:
    pipeline = make_pipeline()
    reader = InMemoryMetricReader()
    provider = MeterProvider(
        metric_readers=[reader], resource=Resource({"service.name": "orchestrator"})
    )
    meter = provider.get_meter("flowmeter.test")
    meter.create_counter("flowmeter.runs.started").add(3, {"workflow.name": "order"})
    meter.create_histogram("flowmeter.step.duration", unit="ms").record(
        12.5, {"step.name": "charge"}
    )
    meter.create_up_down_counter("flowmeter.queue.depth").add(-2)
    meter.create_observable_gauge(
        "flowmeter.dlq.depth",
        [
            lambda _: [
                __import__("opentelemetry.metrics").metrics.Observation(
                    7, {"workflow.name": "order"}
                )
            ]
        ],
    )
    data = reader.get_metrics_data()
    assert data is not None
    InProcessMetricExporter(pipeline).export(data)
    assert pipeline.flush(30)
    sums = rows(
        store,
        "SELECT MetricName, Value, IsMonotonic, Attributes, ServiceName FROM otel_metrics_sum ORDER BY MetricName",
    )
    assert [(r["MetricName"], r["Value"], r["IsMonotonic"]) for r in sums] == [
        ("flowmeter.queue.depth", -2.0, False),
        ("flowmeter.runs.started", 3.0, True),
    ]
    assert (
        sums[1]["Attributes"] == {"workflow.name": "order"}
        and sums[1]["ServiceName"] == "orchestrator"
    )
    hist = rows(
        store,
        "SELECT MetricUnit, Count, Sum, Min, Max, length(BucketCounts) = length(ExplicitBounds) + 1 AS shaped FROM otel_metrics_histogram",
    )
    assert hist == [
        {"MetricUnit": "ms", "Count": 1, "Sum": 12.5, "Min": 12.5, "Max": 12.5, "shaped": True}
    ]
    gauge = rows(store, "SELECT MetricName, Value FROM otel_metrics_gauge")
    assert gauge == [{"MetricName": "flowmeter.dlq.depth", "Value": 7.0}]
