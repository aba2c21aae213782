"""The redaction key: out of the store, the same across restarts, failing closed, never echoed."""

from __future__ import annotations

import hashlib
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests
from click.testing import CliRunner
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from collectors.kpi_import import KpiFile, import_kpi_file
from collectors.pipeline import Pipeline
from collectors.redaction import RedactionKeyError, Redactor, redactor_for
from models.db import Store
from models.errors import SettingsError
from models.settings import load_settings
from tests.collectors.conftest import ingest_settings, rows

T0 = 1_767_261_600_000_000_000
PB = {"Content-Type": "application/x-protobuf"}


def _sha(secret: str, value: str) -> str:
    return hashlib.sha256((secret + value).encode()).hexdigest()


def _span(span_id: bytes, email: str) -> ExportTraceServiceRequest:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "svc"
    span = rs.scope_spans.add().spans.add(trace_id=b"\x01" * 16, span_id=span_id, name="op")
    span.start_time_unix_nano = T0
    span.end_time_unix_nano = T0 + 1000
    span.attributes.add(key="user.email").value.string_value = email
    span.attributes.add(key="card.number").value.int_value = 4111111111111111
    return request


def _user_tables(store: Store) -> list[str]:
    _, found = store.read_only(
        "SELECT name FROM system.tables WHERE database = currentDatabase() "
        "AND engine NOT IN ('MaterializedView', 'View', 'Null')"
    )
    return [name for (name,) in found]


