"""Bounded ingest: WAL bytes per signal, a free-disk floor, a full disk: 429 and nothing torn."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from google.rpc.status_pb2 import Status
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2_grpc import TraceServiceStub

from collectors.pipeline import Pipeline
from collectors.wal import frame, read_records
from models.db import Store
from models.errors import BackpressureError
from tests.collectors.conftest import ingest_settings, rows
from tests.collectors.test_http_receiver import _span_request
from tests.collectors.test_wal import tiny_disk  # noqa: F401 - the fixture
from tests.collectors.test_writer import _log

ONE_SEGMENT = {"batch_rows": 1_000_000, "batch_seconds": 3600.0}
Receivers = Callable[..., tuple[Any, Any, Any]]


def test_the_wal_byte_cap_holds_per_signal(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    size = len(frame(_span_request()))
    pipeline = make_pipeline(wal_max_bytes=2 * size + size // 2, **ONE_SEGMENT)
    for i in (1, 2):
        pipeline.submit("traces", _span_request(span_id=bytes([i]) * 8))
    with pytest.raises(BackpressureError, match="FLOWMETER_WAL_MAX_BYTES") as full:
        pipeline.submit("traces", _span_request(span_id=b"\x03" * 8))
    assert full.value.status == 429 and full.value.retry_after >= 1
    assert pipeline.submit("logs", _log("another signal has its own room")).accepted == 1
    traces = pipeline.stats().signals["traces"]
    assert traces.writer.wal_bytes == 2 * size and traces.refused_records == {"wal_bytes": 1}
    assert traces.buffer_fill == pytest.approx(2 * size / (2 * size + size // 2))
    assert pipeline.flush(60)
    pipeline.submit("traces", _span_request(span_id=b"\x03" * 8))  # room again
    assert pipeline.flush(60)
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 3}]


def test_below_the_free_disk_floor_both_receivers_answer_429(
    make_receivers: Receivers, tmp_path: Path
) -> None:
    pipeline, http, receiver = make_receivers(disk_free_min_bytes=2**62)
    answer = requests.post(
        f"http://127.0.0.1:{http.port}/v1/traces",
        data=_span_request(),
        headers={"Content-Type": "application/x-protobuf"},
        timeout=30,
    )
    assert answer.status_code == 429 and int(answer.headers["Retry-After"]) >= 1
    assert "FLOWMETER_DISK_FREE_MIN_BYTES" in Status.FromString(answer.content).message
    request = ExportTraceServiceRequest.FromString(_span_request())
    with (
        grpc.insecure_channel(f"127.0.0.1:{receiver.port}") as channel,
        pytest.raises(grpc.RpcError) as full,
    ):
        TraceServiceStub(channel).Export(request, timeout=10)
    assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "FLOWMETER_DISK_FREE_MIN_BYTES" in full.value.details()
    assert pipeline.stats().signals["traces"].refused_records == {"disk_free": 2}
    assert sum(p.stat().st_size for p in (tmp_path / "data" / "wal").rglob("*.wal")) == 0


def test_a_full_disk_answers_429_and_everything_acked_lands(
    store: Store,
    tiny_disk: Path,  # noqa: F811 - the fixture
) -> None:
    settings = ingest_settings(tiny_disk, disk_free_min_bytes=0, **ONE_SEGMENT)
    pipeline = Pipeline(settings, store)
    pipeline.start()
    try:
        acked, refused = [], 0
        for n in range(30):  # 30 x 60 kB into 1 MiB
            body = f"{n:03d}" + "x" * 60_000
            try:
                pipeline.submit("logs", _log(body))
                acked.append(body)
            except BackpressureError as exc:
                assert "disk is full" in str(exc) and exc.status == 429
                refused += 1
        assert acked and refused
        for segment in (tiny_disk / "wal" / "logs").glob("*.wal"):
            data = segment.read_bytes()
            assert len(data) == sum(len(frame(r)) for r in read_records(data))  # nothing torn
        assert pipeline.flush(60)
        assert [r["b"] for r in rows(store, "SELECT Body AS b FROM otel_logs ORDER BY b")] == acked
        assert pipeline.stats().signals["logs"].refused_records == {"disk_full": refused}
        pipeline.submit("logs", _log("room again"))
        assert pipeline.flush(60)
    finally:
        pipeline.stop(5)
