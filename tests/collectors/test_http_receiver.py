"""OTLP/HTTP: the official SDK exporters, the shared OTLP JSON fixtures, bad input, tokens."""

from __future__ import annotations

import gzip
import json
import re
import shutil
import socket
import subprocess
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from google.rpc.status_pb2 import Status
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceResponse
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind

from collectors.http_receiver import bearer_tenant
from models.db import Store
from models.errors import IngestError
from tests.collectors.conftest import rows
from tests.conftest import FIXTURES

Receivers = Callable[..., tuple[Any, Any, Any]]
PB = {"Content-Type": "application/x-protobuf"}
JSON = {"Content-Type": "application/json"}


def _url(http: Any, path: str) -> str:
    return f"http://127.0.0.1:{http.port}{path}"


def _span_request(trace_id: bytes = b"\x01" * 16, span_id: bytes = b"\x02" * 8) -> bytes:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "svc"
    rs.resource.attributes.add(key="tenant.id").value.string_value = "spoofed"
    span = rs.scope_spans.add().spans.add(trace_id=trace_id, span_id=span_id, name="op")
    span.start_time_unix_nano = 1_700_000_000_000_000_000
    span.end_time_unix_nano = 1_700_000_000_500_000_000
    return request.SerializeToString()


def test_sdk_http_exporters_land_rows(store: Store, make_receivers: Receivers) -> None:
    pipeline, http, _ = make_receivers()
    resource = Resource({"service.name": "crm"})
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=_url(http, "/v1/traces"), compression=Compression.Gzip)
        )
    )
    with tracer_provider.get_tracer("t").start_as_current_span(
        "GET /lead", kind=SpanKind.CLIENT
    ) as span:
        span.set_attribute("http.response.status_code", 200)
        span_id = format(span.get_span_context().span_id, "016x")
    tracer_provider.shutdown()

    log_provider = LoggerProvider(resource=resource)
    log_provider.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=_url(http, "/v1/logs")))
    )
    log_provider.get_logger("t").emit(
        body="lead scored", severity_text="INFO", attributes={"score": 0.5}
    )
    log_provider.shutdown()

    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=_url(http, "/v1/metrics")), export_interval_millis=3_600_000
    )
    meter_provider = MeterProvider(metric_readers=[reader], resource=resource)
    meter_provider.get_meter("t").create_counter("leads").add(5)
    meter_provider.shutdown()  # exports once

    assert pipeline.flush(30)
    spans = rows(store, "SELECT SpanId, SpanKind, ServiceName, SpanAttributes FROM otel_traces")
    assert spans == [
        {
            "SpanId": span_id,
            "SpanKind": "Client",
            "ServiceName": "crm",
            "SpanAttributes": {"http.response.status_code": "200"},
        }
    ]
    logs = rows(store, "SELECT Body, SeverityText, LogAttributes FROM otel_logs")
    assert logs == [
        {"Body": "lead scored", "SeverityText": "INFO", "LogAttributes": {"score": "0.5"}}
    ]
    sums = rows(store, "SELECT MetricName, Value FROM otel_metrics_sum")
    assert sums == [{"MetricName": "leads", "Value": 5.0}]


def _post_fixture(http: Any, name: str) -> requests.Response:
    body = (FIXTURES / "otlp" / f"{name}.json").read_bytes()
    signal = {"trace": "traces", "logs": "logs", "metrics": "metrics", "events": "logs"}[name]
    return requests.post(_url(http, f"/v1/{signal}"), data=body, headers=JSON, timeout=10)