def test_no_store_reader_can_read_the_key_and_traces_are_redacted_after_a_store_restart(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    pipeline = make_pipeline(redact_secret="k3y-only-the-receiver-knows")
    # What a ClickHouse restart (or `flowmeter collect` starting beside it) does to a Memory
    # table: it comes back empty.
    if "ingest_config" in _user_tables(store):
        store.ddl("TRUNCATE TABLE ingest_config")
    assert pipeline.submit_message("traces", _span(b"\x02" * 8, "ann@example.com")).accepted == 1
    assert pipeline.flush(30)
    stored = rows(store, "SELECT SpanAttributes AS a FROM otel_traces")[0]["a"]
    assert stored["user.email"] == _sha("k3y-only-the-receiver-knows", "ann@example.com")
    assert stored["card.number"] == _sha("k3y-only-the-receiver-knows", "4111111111111111")
    # No table a reader can SELECT holds the key.
    _, columns = store.read_only(
        "SELECT table, name FROM system.columns WHERE database = currentDatabase() "
        "AND type NOT LIKE '%AggregateFunction%'"
    )
    for table in _user_tables(store):
        names = [f"`{name}`" for t, name in columns if t == table]
        _, values = store.read_only(f"SELECT {', '.join(names)} FROM `{table}`")
        assert "k3y-only-the-receiver-knows" not in repr(values), table


def test_the_generated_key_is_0600_and_gives_the_same_hashes_after_a_restart(
    store: Store, tmp_path: Path
) -> None:
    settings = ingest_settings(tmp_path / "data", redact_secret="")
    hashes = []
    for span_id in (b"\x03" * 8, b"\x04" * 8):
        pipeline = Pipeline(settings, store)
        pipeline.start()
        try:
            pipeline.submit_message("traces", _span(span_id, "bob@example.com"))
            assert pipeline.flush(30)
        finally:
            pipeline.stop(5)
        hashes.append(pipeline.redactor.hash("bob@example.com"))
    key_file = tmp_path / "data" / "redact.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    stored = rows(store, "SELECT SpanAttributes['user.email'] AS e FROM otel_traces")
    assert {row["e"] for row in stored} == {hashes[0]} and hashes[0] == hashes[1]
    assert "bob@example.com" not in hashes[0]


@pytest.mark.parametrize("problem", ["empty", "open_to_others", "unreadable"])
def test_an_unusable_key_file_refuses_to_start_without_echoing_it(
    store: Store, tmp_path: Path, problem: str
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    key_file = data / "redact.key"
    key_file.write_text("" if problem == "empty" else "the-old-key-material\n")
    key_file.chmod(0o644 if problem == "open_to_others" else 0o600)
    if problem == "unreadable":
        key_file.unlink()
        key_file.mkdir()  # a folder where the key should be: unreadable as a file
    with pytest.raises(RedactionKeyError) as refused:
        Pipeline(ingest_settings(data, redact_secret=""), store)
    message = str(refused.value)
    assert "redact.key" in message and "FLOWMETER_REDACT_SECRET" in message
    assert "the-old-key-material" not in message


def test_redaction_without_a_key_is_refused() -> None:
    with pytest.raises(RedactionKeyError):
        Redactor(["*email*"], "")
    assert Redactor([], "").apply({"user.email": "a@b.c"}) == {"user.email": "a@b.c"}


def test_kpi_attributes_are_redacted_whatever_their_type(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    pipeline = make_pipeline(redact_secret="kk")
    request = ExportLogsServiceRequest()
    record = (
        request.resource_logs.add()
        .scope_logs.add()
        .log_records.add(time_unix_nano=T0, event_name="kpi.order_advanced")
    )
    for key, kind, value in (
        ("event.id", "string_value", "ev-1"),
        ("kpi.value", "int_value", 1),
        ("card.number", "int_value", 4111111111111111),
        ("customer.email", "string_value", "c@example.com"),
        ("is.secret", "bool_value", True),
    ):
        setattr(record.attributes.add(key=key).value, kind, value)
    assert pipeline.submit_message("logs", request).accepted == 1
    assert pipeline.flush(30)
    attributes = rows(store, "SELECT attributes AS a FROM business_events")[0]["a"]
    assert attributes == {
        "card.number": _sha("kk", "4111111111111111"),
        "customer.email": _sha("kk", "c@example.com"),
        "is.secret": _sha("kk", "true"),
    }


def test_imported_kpi_attributes_are_redacted(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "k.jsonl"
    event = {"event_id": "e1", "ts": "2026-11-25T10:00:00Z", "kpi": "order_advanced",
             "attributes": {"customer.email": "d@example.com", "channel": "web"}}  # fmt: skip
    path.write_text(json.dumps(event) + "\n")
    redactor = redactor_for(ingest_settings(tmp_path / "data", redact_secret="imp"))
    assert import_kpi_file(store, KpiFile(path), redactor=redactor).written == 1
    assert rows(store, "SELECT attributes AS a FROM business_events")[0]["a"] == {
        "customer.email": _sha("imp", "d@example.com"),
        "channel": "web",
    }


def test_bad_token_and_key_settings_never_echo_the_secret(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError) as refused:
        load_settings(env={"FLOWMETER_INGEST_TOKENS": "ok=acme,sup3r-s3cret-token"})
    assert "FLOWMETER_INGEST_TOKENS" in str(refused.value)
    assert "sup3r-s3cret-token" not in str(refused.value)
    # The CLI prints settings errors: the token never reaches the terminal either.
    from app.cli import cli

    monkeypatch.setenv("FLOWMETER_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FLOWMETER_INGEST_TOKENS", "sup3r-s3cret-token")
    result = CliRunner().invoke(cli, ["migrate"])
    assert result.exit_code != 0
    assert "FLOWMETER_INGEST_TOKENS" in result.output
    assert "sup3r-s3cret-token" not in result.output


def test_the_receiver_hashes_kpi_api_attributes_with_the_same_key(
    store: Store, make_receivers: Callable[..., tuple[Any, Any, Any]]
) -> None:
    _, http, _ = make_receivers(redact_secret="api-key")
    event = {"event_id": "e2", "ts": "2026-01-02T03:04:05Z", "kpi": "lead_qualified",
             "attributes": {"contact.phone": "+33 1 23"}}  # fmt: skip
    answer = requests.post(f"http://127.0.0.1:{http.port}/v1/kpi", json={"events": [event]},
                           timeout=10)  # fmt: skip
    assert answer.status_code == 200 and "api-key" not in answer.text
    assert rows(store, "SELECT attributes AS a FROM business_events")[0]["a"] == {
        "contact.phone": _sha("api-key", "+33 1 23")
    }


def test_a_trace_insert_without_the_redaction_inputs_is_refused_not_stored_in_clear(
    store: Store, make_pipeline: Callable[..., Pipeline]
) -> None:
    """Whatever inserts into the staging table without the key (an old writer, a hand-made
    INSERT): ClickHouse refuses it rather than store the span unredacted."""
    from collectors.encoders import TRACES_STAGING, _proto_schema
    from collectors.wal import frame
    from models.errors import StoreError

    pipeline = make_pipeline(redact_secret="kz")
    record = _span(b"\x05" * 8, "eve@example.com").SerializeToString()
    with pytest.raises(StoreError, match="redaction key"):
        store.insert_raw(TRACES_STAGING, frame(record), "Protobuf",
                         settings={"format_schema": _proto_schema()})  # fmt: skip
    assert rows(store, "SELECT count() AS n FROM otel_traces") == [{"n": 0}]
    tail = pipeline.redactor.staging_tail
    store.insert_raw(TRACES_STAGING, frame(record + tail),
                     "Protobuf", settings={"format_schema": _proto_schema()})  # fmt: skip
    assert rows(store, "SELECT SpanAttributes['user.email'] AS e FROM otel_traces") == [
        {"e": _sha("kz", "eve@example.com")}
    ]


def test_settings_never_show_their_secrets(tmp_path: Path) -> None:
    settings = ingest_settings(tmp_path, redact_secret="r3dact-key", ingest_tokens={"t0ken": "a"})
    assert "r3dact-key" not in repr(settings) and "t0ken" not in repr(settings)
    assert "r3dact-key" not in repr(redactor_for(settings))


def test_flowmeter_collect_refuses_to_start_on_an_unusable_key_file(tmp_path: Path) -> None:
    """The real command, in a process of its own: one line naming the file, no traceback,
    no key material, nothing listening."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO, free_port

    (tmp_path / "redact.key").write_text("leaked-if-echoed")
    (tmp_path / "redact.key").chmod(0o640)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")},
        "FLOWMETER_DATA_DIR": str(tmp_path),
        "FLOWMETER_OTLP_HTTP_PORT": str(free_port()),
        "FLOWMETER_OTLP_GRPC_PORT": str(free_port()),
    }
    done = subprocess.run(
        [sys.executable, "-m", "app.cli", "collect"], cwd=REPO, env=env, capture_output=True,
        text=True, timeout=120, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode != 0, output
    assert "redact.key" in output and "chmod 600" in output
    assert "Traceback" not in output and "leaked-if-echoed" not in output
