"""OTLP/gRPC: the official SDK exporter, auth, backpressure, TLS and mutual TLS (both receivers)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.rpc.error_details_pb2 import RetryInfo
from google.rpc.status_pb2 import Status as RpcStatus
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.grpc.exporter import Compression
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from collectors.otlp import error_body
from collectors.status import grpc_code
from models.db import Store
from tests.collectors.conftest import rows
from tests.collectors.test_http_receiver import _span_request
from tests.tls import issue_certs

Receivers = Callable[..., tuple[Any, Any, Any]]


def _request(span_byte: int = 2) -> ExportTraceServiceRequest:
    return ExportTraceServiceRequest.FromString(_span_request(span_id=bytes([span_byte]) * 8))


def test_sdk_grpc_exporter_lands_rows(store: Store, make_receivers: Receivers) -> None:
    pipeline, _, receiver = make_receivers()
    endpoint = f"127.0.0.1:{receiver.port}"
    provider = TracerProvider(resource=Resource({"service.name": "shipping"}))
    provider.add_span_processor(
        SimpleSpanProcessor(
            OTLPSpanExporter(endpoint=endpoint, insecure=True, compression=Compression.Gzip)
        )
    )
    with provider.get_tracer("t").start_as_current_span(
        "POST /label", kind=SpanKind.PRODUCER
    ) as span:
        span.set_status(Status(StatusCode.OK))
        span.add_event("printed", {"copies": 2})
        trace_id = format(span.get_span_context().trace_id, "032x")
    provider.shutdown()
    logs = LoggerProvider(resource=Resource({"service.name": "shipping"}))
    logs.add_log_record_processor(
        SimpleLogRecordProcessor(OTLPLogExporter(endpoint=endpoint, insecure=True))
    )
    logs.get_logger("t").emit(body="label printed", event_name="label.printed")
    logs.shutdown()
    assert pipeline.flush(30)
    got = rows(
        store,
        "SELECT TraceId, SpanKind, StatusCode, ServiceName, `Events.Attributes` AS ev FROM otel_traces",
    )
    assert got == [
        {
            "TraceId": trace_id,
            "SpanKind": "Producer",
            "StatusCode": "Ok",
            "ServiceName": "shipping",
            "ev": [{"copies": "2"}],
        }
    ]
    assert rows(store, "SELECT Body, EventName FROM otel_logs") == [
        {"Body": "label printed", "EventName": "label.printed"}
    ]


def test_grpc_status_codes(store: Store, make_receivers: Receivers) -> None:
    pipeline, _, receiver = make_receivers(
        ingest_tokens={"tok": "globex"},
        buffer_max_rows=1,
        batch_rows=1_000_000,
        batch_seconds=3600.0,
    )
    with grpc.insecure_channel(f"127.0.0.1:{receiver.port}") as channel:
        stub = TraceServiceStub(channel)
        with pytest.raises(grpc.RpcError) as denied:
            stub.Export(_request(), timeout=10)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        auth = (("authorization", "Bearer tok"),)
        stub.Export(_request(), metadata=auth, timeout=10)
        with pytest.raises(grpc.RpcError) as full:
            stub.Export(_request(3), metadata=auth, timeout=10)
        assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "FLOWMETER_BUFFER_MAX_ROWS" in full.value.details()
        bad = ExportTraceServiceRequest.FromString(_span_request(trace_id=b"\x01" * 3))
        with pytest.raises(grpc.RpcError) as invalid:
            stub.Export(bad, metadata=auth, timeout=10)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "traceId: must be 16 bytes, got 3" in invalid.value.details()
    assert pipeline.flush(30)
    assert rows(store, "SELECT ResourceAttributes['tenant.id'] AS t FROM otel_traces") == [
        {"t": "globex"}
    ]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all from openssl."""
    return issue_certs(tmp_path_factory.mktemp("certs"))


def test_tls_and_mutual_tls_on_both_receivers(
    store: Store, make_receivers: Receivers, certs: Path
) -> None:
    pipeline, http, receiver = make_receivers(
        tls_cert=certs / "server.pem", tls_key=certs / "server.key", tls_client_ca=certs / "ca.pem"
    )
    url = f"https://127.0.0.1:{http.port}/v1/traces"
    headers = {"Content-Type": "application/x-protobuf"}
    client = (str(certs / "client.pem"), str(certs / "client.key"))
    ok = requests.post(
        url,
        data=_span_request(),
        headers=headers,
        verify=str(certs / "ca.pem"),
        cert=client,
        timeout=10,
    )
    assert ok.status_code == 200
    with pytest.raises(
        requests.exceptions.ConnectionError
    ):  # no client certificate: handshake refused
        requests.post(
            url, data=_span_request(), headers=headers, verify=str(certs / "ca.pem"), timeout=10
        )
    with pytest.raises(requests.exceptions.ConnectionError):  # plain HTTP to a TLS port
        requests.post(
            url.replace("https", "http"), data=_span_request(), headers=headers, timeout=10
        )

    target = f"127.0.0.1:{receiver.port}"
    ca = (certs / "ca.pem").read_bytes()
    mutual = grpc.ssl_channel_credentials(
        ca, (certs / "client.key").read_bytes(), (certs / "client.pem").read_bytes()
    )
    with grpc.secure_channel(target, mutual) as channel:
        TraceServiceStub(channel).Export(_request(5), timeout=10)
    with grpc.secure_channel(target, grpc.ssl_channel_credentials(ca)) as channel:
        with pytest.raises(grpc.RpcError) as refused:
            TraceServiceStub(channel).Export(_request(6), timeout=10)
        assert refused.value.code() == grpc.StatusCode.UNAVAILABLE
    assert pipeline.flush(30)
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 2}]


