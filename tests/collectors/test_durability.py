"""A receiver killed with SIGKILL right after acknowledging N requests loses none, doubles none."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from tests.conftest import REPO, free_port

REQUESTS = 12
SPANS_PER_REQUEST = 2


NOW_NS = time.time_ns()


def _request(n: int) -> bytes:
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "durable"
    for i in range(SPANS_PER_REQUEST):
        span = rs.scope_spans.add().spans.add(name=f"req-{n}", trace_id=n.to_bytes(16, "big"))
        span.span_id = (n * SPANS_PER_REQUEST + i + 1).to_bytes(8, "big")
        span.start_time_unix_nano = NOW_NS + n  # recent: retention keeps 30 days
    return request.SerializeToString()


def _start(env: dict[str, str], log: Path) -> subprocess.Popen[str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "collect"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=log.open("a"), text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:  # readiness: the line it prints once both ports listen
        if "is up" in line:
            return process
    raise AssertionError(f"collect exited with {process.wait()}: {log.read_text()[-2000:]}")


def test_sigkill_after_ack_then_restart(tmp_path: Path) -> None:
    http_port = free_port()
    env = {
        **os.environ,
        "FLOWMETER_DATA_DIR": str(tmp_path / "data"),
        "FLOWMETER_OTLP_HTTP_PORT": str(http_port),
        "FLOWMETER_OTLP_GRPC_PORT": str(free_port()),
        "FLOWMETER_BATCH_ROWS": "5",  # some batches are inserted before the kill, some not
        "FLOWMETER_BATCH_SECONDS": "3600",
        "FLOWMETER_REDACT_SECRET": "k",
    }
    log = tmp_path / "collect.log"
    first = _start(env, log)
    try:
        for n in range(REQUESTS):
            answer = requests.post(
                f"http://127.0.0.1:{http_port}/v1/traces",
                data=_request(n),
                headers={"Content-Type": "application/x-protobuf"},
                timeout=30,
            )
            assert answer.status_code == 200, answer.text
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    assert first.returncode == -signal.SIGKILL
    assert list((tmp_path / "data" / "wal" / "traces").glob("*.wal")), (
        "acknowledged data waits in the WAL"
    )

    second = _start(env, log)  # replays the WAL
    second.send_signal(signal.SIGTERM)  # a clean stop flushes what it replayed
    assert second.wait(timeout=120) == 0, log.read_text()[-2000:]

    query = "SELECT count() AS spans, uniqExact(SpanId) AS distinct_spans, uniqExact(SpanName) AS requests FROM otel_traces"
    out = subprocess.run(
        [sys.executable, "-m", "app.cli", "sql", query, "--format", "tsv"],
        cwd=REPO, env=env, capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    expected = REQUESTS * SPANS_PER_REQUEST
    assert out[1].split("\t") == [str(expected), str(expected), str(REQUESTS)]
    assert not list((tmp_path / "data" / "wal" / "traces").glob("*.wal")) or all(
        p.stat().st_size == 0 for p in (tmp_path / "data" / "wal" / "traces").glob("*.wal")
    )
