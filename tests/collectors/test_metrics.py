"""Flowmeter observes itself: /metrics (read back with prometheus_client's own parser, and
scraped by a real Prometheus), /healthz and /readyz."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from collectors.http_receiver import HttpReceiver
from collectors.pipeline import Pipeline
from models.db import Store
from tests.collectors.conftest import ingest_settings
from tests.collectors.test_grpc_receiver import EXPORT_TRACES
from tests.collectors.test_http_receiver import JSON, PB, _span_request, _url
from tests.conftest import free_port

Receivers = Callable[..., tuple[Any, Any, Any]]
TOKENS = {"tok": "acme", "plat": "*"}
PLATFORM = {"Authorization": "Bearer plat"}


def _samples(http: Any, headers: dict[str, str] = PLATFORM) -> dict[tuple[str, str], float]:
    """{(sample name, sorted labels as k=v,...): value} from GET /metrics."""
    answer = requests.get(_url(http, "/metrics"), headers=headers, timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    found = {}
    for family in text_string_to_metric_families(answer.text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[(sample.name, labels)] = sample.value
    return found


def _send_a_mix(http: Any, grpc_port: int) -> None:
    """3 spans in 2 accepted requests, 1 log accepted + 1 KPI log refused inside it, 1 KPI
    event; refused whole: 1 HTTP and 1 gRPC call without a token, 1 body over the limit."""
    auth = {"Authorization": "Bearer tok"}
    url = _url(http, "/v1/traces")
    assert requests.post(url, data=_span_request(), headers={**PB, **auth}, timeout=10).ok
    two = _span_request(span_id=b"\x07" * 8)  # one span ...
    assert requests.post(url, data=two, headers={**PB, **auth}, timeout=10).ok
    assert requests.post(
        url, data=_span_request(span_id=b"\x08" * 8), headers={**PB, **auth}, timeout=10
    ).ok  # ... and a third
    assert requests.post(url, data=_span_request(), headers=PB, timeout=10).status_code == 401
    big = requests.post(url, data=b"\0" * 5000, headers={**PB, **auth}, timeout=10)
    assert big.status_code == 413
    records = [
        {"timeUnixNano": "1700000000000000000", "body": {"stringValue": "hello"}},
        {"timeUnixNano": "1700000000000000000", "eventName": "kpi.invoice_posted"},  # no id
    ]
    logs = json.dumps({"resourceLogs": [{"scopeLogs": [{"logRecords": records}]}]})
    answer = requests.post(_url(http, "/v1/logs"), data=logs, headers={**JSON, **auth}, timeout=10)
    assert answer.json()["partialSuccess"]["rejectedLogRecords"] == "1"
    event = {"event_id": "m-1", "ts": "2026-01-02T03:04:05Z", "kpi": "lead_qualified"}
    kpi = requests.post(_url(http, "/v1/kpi"), json={"events": [event]}, headers=auth, timeout=10)
    assert kpi.json()["inserted"] == 1
    with grpc.insecure_channel(f"127.0.0.1:{grpc_port}") as channel, pytest.raises(grpc.RpcError):
        channel.unary_unary(EXPORT_TRACES)(b"\xff" * 100, timeout=10)


def test_metrics_count_what_was_sent_and_refused(store: Store, make_receivers: Receivers) -> None:
    pipeline, http, receiver = make_receivers(ingest_tokens=TOKENS, max_body_bytes=4096)
    _send_a_mix(http, receiver.port)
    assert pipeline.flush(30)
    store.query("collectors/clear_ingest_config")  # any named query: the dashboard's path
    got = _samples(http)
    assert got[("flowmeter_ingest_accepted_records_total", "signal=traces")] == 3
    assert got[("flowmeter_ingest_accepted_records_total", "signal=logs")] == 1
    assert got[("flowmeter_ingest_accepted_records_total", "signal=kpi")] == 1
    assert got[("flowmeter_ingest_refused_records_total", "reason=invalid,signal=logs")] == 1
    refused = "flowmeter_ingest_refused_requests_total"
    assert got[(refused, "reason=unauthenticated,signal=traces,transport=http")] == 1
    assert got[(refused, "reason=unauthenticated,signal=traces,transport=grpc")] == 1
    assert got[(refused, "reason=too_large,signal=traces,transport=http")] == 1
    assert got[("flowmeter_ingest_buffer_rows", "")] == 0
    assert got[("flowmeter_ingest_buffer_limit_rows", "")] == pipeline.settings.buffer_max_rows
    assert got[("flowmeter_writer_running", "")] == 1
    assert got[("flowmeter_wal_segments", "signal=traces")] == 0  # all stored after the flush
    assert got[("flowmeter_quarantined_segments", "signal=traces")] == 0
    assert got[("flowmeter_store_inserted_rows_total", "")] == 4  # 3 spans + 1 log
    assert got[("flowmeter_store_insert_seconds_count", "table=otel_traces_ingest")] >= 1
    assert got[("flowmeter_store_insert_seconds_count", "table=otel_logs")] == 1
    assert got[("flowmeter_store_query_seconds_count", "query=collectors/clear_ingest_config")] >= 1


def test_waiting_rows_show_in_the_wal_and_buffer_figures(make_receivers: Receivers) -> None:
    pipeline, http, _ = make_receivers(batch_rows=1_000_000, batch_seconds=3600.0)
    body = _span_request()
    assert requests.post(_url(http, "/v1/traces"), data=body, headers=PB, timeout=10).ok
    got = _samples(http, {})
    assert got[("flowmeter_ingest_buffer_rows", "")] == 1
    assert got[("flowmeter_ingest_buffer_fill_ratio", "")] == 1 / pipeline.settings.buffer_max_rows
    assert got[("flowmeter_wal_segments", "signal=traces")] == 1
    assert got[("flowmeter_wal_bytes", "signal=traces")] > len(body)  # record + its length
    assert got[("flowmeter_writer_lag_seconds", "")] >= 0


def test_metrics_need_a_platform_token_when_tokens_are_set(make_receivers: Receivers) -> None:
    _, http, _ = make_receivers(ingest_tokens=TOKENS)
    anonymous = requests.get(_url(http, "/metrics"), timeout=10)
    assert anonymous.status_code == 401 and anonymous.headers["WWW-Authenticate"] == "Bearer"
    tenant = requests.get(
        _url(http, "/metrics"), headers={"Authorization": "Bearer tok"}, timeout=10
    )
    assert tenant.status_code == 403 and "platform token" in tenant.text
    assert requests.get(_url(http, "/metrics"), headers=PLATFORM, timeout=10).status_code == 200
    # Probes carry no token: they say up/ready and nothing else.
    assert requests.get(_url(http, "/healthz"), timeout=10).text == "ok"
    assert requests.get(_url(http, "/readyz"), timeout=10).text == "ready"


def test_readyz_says_why_it_is_not_ready(_migrated_store: Store, tmp_path: Path) -> None:
    # A Store of its own on the session's database, so closing it leaves the others alone.
    own = Store(_migrated_store.dsn, database=_migrated_store.database)
    pipeline = Pipeline(ingest_settings(tmp_path / "data"), own)
    pipeline.start()
    http = HttpReceiver(pipeline.settings, pipeline, port=0)
    http.start()
    try:
        assert requests.get(_url(http, "/readyz"), timeout=10).status_code == 200
        own.close()
        closed = requests.get(_url(http, "/readyz"), timeout=10)
        assert closed.status_code == 503
        assert closed.text == "not ready: the store does not accept writes"
        pipeline.stop(5)
        stopped = requests.get(_url(http, "/readyz"), timeout=10)
        assert stopped.text == "not ready: the ingest writer is not running"
        assert requests.get(_url(http, "/healthz"), timeout=10).status_code == 200
    finally:
        http.stop(2)
        pipeline.stop(1)
        own.close()


# --- a real Prometheus scrapes it --------------------------------------------------------
PROMETHEUS = shutil.which("prometheus")


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[int], str]]:
    """Start Debian's prometheus scraping 127.0.0.1:<port> every second with the platform
    token; yields a function of the port that returns Prometheus' base URL."""
    started: list[subprocess.Popen[bytes]] = []

    def start(target_port: int) -> str:
        config = tmp_path / "prometheus.yml"
        config.write_text(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
            "scrape_configs:\n"
            "  - job_name: flowmeter\n    scrape_interval: 1s\n"
            "    authorization:\n      credentials: plat\n"
            f"    static_configs:\n      - targets: ['127.0.0.1:{target_port}']\n"
        )
        port = free_port()
        process = subprocess.Popen(
            [str(PROMETHEUS), f"--config.file={config}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{port}", "--log.level=warn"],
            stdout=subprocess.DEVNULL, stderr=(tmp_path / "prometheus.log").open("wb"),
        )  # fmt: skip
        started.append(process)
        return f"http://127.0.0.1:{port}"

    yield start
    for process in started:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _query(base: str, promql: str) -> dict[str, float]:
    """Instant query: {sorted labels (without __name__/job/instance): value}; {} when down."""
    try:
        answer = requests.get(
            f"{base}/api/v1/query?query={urllib.parse.quote(promql)}", timeout=5
        ).json()
    except requests.ConnectionError:  # Prometheus is still starting
        return {}
    found = {}
    for item in answer["data"]["result"]:
        labels = {
            k: v for k, v in item["metric"].items() if k not in ("__name__", "job", "instance")
        }
        found[",".join(f"{k}={v}" for k, v in sorted(labels.items()))] = float(item["value"][1])
    return found