def test_shared_otlp_json_fixtures(store: Store, make_receivers: Receivers) -> None:
    pipeline, http, _ = make_receivers()
    for name in ("trace", "logs", "metrics", "events"):
        answer = _post_fixture(http, name)
        assert answer.status_code == 200, answer.text
        assert answer.headers["content-type"].startswith("application/json")
    assert pipeline.flush(30)
    span = rows(
        store,
        "SELECT TraceId, SpanId, ParentSpanId, SpanKind, ServiceName, ScopeName, Duration, SpanAttributes FROM otel_traces",
    )
    assert span == [{
        "TraceId": "5b8efff798038103d269b633813fc60c", "SpanId": "eee19b7ec3c1b174",
        "ParentSpanId": "eee19b7ec3c1b173", "SpanKind": "Server", "ServiceName": "my.service",
        "ScopeName": "my.library", "Duration": 1_000_000_000,
        "SpanAttributes": {"my.span.attr": "some value"},
    }]  # fmt: skip
    logs = {
        r["Body"]: r
        for r in rows(
            store, "SELECT Body, TraceId, SeverityNumber, LogAttributes, EventName FROM otel_logs"
        )
    }
    record = logs["Example log record"]
    assert record["TraceId"] == "5b8efff798038103d269b633813fc60c"
    assert record["SeverityNumber"] == 10
    assert record["LogAttributes"] == {
        "string.attribute": "some string", "boolean.attribute": "true", "int.attribute": "10",
        "double.attribute": "637.704", "array.attribute": '["many","values"]',
        "map.attribute": '{"some.map.key":"some value"}',
    }  # fmt: skip
    assert any(r["EventName"] == "browser.page_view" for r in logs.values())
    kinds = {
        table: rows(store, f"SELECT count() AS n FROM {table}")[0]["n"]
        for table in (
            "otel_metrics_sum",
            "otel_metrics_gauge",
            "otel_metrics_histogram",
            "otel_metrics_exponential_histogram",
        )
    }
    assert all(n >= 1 for n in kinds.values()), kinds
    hist = rows(store, "SELECT BucketCounts, ExplicitBounds FROM otel_metrics_histogram LIMIT 1")[0]
    assert len(hist["BucketCounts"]) == len(hist["ExplicitBounds"]) + 1


BOMB = gzip.compress(b"\0" * (8 << 20))


BAD_INPUT: list[tuple[str, bytes, dict[str, str], int, str]] = [
    ("/v1/traces", b"\xff\xfe garbage \x00\x01", PB, 400, "not a valid OTLP protobuf"),
    ("/v1/traces", _span_request()[:-7], PB, 400, "not a valid OTLP protobuf"),
    ("/v1/traces", b"{not json", JSON, 400, "not valid JSON"),
    ("/v1/traces", b"[1, 2]", JSON, 400, "JSON object"),
    (
        "/v1/traces",
        b'{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "zz"}]}]}]}',
        JSON,
        400,
        "traceId",
    ),
    (
        "/v1/traces",
        _span_request(trace_id=b"\x01" * 15),
        PB,
        400,
        "traceId: must be 16 bytes, got 15",
    ),
    (
        "/v1/traces",
        _span_request(span_id=b"\x01" * 9),
        PB,
        400,
        "spanId: must be 8 bytes, got 9",
    ),
    ("/v1/traces", _span_request(), {"Content-Type": "text/plain"}, 415, "Content-Type"),
    ("/v1/traces", b"x" * 20000, PB, 413, "FLOWMETER_MAX_BODY_BYTES"),
    (
        "/v1/traces",
        BOMB,
        {**PB, "Content-Encoding": "gzip"},
        413,
        "FLOWMETER_MAX_DECOMPRESSED_BYTES",
    ),
    ("/v1/traces", b"\x1f\x8b not gzip", {**PB, "Content-Encoding": "gzip"}, 400, "gzip"),
    ("/v1/traces", _span_request(), {**PB, "Content-Encoding": "br"}, 415, "Content-Encoding"),
    ("/v1/spans", _span_request(), PB, 404, "no such endpoint"),
    ("/nope", b"", PB, 404, "no such endpoint"),
]


