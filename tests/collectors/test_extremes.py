"""Property tests over extreme values: whatever ingest acknowledges lands in the store.

Every signal gets timestamps at and past the edges of DateTime64(9) and DateTime, NaN and
infinities, the int64 and uint64 extremes, odd enums, nested attribute values, empty and
over-long strings (FLOWMETER_MAX_VALUE_BYTES is small here), through the real pipeline and
chDB. Refused records must be named in partial_success; everything else must be stored,
nothing quarantined. KPI events go through ``POST /v1/kpi`` with the same spirit.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import requests
from google.protobuf import json_format
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collectors import otlp
from collectors.limits import MAX_DATETIME64_NS, MAX_DATETIME_NS
from collectors.pipeline import Pipeline
from models.db import Store
from models.errors import IngestError
from tests.collectors.conftest import rows

MAX_VALUE_BYTES = 300
EDGES = [
    0,
    1,
    MAX_DATETIME_NS,
    MAX_DATETIME_NS + 1,
    MAX_DATETIME64_NS,
    MAX_DATETIME64_NS + 1,
    2**64 - 1,
]
PROPERTY = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.function_scoped_fixture,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

times = st.one_of(st.sampled_from(EDGES), st.integers(0, 2**64 - 1))
floats = st.floats()  # NaN, +-inf, -0.0, subnormals
int64 = st.integers(-(2**63), 2**63 - 1)
uint64 = st.integers(0, 2**64 - 1)
int32 = st.integers(-(2**31), 2**31 - 1)
uint32 = st.integers(0, 2**32 - 1)
text = st.one_of(st.text(max_size=12), st.text(min_size=MAX_VALUE_BYTES - 5, max_size=400))
scalar = st.one_of(text, st.booleans(), int64, floats, st.binary(max_size=20))
value = st.recursive(
    scalar,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(text, inner, max_size=3)),
    max_leaves=6,
)
attributes = st.dictionaries(text, value, max_size=4)


def _set(target: Any, item: Any) -> None:
    if isinstance(item, bool):
        target.bool_value = item
    elif isinstance(item, int):
        target.int_value = item
    elif isinstance(item, float):
        target.double_value = item
    elif isinstance(item, bytes):
        target.bytes_value = item
    elif isinstance(item, list):
        target.array_value.SetInParent()
        for element in item:
            _set(target.array_value.values.add(), element)
    elif isinstance(item, dict):
        target.kvlist_value.SetInParent()
        for key, element in item.items():
            _set(target.kvlist_value.values.add(key=key).value, element)
    else:
        target.string_value = item


def _attrs(target: Any, pairs: dict[str, Any]) -> None:
    for key, item in pairs.items():
        _set(target.add(key=key).value, item)


@st.composite
def trace_requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(1, 2))):
        rs = request.resource_spans.add()
        _attrs(rs.resource.attributes, draw(attributes))
        ss = rs.scope_spans.add()
        ss.scope.name = draw(text)
        for _ in range(draw(st.integers(0, 3))):
            span = ss.spans.add(
                trace_id=draw(st.binary(min_size=16, max_size=16)),
                span_id=draw(st.binary(min_size=8, max_size=8)),
                name=draw(text),
                kind=draw(int32),
                start_time_unix_nano=draw(times),
                end_time_unix_nano=draw(times),
            )
            span.status.code = draw(int32)
            span.status.message = draw(text)
            _attrs(span.attributes, draw(attributes))
            for _ in range(draw(st.integers(0, 2))):
                event = span.events.add(name=draw(text), time_unix_nano=draw(times))
                _attrs(event.attributes, draw(attributes))
            if draw(st.booleans()):
                link = span.links.add(trace_id=b"\x01" * 16, span_id=b"\x02" * 8)
                _attrs(link.attributes, draw(attributes))
    return request


@st.composite
def log_requests(draw: st.DrawFn) -> ExportLogsServiceRequest:
    request = ExportLogsServiceRequest()
    for _ in range(draw(st.integers(1, 2))):
        rl = request.resource_logs.add()
        _attrs(rl.resource.attributes, draw(attributes))
        sl = rl.scope_logs.add()
        _attrs(sl.scope.attributes, draw(attributes))
        for _ in range(draw(st.integers(0, 3))):
            record = sl.log_records.add(
                time_unix_nano=draw(times),
                observed_time_unix_nano=draw(times),
                severity_number=draw(int32),
                severity_text=draw(text),
                flags=draw(uint32),
                event_name=draw(st.sampled_from(["", "kpi.order_paid", "app.start"])),
            )
            _set(record.body, draw(value))
            _attrs(record.attributes, draw(attributes))
    return request


@st.composite
def metric_requests(draw: st.DrawFn) -> ExportMetricsServiceRequest:
    request = ExportMetricsServiceRequest()
    rm = request.resource_metrics.add()
    _attrs(rm.resource.attributes, draw(attributes))
    sm = rm.scope_metrics.add()
    sm.scope.dropped_attributes_count = draw(uint32)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(
            st.sampled_from(["gauge", "sum", "histogram", "exponential_histogram", "summary"])
        )
        metric = sm.metrics.add(name=draw(text), unit=draw(text))
        data = getattr(metric, kind)
        if kind in ("sum", "histogram", "exponential_histogram"):
            data.aggregation_temporality = draw(int32)
        if kind == "sum":
            data.is_monotonic = draw(st.booleans())
        for _ in range(draw(st.integers(0, 2))):
            p = data.data_points.add(start_time_unix_nano=draw(times), time_unix_nano=draw(times))
            _attrs(p.attributes, draw(attributes))
            if kind in ("gauge", "sum"):
                if draw(st.booleans()):
                    p.as_int = draw(int64)
                else:
                    p.as_double = draw(floats)
                p.flags = draw(uint32)
            elif kind == "summary":
                p.count, p.sum = draw(uint64), draw(floats)
                for _ in range(draw(st.integers(0, 2))):
                    p.quantile_values.add(quantile=draw(floats), value=draw(floats))
            else:
                p.count, p.sum, p.min, p.max = (
                    draw(uint64),
                    draw(floats),
                    draw(floats),
                    draw(floats),
                )
                if kind == "histogram":
                    p.bucket_counts.extend(draw(st.lists(uint64, max_size=3)))
                    p.explicit_bounds.extend(draw(st.lists(floats, max_size=3)))
                else:
                    p.scale, p.zero_count = draw(int32), draw(uint64)
                    p.positive.offset = draw(int32)
                    p.positive.bucket_counts.extend(draw(st.lists(uint64, max_size=3)))
                    p.negative.offset = draw(int32)
                    p.negative.bucket_counts.extend(draw(st.lists(uint64, max_size=3)))
            if kind != "summary":
                for _ in range(draw(st.integers(0, 1))):
                    e = p.exemplars.add(time_unix_nano=draw(times), as_double=draw(floats))
                    _attrs(e.filtered_attributes, draw(attributes))
    return request


STRATEGIES = {"traces": trace_requests(), "logs": log_requests(), "metrics": metric_requests()}
COUNT_SQL = {
    "traces": "SELECT count() AS n FROM otel_traces",
    "logs": "SELECT count() AS n FROM otel_logs",
    "metrics": "SELECT (SELECT count() FROM otel_metrics_gauge) + (SELECT count() FROM "
    "otel_metrics_sum) + (SELECT count() FROM otel_metrics_histogram) + (SELECT count() FROM "
    "otel_metrics_exponential_histogram) + (SELECT count() FROM otel_metrics_summary) AS n",
}


def _check_signal(store: Store, make_pipeline: Callable[..., Pipeline], signal: str) -> None:
    pipeline = make_pipeline(
        max_value_bytes=MAX_VALUE_BYTES, ingest_max_attempts=1, ingest_retry_max_seconds=0.05
    )
    acked = 0

    @PROPERTY
    @given(request=STRATEGIES[signal], as_json=st.booleans())
    def submit(request: Any, as_json: bool) -> None:
        nonlocal acked
        sent = otlp.count_rows(signal, request)
        if as_json:
            body = json_format.MessageToJson(request).encode()
            content_type = otlp.JSON
        else:
            body, content_type = request.SerializeToString(), otlp.PROTOBUF
        try:
            result = pipeline.submit(signal, body, content_type=content_type)
        except IngestError as exc:  # a whole request refused: a clear 4xx, never a 500
            assert 400 <= exc.status < 500 and str(exc)
            return
        assert result.accepted + result.rejected == sent
        if result.rejected:
            assert result.message  # names the field and the limit
        acked += result.accepted

    submit()
    assert pipeline.flush(120)
    assert pipeline.quarantined_rows == 0  # nothing acknowledged was refused by the store
    assert rows(store, COUNT_SQL[signal]) == [{"n": acked}]


def test_acked_spans_land(store: Store, make_pipeline: Callable[..., Pipeline]) -> None:
    _check_signal(store, make_pipeline, "traces")


def test_acked_log_records_land(store: Store, make_pipeline: Callable[..., Pipeline]) -> None:
    _check_signal(store, make_pipeline, "logs")


def test_acked_data_points_land(store: Store, make_pipeline: Callable[..., Pipeline]) -> None:
    _check_signal(store, make_pipeline, "metrics")


KPI_TIMES = [
    "0001-01-01T00:00:00Z",
    "1900-01-01T00:00:00Z",
    "2299-12-31T23:59:59.999Z",
    "9999-12-31T23:59:59Z",
    "2026-01-02T03:04:05+14:00",
]
kpi_text = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["\ud800", "a\udfffb", "\x00", "é" * 200]),
)
kpi_events = st.fixed_dictionaries(
    {
        "event_id": kpi_text,
        "ts": st.sampled_from(KPI_TIMES),
        "kpi": st.sampled_from(["order_paid", "x" * 200, "bad name"]),
        "value": st.one_of(st.floats(), st.integers(-(2**70), 2**70), st.text(max_size=5)),
    },
    optional={
        "amount": st.one_of(st.decimals(), st.sampled_from(["99999999999999.9999", "1e20"])),
        "currency": st.sampled_from(["EUR", "XXX", "eur"]),
        "entity_id": kpi_text,
        "workflow": kpi_text,
        "attributes": st.dictionaries(kpi_text, kpi_text, max_size=3),
    },
)


def test_acked_kpi_events_land(store: Store, make_receivers: Callable[..., Any]) -> None:
    _, http, _ = make_receivers()
    url = f"http://127.0.0.1:{http.port}/v1/kpi"
    inserted = 0

    @PROPERTY
    @given(events=st.lists(kpi_events, max_size=4))
    def post(events: list[dict[str, Any]]) -> None:
        nonlocal inserted
        body = json.dumps({"events": events}, default=str).encode()
        answer = requests.post(
            url, data=body, headers={"Content-Type": "application/json"}, timeout=30
        )
        assert answer.status_code == 200, answer.text  # never a 500 or a 503
        result = answer.json()
        assert result["accepted"] + len(result["rejected"]) == len(events)
        assert all(r["reason"] for r in result["rejected"])
        inserted += result["inserted"]

    post()
    assert rows(store, "SELECT count() AS n FROM business_events") == [{"n": inserted}]