def _poll(base: str, promql: str, expected: dict[str, float], deadline: float) -> dict[str, float]:
    """Query until the result equals ``expected`` or the deadline passes; the last result."""
    while True:
        got = _query(base, promql)
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.25)  # a poll interval, not a synchronisation: the loop checks the result


@pytest.mark.skipif(
    PROMETHEUS is None, reason="Debian's prometheus is not installed (.ci/run installs it)"
)
def test_a_real_prometheus_scrapes_the_flowmeter_series(
    store: Store, make_receivers: Receivers, prometheus: Callable[[int], str]
) -> None:
    pipeline, http, receiver = make_receivers(ingest_tokens=TOKENS, max_body_bytes=4096)
    _send_a_mix(http, receiver.port)
    assert pipeline.flush(30)
    base = prometheus(http.port)
    deadline = time.monotonic() + 90
    assert _poll(base, 'up{job="flowmeter"}', {"": 1.0}, deadline) == {"": 1.0}
    accepted = _poll(
        base,
        "flowmeter_ingest_accepted_records_total",
        {"signal=traces": 3.0, "signal=logs": 1.0, "signal=kpi": 1.0},
        deadline,
    )
    assert accepted == {"signal=traces": 3.0, "signal=logs": 1.0, "signal=kpi": 1.0}
    refused = _poll(
        base,
        'sum by (transport, reason) (flowmeter_ingest_refused_requests_total{signal="traces"})',
        {"reason=unauthenticated,transport=http": 1.0, "reason=unauthenticated,transport=grpc": 1.0,
         "reason=too_large,transport=http": 1.0},
        deadline,
    )  # fmt: skip
    assert refused == {
        "reason=unauthenticated,transport=http": 1.0,
        "reason=unauthenticated,transport=grpc": 1.0,
        "reason=too_large,transport=http": 1.0,
    }
    assert _poll(base, "flowmeter_writer_running", {"": 1.0}, deadline) == {"": 1.0}
    assert _poll(base, "flowmeter_store_inserted_rows_total", {"": 4.0}, deadline) == {"": 4.0}
