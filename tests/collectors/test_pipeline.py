"""The pipeline: replay without duplicates, backpressure with bounded memory, random input."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collectors import otlp
from collectors.pipeline import Pipeline
from models.db import Store
from models.errors import BackpressureError, IngestError
from tests.collectors.conftest import ingest_settings, rows
from tests.collectors.test_http_receiver import _span_request


def test_replaying_an_already_inserted_segment_adds_nothing(store: Store, tmp_path: Path) -> None:
    """Crash window: the insert succeeded, the segment file was not deleted yet."""
    settings = ingest_settings(tmp_path / "data", batch_rows=1_000_000, batch_seconds=3600.0)
    first = Pipeline(settings, store)
    first.start()
    for i in range(1, 4):
        first.submit("traces", _span_request(span_id=bytes([i]) * 8))
    wal_dir = tmp_path / "data" / "wal" / "traces"
    [active] = list(wal_dir.glob("*.wal"))
    saved = tmp_path / "saved.wal"
    shutil.copy(active, saved)  # the bytes the writer is about to insert
    assert first.flush(30)
    assert not active.exists()  # inserted, then deleted
    first.stop(5)
    shutil.copy(saved, active)  # ... as if a kill had hit between the INSERT and the unlink
    second = Pipeline(settings, store)
    second.start()
    try:
        assert second.pending_rows == 3  # replayed at start
        assert second.flush(30)
    finally:
        second.stop(5)
    assert not active.exists()
    assert rows(store, "SELECT count() AS n, uniqExact(SpanId) AS spans FROM otel_traces") == [
        {"n": 3, "spans": 3}
    ]


def test_backpressure_bounds_what_waits(
    store: Store, make_pipeline: Callable[..., Pipeline], tmp_path: Path
) -> None:
    pipeline = make_pipeline(buffer_max_rows=10, batch_rows=1_000_000, batch_seconds=3600.0)
    accepted = refused = 0
    for i in range(1, 60):
        try:
            pipeline.submit("traces", _span_request(span_id=bytes([i]) * 8))
            accepted += 1
        except BackpressureError as exc:
            refused += 1
            assert exc.status == 429 and exc.retry_after >= 1
    assert (accepted, refused) == (10, 49)
    assert pipeline.pending_rows == 10
    wal_bytes = sum(p.stat().st_size for p in (tmp_path / "data" / "wal").rglob("*.wal"))
    assert wal_bytes < 10 * len(_span_request()) + 100  # refused requests never reach the disk
    assert pipeline.flush(30)
    assert pipeline.pending_rows == 0
    pipeline.submit("traces", _span_request(span_id=b"\x77" * 8))  # room again
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 10}]


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=st.binary(max_size=512), json_like=st.booleans(), signal=st.sampled_from(otlp.SIGNALS))
def test_random_bytes_are_accepted_or_refused_cleanly(
    body: bytes, json_like: bool, signal: str
) -> None:
    content_type = otlp.JSON if json_like else otlp.PROTOBUF
    try:
        message = otlp.parse_request(signal, body, content_type)
    except IngestError as exc:
        assert exc.status == 400 and str(exc)
        return
    assert otlp.count_rows(signal, message) >= 0


_text = st.text(max_size=20)
_value = st.one_of(
    _text,
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.lists(_text, max_size=3),
)


@st.composite
def odd_trace_requests(draw: st.DrawFn) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    for _ in range(draw(st.integers(0, 2))):
        rs = request.resource_spans.add()
        for key, value in draw(st.dictionaries(_text, _value, max_size=3)).items():
            _set(rs.resource.attributes.add(key=key).value, value)
        for _ in range(draw(st.integers(0, 2))):
            ss = rs.scope_spans.add()
            ss.scope.name = draw(_text)
            for _ in range(draw(st.integers(0, 3))):
                span = ss.spans.add(
                    trace_id=draw(st.binary(min_size=16, max_size=16)),
                    span_id=draw(st.binary(min_size=8, max_size=8)),
                )
                span.name = draw(_text)
                span.kind = draw(st.integers(0, 5))
                span.start_time_unix_nano = draw(st.integers(0, 2**62))
                span.end_time_unix_nano = draw(st.integers(0, 2**62))
                span.status.code = draw(st.integers(0, 2))
                for key, value in draw(st.dictionaries(_text, _value, max_size=4)).items():
                    _set(span.attributes.add(key=key).value, value)
    return request


def _set(target: object, value: object) -> None:
    if isinstance(value, bool):
        target.bool_value = value  # type: ignore[attr-defined]
    elif isinstance(value, int):
        target.int_value = value  # type: ignore[attr-defined]
    elif isinstance(value, float):
        target.double_value = value  # type: ignore[attr-defined]
    elif isinstance(value, list):
        for item in value:
            target.array_value.values.add().string_value = item  # type: ignore[attr-defined]
    else:
        target.string_value = value  # type: ignore[attr-defined]


def test_odd_but_valid_requests_all_land(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    pipeline = make_pipeline(batch_rows=1_000_000, batch_seconds=3600.0)
    expected = 0

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(request=odd_trace_requests())
    def submit(request: ExportTraceServiceRequest) -> None:
        nonlocal expected
        result = pipeline.submit("traces", request.SerializeToString())
        assert result.accepted == otlp.count_rows("traces", request)
        expected += result.accepted

    submit()
    assert pipeline.flush(60)
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": expected}]