EXPORT_TRACES = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def test_a_call_without_a_token_is_refused_before_its_message_is_decoded(
    make_receivers: Receivers,
) -> None:
    """Bytes that are no protobuf at all: decoding them first would answer INTERNAL."""
    pipeline, _, receiver = make_receivers(ingest_tokens={"tok": "acme"})
    garbage = b"\xff" * (4 << 20)  # 4 MiB, not a message: only a decoder could tell
    with grpc.insecure_channel(
        f"127.0.0.1:{receiver.port}", options=[("grpc.max_send_message_length", 8 << 20)]
    ) as channel:
        export = channel.unary_unary(EXPORT_TRACES)  # no serializers: raw bytes go out
        with pytest.raises(grpc.RpcError) as denied:
            export(garbage, timeout=30)
        assert denied.value.code() == grpc.StatusCode.UNAUTHENTICATED
        with pytest.raises(grpc.RpcError) as wrong:
            export(garbage, metadata=(("authorization", "Bearer nope"),), timeout=30)
        assert wrong.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # With the token the message is decoded, and a bad one is named, not an INTERNAL.
        with pytest.raises(grpc.RpcError) as invalid:
            export(garbage, metadata=(("authorization", "Bearer tok"),), timeout=30)
        assert invalid.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "not a valid OTLP traces request" in invalid.value.details()
    assert pipeline.pending_rows == 0


def test_calls_over_the_concurrency_limit_are_refused_not_queued(
    make_receivers: Receivers, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline, _, receiver = make_receivers(grpc_max_concurrent=1)
    inside, release = threading.Event(), threading.Event()
    submit = pipeline.submit_message

    def held(*args: Any, **kwargs: Any) -> Any:
        inside.set()
        assert release.wait(30)
        return submit(*args, **kwargs)

    monkeypatch.setattr(pipeline, "submit_message", held)
    with grpc.insecure_channel(f"127.0.0.1:{receiver.port}") as channel:
        stub = TraceServiceStub(channel)
        first = stub.Export.future(_request(7), timeout=30)
        assert inside.wait(30)
        with pytest.raises(grpc.RpcError) as busy:
            stub.Export(_request(8), timeout=30)
        assert busy.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        release.set()
        first.result(timeout=30)
        stub.Export(_request(9), timeout=30)  # the slot is free again
    assert pipeline.flush(30)
    assert pipeline.inserted_rows == 2


def test_a_full_buffer_carries_a_retry_info(make_receivers: Receivers) -> None:
    """OTLP clients retry RESOURCE_EXHAUSTED only when the status carries a RetryInfo."""
    _, _, receiver = make_receivers(buffer_max_rows=1, batch_rows=1_000_000, batch_seconds=3600.0)
    with grpc.insecure_channel(f"127.0.0.1:{receiver.port}") as channel:
        stub = TraceServiceStub(channel)
        stub.Export(_request(2), timeout=10)
        with pytest.raises(grpc.RpcError) as full:
            stub.Export(_request(3), timeout=10)
    assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    trailers = dict(full.value.trailing_metadata())
    status = RpcStatus.FromString(trailers["grpc-status-details-bin"])
    assert status.code == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    retry = RetryInfo()
    assert status.details[0].Unpack(retry) and retry.retry_delay.seconds >= 1
    assert RetryInfo.FromString(trailers["google.rpc.retryinfo-bin"]) == retry


def test_one_status_map_413_is_invalid_argument() -> None:
    """OTLP: a permanent failure is INVALID_ARGUMENT; only backpressure is retryable."""
    assert grpc_code(413) == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert grpc_code(400) == grpc.StatusCode.INVALID_ARGUMENT.value[0]
    assert grpc_code(429) == grpc.StatusCode.RESOURCE_EXHAUSTED.value[0]
    assert grpc_code(503) == grpc.StatusCode.UNAVAILABLE.value[0]
    body, _ = error_body("application/x-protobuf", 413, "too big")
    assert RpcStatus.FromString(body).code == grpc_code(413)
