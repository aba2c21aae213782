"""One record must never stall ingest: refused before the ack, or isolated by the writer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

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
