"""The pipeline: replay without duplicates, backpressure with bounded memory, random input."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collectors import otlp
from collectors.pipeline import Pipeline
from collectors.wal import quarantined
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


def test_a_small_batch_is_written_by_the_time_bound_alone(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    """Fewer rows than FLOWMETER_BATCH_ROWS still land once FLOWMETER_BATCH_SECONDS passes."""
    pipeline = make_pipeline(batch_rows=1_000_000, batch_seconds=0.2)
    pipeline.submit("traces", _span_request(span_id=b"\x07" * 8))
    # No flush(): only the writer's own time bound may move the row (60 s is a liveness bound).
    assert pipeline.wait_inserted(1, timeout=60)
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 1}]


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


def test_attribute_cap_and_redaction_everywhere_in_a_span(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    pipeline = make_pipeline(max_attributes=3, redact_keys=("*secret*", "card?no"))
    request = ExportTraceServiceRequest.FromString(_span_request())
    rs = request.resource_spans[0]
    rs.resource.attributes.add(key="Db.Secret").value.string_value = "hunter2"
    span = rs.scope_spans[0].spans[0]
    for i in range(5):
        span.attributes.add(key=f"a{i}").value.int_value = i
    span.attributes[1].key = "Card_No"
    event = span.events.add(name="e", time_unix_nano=1)
    event.attributes.add(key="my_secret").value.string_value = "s"
    link = span.links.add(trace_id=b"\x05" * 16, span_id=b"\x06" * 8)
    link.attributes.add(key="secret").value.bool_value = True
    pipeline.submit("traces", request.SerializeToString())
    assert pipeline.flush(30)
    [row] = rows(
        store,
        "SELECT ResourceAttributes AS r, SpanAttributes AS s, `Events.Attributes` AS e, `Links.Attributes` AS l FROM otel_traces",
    )
    h = pipeline.redactor.hash
    assert row["r"] == {"service.name": "svc", "tenant.id": "spoofed", "Db.Secret": h("hunter2")}
    assert row["s"] == {
        "a0": "0",
        "Card_No": h("1"),
        "a2": "2",
    }  # capped at 3, globs case-insensitive
    assert row["e"] == [{"my_secret": h("s")}]
    assert row["l"] == [{"secret": h("true")}]


def test_store_refusing_inserts_then_recovering(
    store: Store, make_pipeline: Callable[..., Pipeline], tmp_path: Path
) -> None:
    """Every segment refused (the table is gone): nothing is quarantined, all waits on disk."""
    pipeline = make_pipeline(ingest_retry_max_seconds=0.2, ingest_max_attempts=2)
    store.ddl("RENAME TABLE otel_traces TO otel_traces_away")  # inserts now fail in the store
    try:
        for i in range(1, 4):
            assert pipeline.submit("traces", _span_request(span_id=bytes([i]) * 8)).accepted == 1
        pipeline.flush(0.01)  # ask for an insert now
        assert pipeline.wait_failed_inserts(1, timeout=60)
        pipeline.submit("traces", _span_request(span_id=b"\x04" * 8))  # a second segment
        pipeline.flush(0.01)
        assert pipeline.wait_failed_inserts(4, timeout=60)  # retried with backoff
        assert pipeline.pending_rows == 4 and pipeline.quarantined_rows == 0
        assert len(list((tmp_path / "data" / "wal" / "traces").glob("*.wal"))) >= 2
    finally:
        store.ddl("RENAME TABLE otel_traces_away TO otel_traces")
    assert pipeline.flush(60)  # ingestion resumes
    assert rows(store, "SELECT count() AS n, uniqExact(SpanId) AS spans FROM otel_traces") == [
        {"n": 4, "spans": 4}
    ]
    assert not (tmp_path / "data" / "wal" / "quarantine").exists()


def _log(body: str) -> bytes:
    record = {"timeUnixNano": "1700000000000000000", "body": {"stringValue": body}}
    return json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": [record]}]}]}).encode()


def test_a_segment_the_store_always_refuses_is_quarantined_and_the_rest_goes_in(
    store: Store, make_pipeline: Callable[..., Pipeline], tmp_path: Path
) -> None:
    """ClickHouse refuses one segment for its content (a CHECK constraint): after
    FLOWMETER_INGEST_MAX_ATTEMPTS it is set aside with the reason, the later one lands."""
    pipeline = make_pipeline(ingest_max_attempts=2, ingest_retry_max_seconds=0.05,
                             batch_rows=1_000_000, batch_seconds=3600.0)  # fmt: skip
    store.ddl("ALTER TABLE otel_logs ADD CONSTRAINT no_poison CHECK Body != 'poison'")
    try:
        pipeline.submit("logs", _log("poison"), content_type=otlp.JSON)
        pipeline.flush(0.01)  # seal the poison segment and try it
        assert pipeline.wait_failed_inserts(1, timeout=60)
        pipeline.submit("logs", _log("fine"), content_type=otlp.JSON)
        assert pipeline.flush(60)  # nothing waits: one segment in, one set aside
    finally:
        store.ddl("ALTER TABLE otel_logs DROP CONSTRAINT no_poison")
    assert rows(store, "SELECT Body AS body FROM otel_logs") == [{"body": "fine"}]
    assert pipeline.quarantined_rows == 1
    quarantine = tmp_path / "data" / "wal" / "quarantine" / "logs"
    [segment] = quarantine.glob("*.wal")
    reason = (quarantine / f"{segment.stem}.reason").read_text()
    assert "VIOLATED_CONSTRAINT" in reason
    # The 2 allowed, and only once the later segment went in (the store took data).
    assert int(reason.split(" attempts:")[0]) >= 2
    assert not list((tmp_path / "data" / "wal" / "logs").glob(segment.name))
    [listed] = quarantined(tmp_path / "data" / "wal")
    assert (listed.signal, listed.segment) == ("logs", segment.name)
    assert listed.bytes == segment.stat().st_size and listed.reason == reason.strip()
