"""The segment writer: refused records are isolated and quarantined alone, outages wait,
signals never queue behind each other, and I/O errors never kill the writer."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)

from collectors import otlp
from collectors.encoders import MetricsEncoder
from collectors.inserts import StoreHealth
from collectors.pipeline import Pipeline
from collectors.redaction import Redactor
from collectors.rows import Decoder
from collectors.wal import WriteAheadLog, frame, read_records
from collectors.writer import SignalWriter, WriterPolicy
from models.db import Store
from models.errors import StoreError
from tests.collectors.conftest import rows
from tests.collectors.test_http_receiver import _span_request

U64_MAX = 2**64 - 1
FAST = {"ingest_max_attempts": 2, "ingest_retry_max_seconds": 0.05}
ONE_SEGMENT = {"batch_rows": 1_000_000, "batch_seconds": 3600.0}


def _log(body: str, tenant: str = "acme", time_unix_nano: int = 1_700_000_000_000_000_000) -> bytes:
    request = ExportLogsServiceRequest()
    rl = request.resource_logs.add()
    rl.resource.attributes.add(key="tenant.id").value.string_value = tenant
    record = rl.scope_logs.add().log_records.add(time_unix_nano=time_unix_nano)
    record.body.string_value = body
    return request.SerializeToString()


def _quarantine(data_dir: Path, signal: str) -> list[tuple[list[bytes], str]]:
    folder = data_dir / "wal" / "quarantine" / signal
    return [
        (read_records(p.read_bytes()), p.with_suffix(".reason").read_text())
        for p in sorted(folder.glob("*.wal"))
    ]


def test_a_refused_record_is_quarantined_alone_and_its_segment_mates_land(
    store: Store, make_pipeline: Callable[..., Pipeline], tmp_path: Path
) -> None:
    """Real ClickHouse refuses one record of a mixed-tenant segment (a CHECK constraint)."""
    pipeline = make_pipeline(**FAST, **ONE_SEGMENT)
    store.ddl("ALTER TABLE otel_logs ADD CONSTRAINT no_poison CHECK Body != 'poison'")
    try:
        for n, (body, tenant) in enumerate(
            [("a", "acme"), ("b", "globex"), ("poison", "acme"), ("c", "globex"), ("d", "acme")]
        ):
            pipeline.submit("logs", _log(body, tenant, 1_700_000_000_000_000_000 + n))
        pipeline.submit("traces", _span_request())  # another signal, same time
        assert pipeline.flush(60)
    finally:
        store.ddl("ALTER TABLE otel_logs DROP CONSTRAINT no_poison")
    stored = rows(
        store,
        "SELECT Body AS b, ResourceAttributes['tenant.id'] AS t FROM otel_logs ORDER BY Timestamp",
    )
    assert stored == [
        {"b": "a", "t": "acme"},
        {"b": "b", "t": "globex"},
        {"b": "c", "t": "globex"},
        {"b": "d", "t": "acme"},
    ]
    [(records, reason)] = _quarantine(tmp_path / "data", "logs")
    assert [
        ExportLogsServiceRequest.FromString(r)
        .resource_logs[0]
        .scope_logs[0]
        .log_records[0]
        .body.string_value
        for r in records
    ] == ["poison"]
    assert "record 2 (otel_logs)" in reason and "VIOLATED_CONSTRAINT" in reason
    assert pipeline.quarantined_rows == 1 and pipeline.inserted_rows == 5  # 4 logs + 1 span
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 1}]


def test_a_segment_acked_by_e1047bd_with_an_unencodable_record_drains(
    store: Store, make_pipeline: Callable[..., Pipeline], tmp_path: Path
) -> None:
    """A leftover segment holds a log the client library cannot encode (the stall of
    e1047bd): the error has no ClickHouse code, yet the record is isolated and the rest lands."""
    wal = tmp_path / "data" / "wal"
    (wal / "logs").mkdir(parents=True)
    (wal / "traces").mkdir(parents=True)
    segment = b"".join(
        frame(r) for r in (_log("first"), _log("poison", time_unix_nano=U64_MAX), _log("last"))
    )
    (wal / "logs" / "01700000000000000000.wal").write_bytes(segment)
    (wal / "traces" / "01700000000000000001.wal").write_bytes(frame(_span_request()))
    pipeline = make_pipeline(**FAST)
    assert pipeline.flush(60)
    assert rows(store, "SELECT Body AS b FROM otel_logs ORDER BY b") == [
        {"b": "first"},
        {"b": "last"},
    ]
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 1}]
    [(records, reason)] = _quarantine(tmp_path / "data", "logs")
    assert records == [_log("poison", time_unix_nano=U64_MAX)]
    assert "StoreDataError" in reason and "Timestamp" in reason
    assert not list((wal / "logs").glob("01700000000000000000.wal"))


class RefusingStore:
    """Stands in for ClickHouse refusing: passes inserts to the real store unless
    ``refuse(table, column_names, data)`` returns the error to raise."""

    def __init__(self, store: Store, refuse: Callable[..., BaseException | None]) -> None:
        self.store = store
        self.refuse = refuse
        self.inserts: list[tuple[str, str]] = []  # (table, token) of every accepted insert

    def insert(
        self,
        table: str,
        data: Sequence[Sequence[Any]],
        column_names: Sequence[str],
        *,
        column_oriented: bool = False,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        error = self.refuse(table, column_names, data)
        if error is not None:
            raise error
        self.store.insert(
            table, data, column_names, column_oriented=column_oriented, settings=settings
        )
        self.inserts.append((table, str((settings or {}).get("insert_deduplication_token"))))

    def insert_raw(
        self,
        table: str,
        payload: bytes,
        fmt: str,
        *,
        column_names: Sequence[str] | None = None,
        settings: Mapping[str, Any] | None = None,
    ) -> None:
        error = self.refuse(table, (), payload)
        if error is not None:
            raise error
        self.store.insert_raw(table, payload, fmt, column_names=column_names, settings=settings)

    def query(self, name: str, **params: Any) -> list[dict[str, Any]]:
        return self.store.query(name, **params)


def _metrics(name: str) -> bytes:
    """One request with a gauge point and a sum point, both named ``name``."""
    request = ExportMetricsServiceRequest()
    sm = request.resource_metrics.add().scope_metrics.add()
    for kind in ("gauge", "sum"):
        metric = sm.metrics.add(name=name)
        getattr(metric, kind).data_points.add(
            time_unix_nano=1_700_000_000_000_000_000, as_double=1.5
        )
    return request.SerializeToString()


@pytest.fixture
def metrics_writer(tmp_path: Path) -> Iterator[Callable[[RefusingStore], SignalWriter]]:
    """A metrics SignalWriter on a WAL in tmp_path, inserting through the given target."""
    made: list[SignalWriter] = []

    def make(target: RefusingStore) -> SignalWriter:
        wal = WriteAheadLog(tmp_path / "wal" / "metrics")
        policy = WriterPolicy(
            batch_rows=1_000_000, batch_seconds=3600.0, max_attempts=2, retry_max_seconds=0.05
        )
        encoder = MetricsEncoder(Decoder(Redactor((), "k"), 128))
        writer = SignalWriter("metrics", wal, encoder, target, policy, StoreHealth())
        writer.start()
        made.append(writer)
        return writer

    yield make
    for writer in made:
        writer.stop(5)
        writer.wal.close()


def _feed(writer: SignalWriter, payload: bytes) -> None:
    """What Pipeline.submit does once a request is valid."""
    count = otlp.count_rows("metrics", ExportMetricsServiceRequest.FromString(payload))
    writer.reserve(count, len(frame(payload)))
    writer.wal.append(payload, count)
    writer.appended()


def _flush(writer: SignalWriter) -> bool:
    return writer.flush(time.monotonic() + 60)


def test_one_refused_table_isolates_the_record_without_duplicating_the_other_tables(
    store: Store, metrics_writer: Callable[[RefusingStore], SignalWriter], tmp_path: Path
) -> None:
    """otel_metrics_sum refuses rows of metric "bad"; the gauge rows of the same records
    went in before and must not be inserted again by the bisection."""

    def refuse(table: str, names: Sequence[str], data: Any) -> BaseException | None:
        if table == "otel_metrics_sum" and "bad" in data[list(names).index("MetricName")]:
            return StoreError(
                "insert into otel_metrics_sum: Code: 53. Type mismatch (TYPE_MISMATCH)"
            )
        return None

    target = RefusingStore(store, refuse)
    writer = metrics_writer(target)
    for name in ("m0", "m1", "bad", "m3", "m4", "m5"):
        _feed(writer, _metrics(name))
    assert _flush(writer)
    assert rows(store, "SELECT MetricName AS m FROM otel_metrics_gauge ORDER BY m") == [
        {"m": m} for m in ("bad", "m0", "m1", "m3", "m4", "m5")
    ]
    assert rows(store, "SELECT MetricName AS m FROM otel_metrics_sum ORDER BY m") == [
        {"m": m} for m in ("m0", "m1", "m3", "m4", "m5")
    ]
    [(records, reason)] = _quarantine(tmp_path, "metrics")
    assert records == [_metrics("bad")]
    assert "record 2 (otel_metrics_sum)" in reason and "TYPE_MISMATCH" in reason
    tokens = [token for _, token in target.inserts]
    assert len(tokens) == len(set(tokens))  # every range went in once, under its own token


@pytest.mark.parametrize(
    "error",
    [
        StoreError("insert into otel_metrics_gauge: Code: 210. Connection refused (NETWORK_ERROR)"),
        StoreError("insert into otel_metrics_gauge: HTTPConnectionPool: connection refused"),
        StoreError("insert into otel_metrics_gauge: Code: 60. Unknown table (UNKNOWN_TABLE)"),
        # A data error, but the store takes nothing at all: no proof it is the data.
        StoreError("insert into otel_metrics_gauge: Code: 469. (VIOLATED_CONSTRAINT)"),
    ],
)
def test_a_store_that_refuses_everything_quarantines_nothing(
    store: Store,
    metrics_writer: Callable[[RefusingStore], SignalWriter],
    tmp_path: Path,
    error: StoreError,
) -> None:
    refusing = True
    target = RefusingStore(store, lambda *_: error if refusing else None)
    writer = metrics_writer(target)
    for name in ("m0", "m1", "m2"):
        _feed(writer, _metrics(name))
    writer.nudge()
    assert writer.wait_for(lambda: writer.counter("failed_inserts") >= 6, 60)
    assert writer.pending_rows == 6 and writer.counter("quarantined_rows") == 0
    refusing = False
    assert _flush(writer)
    assert rows(store, "SELECT count() AS n FROM otel_metrics_sum") == [{"n": 3}]
    assert _quarantine(tmp_path, "metrics") == []


def test_one_signals_outage_does_not_delay_another(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    pipeline = make_pipeline(**FAST)
    store.ddl("RENAME TABLE otel_logs TO otel_logs_away")
    try:
        pipeline.submit("logs", _log("waits"))
        pipeline.flush(0.01)
        assert pipeline.wait_failed_inserts(1, timeout=60)
        pipeline.submit("traces", _span_request())
        assert pipeline.wait_inserted(1, timeout=60)  # the span, while logs keep failing
        assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 1}]
        stats = pipeline.stats().signals
        assert stats["logs"].writer.pending_rows == 1 and stats["logs"].writer.lag_seconds > 0
        assert stats["traces"].writer.lag_seconds == 0 and stats["logs"].writer.alive
    finally:
        store.ddl("RENAME TABLE otel_logs_away TO otel_logs")
    assert pipeline.flush(60)
    assert rows(store, "SELECT Body AS b FROM otel_logs") == [{"b": "waits"}]


def test_the_writer_survives_an_os_error_while_quarantining(
    store: Store, make_pipeline: Callable[..., Pipeline], tmp_path: Path
) -> None:
    pipeline = make_pipeline(**FAST, **ONE_SEGMENT)
    in_the_way = tmp_path / "data" / "wal" / "quarantine"
    in_the_way.write_text("a file where the quarantine folder goes")  # mkdir fails: OSError
    store.ddl("ALTER TABLE otel_logs ADD CONSTRAINT no_poison CHECK Body != 'poison'")
    try:
        pipeline.submit("logs", _log("poison"))
        pipeline.submit("logs", _log("fine"))
        pipeline.flush(0.01)
        assert pipeline.wait_stats(lambda s: s.io_errors >= 2, 60)  # counted, retried
        assert pipeline.stats().writers_alive
        assert pipeline.stats().quarantined_segments == 0
        in_the_way.unlink()
        assert pipeline.wait_stats(lambda s: s.quarantined_segments == 1, 60)
        assert pipeline.flush(60)
    finally:
        store.ddl("ALTER TABLE otel_logs DROP CONSTRAINT no_poison")
    assert rows(store, "SELECT Body AS b FROM otel_logs") == [{"b": "fine"}]
    [(records, _)] = _quarantine(tmp_path / "data", "logs")
    assert records == [_log("poison")]


def test_stats_follow_the_writer(store: Store, make_pipeline: Callable[..., Pipeline]) -> None:
    pipeline = make_pipeline(buffer_max_rows=100, **ONE_SEGMENT)
    before = pipeline.stats()
    assert before.writers_alive and before.wal_bytes == 0 and before.buffer_fill == 0
    payload = _log("x")
    pipeline.submit("logs", payload)
    pipeline.submit(
        "logs",
        json.dumps(
            {"resourceLogs": [{"scopeLogs": [{"logRecords": [{"timeUnixNano": str(U64_MAX)}]}]}]}
        ).encode(),
        content_type=otlp.JSON,
    )
    waiting = pipeline.stats().signals["logs"]
    assert waiting.accepted_records == 1
    assert waiting.refused_records == {"timestamp_out_of_range": 1}
    assert waiting.writer.wal_bytes == len(frame(payload)) and waiting.writer.wal_segments == 1
    assert waiting.buffer_fill == pytest.approx(1 / 100)
    assert waiting.writer.lag_seconds >= 0
    assert pipeline.flush(60)
    done = pipeline.stats().signals["logs"].writer
    assert (done.wal_bytes, done.wal_segments, done.pending_rows) == (0, 0, 0)
    assert done.inserts == 1 and done.insert_seconds_total >= done.last_insert_seconds > 0
    assert done.inserted_rows == 1 and done.io_errors == 0 and done.lag_seconds == 0
    pipeline.stop(5)
    assert not pipeline.stats().writers_alive