def test_bad_input_gets_a_clear_4xx(make_receivers: Receivers) -> None:
    _, http, _ = make_receivers(max_body_bytes=16384, max_decompressed_bytes=1 << 20)
    for path, body, headers, status, words in BAD_INPUT:
        answer = requests.post(_url(http, path), data=body, headers=headers, timeout=10)
        assert answer.status_code == status, (path, words, answer.text)
        if headers.get("Content-Type") == "application/json":
            message = answer.json()["message"]
        else:
            message = Status.FromString(answer.content).message
        assert words in message, (path, message)


def test_tokens_authenticate_and_stamp_the_tenant(store: Store, make_receivers: Receivers) -> None:
    pipeline, http, _ = make_receivers(ingest_tokens={"s3cret": "acme", "pl4tform": "*"})
    url = _url(http, "/v1/traces")
    assert requests.post(url, data=_span_request(), headers=PB, timeout=10).status_code == 401
    wrong = requests.post(
        url, data=_span_request(), headers={**PB, "Authorization": "Bearer nope"}, timeout=10
    )
    assert wrong.status_code == 401 and wrong.headers["WWW-Authenticate"] == "Bearer"
    ok = requests.post(
        url, data=_span_request(), headers={**PB, "Authorization": "Bearer s3cret"}, timeout=10
    )
    assert ok.status_code == 200
    # A platform token (tenant *) authenticates Flowmeter's own workers: tenants kept as sent.
    platform = requests.post(
        url, data=_span_request(span_id=b"\x03" * 8),
        headers={**PB, "Authorization": "Bearer pl4tform"}, timeout=10,
    )  # fmt: skip
    assert platform.status_code == 200
    assert pipeline.flush(30)
    assert rows(
        store, "SELECT ResourceAttributes['tenant.id'] AS t FROM otel_traces ORDER BY SpanId"
    ) == [{"t": "acme"}, {"t": "spoofed"}]


def _kpi_log(event_id: str | None, value: str = "1") -> dict[str, Any]:
    attributes = [{"key": "kpi.value", "value": {"stringValue": value}}]
    if event_id is not None:
        attributes.append({"key": "event.id", "value": {"stringValue": event_id}})
    return {
        "timeUnixNano": "1700000000000000000",
        "eventName": "kpi.invoice_posted",
        "attributes": attributes,
    }


def test_kpi_log_records_partial_success(store: Store, make_receivers: Receivers) -> None:
    pipeline, http, _ = make_receivers()
    records = [
        _kpi_log("inv-1"),
        _kpi_log(None),
        _kpi_log("inv-1"),
        {"timeUnixNano": "1700000000000000000", "body": {"stringValue": "hello"}},
    ]
    body = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]})
    answer = requests.post(_url(http, "/v1/logs"), data=body, headers=JSON, timeout=10)
    assert answer.status_code == 200
    partial = answer.json()["partialSuccess"]
    assert partial["rejectedLogRecords"] == "1"
    assert "event_id" in partial["errorMessage"] or "event.id" in partial["errorMessage"]
    protobuf = requests.post(_url(http, "/v1/logs"), data=b"", headers=PB, timeout=10)
    assert (
        ExportLogsServiceResponse.FromString(protobuf.content).partial_success.rejected_log_records
        == 0
    )
    assert pipeline.flush(30)
    assert rows(store, "SELECT count() AS n FROM otel_logs") == [{"n": 3}]
    assert rows(store, "SELECT event_id, kpi FROM business_events") == [
        {"event_id": "inv-1", "kpi": "invoice_posted"}
    ]


