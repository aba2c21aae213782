"""OTLP/gRPC: the official SDK exporter, auth, backpressure, TLS and mutual TLS (both receivers)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
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
