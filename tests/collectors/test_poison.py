"""One record must never stall ingest: refused before the ack, or isolated by the writer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collectors.pipeline import Pipeline
from models.db import Store
from tests.collectors.conftest import rows
from tests.collectors.test_http_receiver import _span_request

Receivers = Callable[..., tuple[Any, Any, Any]]
U64_MAX = 18446744073709551615


def _log_json(time_unix_nano: int | str, body: str) -> bytes:
    record = {"timeUnixNano": str(time_unix_nano), "body": {"stringValue": body}}
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}).encode()


def test_a_log_beyond_datetime64_is_refused_and_later_spans_land(
    store: Store, make_receivers: Receivers
) -> None:
    """Reproduces the stall of e1047bd: the log was acked, its segment failed forever in the
    client-side encoder, and every span acked after it stayed in the WAL."""
    pipeline, http, _ = make_receivers(ingest_tokens={"tok-acme": "acme"})
    auth = {"Authorization": "Bearer tok-acme"}
    url = f"http://127.0.0.1:{http.port}"
    answer = requests.post(
        f"{url}/v1/logs",
        data=_log_json(U64_MAX, "poison"),
        headers={**auth, "Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 200
    span = requests.post(
        f"{url}/v1/traces",
        data=_span_request(),
        headers={**auth, "Content-Type": "application/x-protobuf"},
        timeout=30,
    )
    assert span.status_code == 200
    assert pipeline.flush(60)  # liveness bound: on e1047bd this never drained
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 1}]
    assert rows(store, "SELECT count() AS n FROM otel_logs") == [{"n": 0}]
    partial = answer.json().get("partialSuccess", {})
    assert partial.get("rejectedLogRecords") == "1"
    assert "timeUnixNano" in partial["errorMessage"]
    assert "2262-04-11" in partial["errorMessage"]  # names the limit
    assert pipeline.stats().signals["logs"].refused_records == {"timestamp_out_of_range": 1}


def test_a_log_at_the_last_datetime64_nanosecond_lands(
    store: Store, make_receivers: Receivers
) -> None:
    pipeline, http, _ = make_receivers()
    answer = requests.post(
        f"http://127.0.0.1:{http.port}/v1/logs",
        data=_log_json(2**63 - 1, "edge"),
        headers={"Content-Type": "application/json"},
        timeout=30,
    )
    assert answer.status_code == 200 and "partialSuccess" not in answer.json()
    assert pipeline.flush(60)
    assert rows(store, "SELECT Body AS body FROM otel_logs") == [{"body": "edge"}]


def test_a_summary_metric_is_accepted_and_lands(store: Store, make_receivers: Receivers) -> None:
    """e1047bd answered 500: the exemplar id check read ``exemplars`` of summary points."""
    pipeline, http, _ = make_receivers()
    request = ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add(name="latency")
    point = metric.summary.data_points.add(time_unix_nano=1_700_000_000_000_000_000, count=2)
    point.quantile_values.add(quantile=0.5, value=float("nan"))
    answer = requests.post(
        f"http://127.0.0.1:{http.port}/v1/metrics",
        data=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=30,
    )
    assert answer.status_code == 200
    assert pipeline.flush(60)
    assert rows(store, "SELECT MetricName AS m FROM otel_metrics_summary") == [{"m": "latency"}]


def test_values_past_their_columns_are_refused_by_name_and_the_rest_kept(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    pipeline = make_pipeline(max_value_bytes=1000)
    request = ExportTraceServiceRequest.FromString(_span_request())
    spans = request.resource_spans[0].scope_spans[0].spans
    big = spans.add(trace_id=b"\x01" * 16, span_id=b"\x03" * 8, name="big")
    big.attributes.add(key="payload").value.string_value = "x" * 2000
    late = spans.add(trace_id=b"\x01" * 16, span_id=b"\x04" * 8, name="late")
    late.events.add(name="e", time_unix_nano=2**63)
    result = pipeline.submit("traces", request.SerializeToString())
    assert (result.accepted, result.rejected) == (1, 2)
    assert (
        "spans[1].attributes[0].value.stringValue: 2000 bytes; FLOWMETER_MAX_VALUE_BYTES is 1000"
        in result.message
    )
    assert "spans[2].events[0].timeUnixNano: 9223372036854775808 is after 2262" in result.message
    metrics = ExportMetricsServiceRequest()
    metric = metrics.resource_metrics.add().scope_metrics.add().metrics.add(name="m")
    metric.gauge.data_points.add(time_unix_nano=2**32 * 10**9, as_double=1.0)
    metric.gauge.data_points.add(time_unix_nano=2**32 * 10**9 - 1, as_double=2.0)
    result = pipeline.submit("metrics", metrics.SerializeToString())
    assert (result.accepted, result.rejected) == (1, 1)
    assert "gauge.dataPoints[0].timeUnixNano" in result.message and "2106-02-07" in result.message
    assert pipeline.flush(60)
    assert rows(store, "SELECT SpanName AS s FROM otel_traces") == [{"s": "op"}]
    assert rows(store, "SELECT Value AS v FROM otel_metrics_gauge") == [{"v": 2.0}]