def test_kpi_endpoint(store: Store, make_receivers: Receivers) -> None:
    _, http, _ = make_receivers()
    event = {
        "event_id": "lead-7",
        "ts": "2026-01-02T03:04:05Z",
        "kpi": "lead_qualified",
        "value": 1,
    }
    body = {"events": [event, {"event_id": "x", "kpi": "lead_qualified"}]}
    answer = requests.post(_url(http, "/v1/kpi"), json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    result = answer.json()
    assert (result["accepted"], result["inserted"]) == (1, 1)
    assert result["rejected"][0]["index"] == 1 and "ts" in result["rejected"][0]["reason"]
    again = requests.post(_url(http, "/v1/kpi"), json={"events": [event]}, timeout=10).json()
    assert (again["inserted"], again["duplicates"]) == (0, 1)
    assert rows(store, "SELECT count() AS n FROM business_events") == [{"n": 1}]
    bad = requests.post(_url(http, "/v1/kpi"), data=b"{", headers=JSON, timeout=10)
    assert bad.status_code == 400 and "JSON" in bad.json()["message"]


def test_kpi_endpoint_answers_503_with_retry_after_while_the_store_refuses(
    store: Store, make_receivers: Receivers
) -> None:
    """/v1/kpi writes synchronously: nothing is acknowledged until it is stored."""
    _, http, _ = make_receivers()
    body = {"events": [{"event_id": "lead-9", "ts": "2026-01-02T03:04:05Z",
                        "kpi": "lead_qualified", "value": 1}]}  # fmt: skip
    store.ddl("RENAME TABLE business_events TO business_events_away")
    try:
        refused = requests.post(_url(http, "/v1/kpi"), json=body, timeout=30)
    finally:
        store.ddl("RENAME TABLE business_events_away TO business_events")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert "retry later" in refused.json()["message"]
    retried = requests.post(_url(http, "/v1/kpi"), json=body, timeout=30)
    assert retried.status_code == 200 and retried.json()["inserted"] == 1


def test_full_buffer_answers_429_with_retry_after(make_receivers: Receivers) -> None:
    pipeline, http, _ = make_receivers(
        buffer_max_rows=3, batch_rows=1_000_000, batch_seconds=3600.0
    )
    url = _url(http, "/v1/traces")
    statuses = [
        requests.post(url, data=_span_request(span_id=bytes([i]) * 8), headers=PB, timeout=10)
        for i in range(1, 7)
    ]
    assert [a.status_code for a in statuses] == [200, 200, 200, 429, 429, 429]
    assert int(statuses[-1].headers["Retry-After"]) >= 1
    assert "FLOWMETER_BUFFER_MAX_ROWS" in Status.FromString(statuses[-1].content).message
    assert pipeline.pending_rows == 3


def test_kpi_batches_are_parsed_off_the_event_loop(
    make_receivers: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While one batch is being parsed the receiver still answers: the loop is free."""
    import collectors.http_receiver as receiver_module

    parsing, answered = threading.Event(), threading.Event()
    parse = receiver_module.parse_kpi_batch

    def slow_parse(*args: Any, **kwargs: Any) -> Any:
        parsing.set()
        answered.wait(30)  # on the event loop this would hold every other request
        return parse(*args, **kwargs)

    monkeypatch.setattr(receiver_module, "parse_kpi_batch", slow_parse)
    _, http, _ = make_receivers()
    event = {"event_id": "e-1", "ts": "2026-01-02T03:04:05Z", "kpi": "lead_qualified"}
    with ThreadPoolExecutor(1) as pool:
        posted = pool.submit(
            requests.post, _url(http, "/v1/kpi"), json={"events": [event]}, timeout=60
        )
        assert parsing.wait(30)
        assert requests.get(_url(http, "/healthz"), timeout=10).text == "ok"
        answered.set()
        assert posted.result().json()["inserted"] == 1


def test_requests_over_the_concurrency_limit_get_503_with_retry_after(
    make_receivers: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, http, _ = make_receivers(http_max_concurrent=1)
    inside, release = threading.Event(), threading.Event()
    submit = pipeline.submit

    def held(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert release.wait(30)
        return submit(*args, **kwargs)

    monkeypatch.setattr(pipeline, "submit", held)
    url = _url(http, "/v1/traces")
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(requests.post, url, data=_span_request(), headers=PB, timeout=60)
        assert inside.wait(30)
        busy = requests.post(url, data=_span_request(span_id=b"\x04" * 8), headers=PB, timeout=10)
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "1"
        assert "FLOWMETER_HTTP_MAX_CONCURRENT" in Status.FromString(busy.content).message
        kpi = requests.post(_url(http, "/v1/kpi"), json={"events": []}, timeout=10)
        assert kpi.status_code == 503
        assert requests.get(_url(http, "/healthz"), timeout=10).status_code == 200  # probes pass
        release.set()
        assert first.result().status_code == 200
    again = requests.post(url, data=_span_request(span_id=b"\x05" * 8), headers=PB, timeout=10)
    assert again.status_code == 200
    metrics = requests.get(_url(http, "/metrics"), timeout=10).text
    for signal in ("traces", "kpi"):
        line = f'flowmeter_ingest_refused_requests_total{{reason="busy",signal="{signal}",transport="http"}} 1.0'
        assert line in metrics


def test_token_lookup_compares_against_every_token() -> None:
    """Constant time: no dict lookup (whose timing depends on the presented token), every
    token compared; and a token that is not ASCII is a 401, not a crash of compare_digest."""

    class Tokens(dict[str, str]):
        looked_up: list[str] = []  # noqa: RUF012 - one instance per test

        def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
            self.looked_up.append(key)
            return super().get(key, default)

        def __getitem__(self, key: str) -> str:
            self.looked_up.append(key)
            return super().__getitem__(key)

    tokens = Tokens({"a" * 32: "acme", "b" * 32: "globex", "c" * 8: "*"})
    assert bearer_tenant(tokens, "Bearer " + "b" * 32) == "globex"
    assert bearer_tenant(tokens, "bearer " + "c" * 8) is None  # platform token
    for bad in (None, "Bearer " + "b" * 31, "Basic " + "a" * 32, "Bearer jalapeño-ünïcode"):
        with pytest.raises(IngestError) as refused:
            bearer_tenant(tokens, bad)
        assert refused.value.status == 401
    assert tokens.looked_up == []


def _raw_exchange(port: int, head: bytes) -> bytes:
    """Send only the request's head and read what the server answers before any body."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        head_end = answer.find(b"\r\n\r\n") + 4
        length = int(re.search(rb"(?i)content-length: *(\d+)", answer).group(1))  # type: ignore[union-attr]
        while len(answer) < head_end + length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_an_oversized_body_announced_with_expect_100_continue_gets_413_before_it_is_sent(
    make_receivers: Receivers,
) -> None:
    _, http, _ = make_receivers(max_body_bytes=1024)
    for path in ("/v1/traces", "/v1/kpi"):
        content_type = "application/json" if path == "/v1/kpi" else "application/x-protobuf"
        head = (
            f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {50 << 20}\r\nExpect: 100-continue\r\n\r\n"
        ).encode()
        answer = _raw_exchange(http.port, head)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
        assert b"100 Continue" not in answer
        assert b"FLOWMETER_MAX_BODY_BYTES is 1024" in answer
    # A body within the limit gets the 100 Continue and goes through.
    small = _span_request()
    head = (
        "POST /v1/traces HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-protobuf\r\n"
        f"Content-Length: {len(small)}\r\nExpect: 100-continue\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", http.port), timeout=10) as sock:
        sock.sendall(head)
        assert sock.recv(65536).startswith(b"HTTP/1.1 100 Continue")
        sock.sendall(small)
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_curl_reads_the_413_without_sending_the_body(
    make_receivers: Receivers, tmp_path: Path
) -> None:
    _, http, _ = make_receivers(max_body_bytes=1024)
    big = tmp_path / "big.bin"
    big.write_bytes(b"\0" * (8 << 20))
    result = subprocess.run(
        ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{size_upload}",
         "-H", "Content-Type: application/x-protobuf", "-H", "Expect: 100-continue",
         "--expect100-timeout", "60", "--data-binary", f"@{big}",
         _url(http, "/v1/traces")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    status, uploaded = result.stdout.split()
    assert status == "413", result.stderr
    assert float(uploaded) < 1024  # curl read the 413 and never sent the 8 MiB body
