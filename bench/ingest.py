"""Ingest benchmark: raw columnar insert vs end-to-end OTLP/HTTP protobuf, in one run.

    python bench/ingest.py [--requests 400] [--clients 4]

(a) baseline: the same spans, already columnar Python lists, inserted straight into
    ``otel_traces`` in 20k-row batches with ``Store.insert`` (clickhouse-connect -> chDB).
(b) end to end: a separate client process POSTs the requests (512 spans, ~12 attributes each)
    as OTLP/HTTP protobuf to a running receiver; timed from the first request until every
    request is acknowledged AND every span is in ``otel_traces`` (pipeline drained).
Prints spans/s for both, the ratio b/a, and peak RSS of this (server) process and the client.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)

SPANS_PER_REQUEST = 512
WORKFLOWS = ["order_to_cash", "invoice_posting", "lead_qualification", "refund_review"]
STEPS = ["validate", "charge", "reserve_stock", "post_invoice", "notify", "score"]
SERVICES = ["flowmeter-orchestrator", "payments-api", "erp", "crm", "email"]


def make_request(seed: int) -> bytes:
    """One ExportTraceServiceRequest: 512 spans, 12 attributes each, some events and links."""
    rnd = random.Random(seed)
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    for key, value in (
        ("service.name", SERVICES[seed % len(SERVICES)]),
        ("service.version", "1.4.2"),
        ("host.name", f"worker-{seed % 7}"),
        ("deployment.environment", "production"),
    ):
        rs.resource.attributes.add(key=key).value.string_value = value
    ss = rs.scope_spans.add()
    ss.scope.name, ss.scope.version = "flowmeter.orchestrator", "0.1.0"
    base = 1_764_000_000_000_000_000 + seed * 1_000_000_000
    trace_id = uuid.UUID(int=rnd.getrandbits(128)).bytes
    for i in range(SPANS_PER_REQUEST):
        if i % 16 == 0:
            trace_id = uuid.UUID(int=rnd.getrandbits(128)).bytes
        span = ss.spans.add()
        span.trace_id = trace_id
        span.span_id = rnd.getrandbits(64).to_bytes(8, "big")
        if i % 16:
            span.parent_span_id = rnd.getrandbits(64).to_bytes(8, "big")
        workflow, step = rnd.choice(WORKFLOWS), rnd.choice(STEPS)
        span.name = f"step {step}"
        span.kind = 1 + (i % 3)
        span.start_time_unix_nano = base + i * 1_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + rnd.randint(100_000, 90_000_000)
        attrs = span.attributes
        for key, text in (
            ("workflow.name", workflow),
            ("step.name", step),
            ("correlation.id", str(uuid.UUID(int=rnd.getrandbits(128)))),
            ("tenant.id", f"tenant-{rnd.randint(1, 20)}"),
            ("product.line", rnd.choice(["retail", "b2b", "marketplace"])),
            ("entity.type", "order"),
            ("entity.id", f"ord-{rnd.randint(1, 10**6)}"),
            ("peer.service", rnd.choice(SERVICES)),
            ("step.outcome", rnd.choice(["ok", "ok", "ok", "retry", "failed"])),
            ("workflow.run_id", str(uuid.UUID(int=rnd.getrandbits(128)))),
        ):
            attrs.add(key=key).value.string_value = text
        attrs.add(key="step.attempt").value.int_value = rnd.randint(1, 3)
        attrs.add(key="http.response.status_code").value.int_value = rnd.choice(
            [200, 200, 201, 503]
        )
        if i % 10 == 0:
            event = span.events.add(name="retry", time_unix_nano=span.start_time_unix_nano + 5)
            event.attributes.add(key="retry.delay_ms").value.int_value = 250
        if i % 3 == 0:
            span.status.code = 1
    return request.SerializeToString()


def columns(bodies: list[bytes]) -> tuple[list[str], list[list[object]]]:
    """The otel_traces columns of the requests, as plain Python lists (not timed)."""
    names = [
        "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName", "SpanKind",
        "ServiceName", "ResourceAttributes", "ScopeName", "ScopeVersion", "SpanAttributes",
        "Duration", "StatusCode", "StatusMessage", "Events.Timestamp", "Events.Name",
        "Events.Attributes", "Links.TraceId", "Links.SpanId", "Links.TraceState",
        "Links.Attributes",
    ]  # fmt: skip
    kinds = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"]
    data: list[list[object]] = [[] for _ in names]
    for body in bodies:
        request = ExportTraceServiceRequest.FromString(body)
        for rs in request.resource_spans:
            res = {kv.key: kv.value.string_value for kv in rs.resource.attributes}
            for ss in rs.scope_spans:
                for s in ss.spans:
                    attrs = {
                        kv.key: kv.value.string_value or str(kv.value.int_value)
                        for kv in s.attributes
                    }
                    row = [
                        s.start_time_unix_nano, s.trace_id.hex(), s.span_id.hex(),
                        s.parent_span_id.hex(), s.trace_state, s.name, kinds[s.kind],
                        res.get("service.name", ""), res, ss.scope.name, ss.scope.version, attrs,
                        s.end_time_unix_nano - s.start_time_unix_nano,
                        ["Unset", "Ok", "Error"][s.status.code], s.status.message,
                        [e.time_unix_nano for e in s.events], [e.name for e in s.events],
                        [{kv.key: str(kv.value.int_value) for kv in e.attributes} for e in s.events],
                        [], [], [], [],
                    ]  # fmt: skip
                    for column, value in zip(data, row, strict=True):
                        column.append(value)
    return names, data


def peak_rss_mib() -> int:
    """This process's peak resident set (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) // 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024


def reset_peak_rss() -> None:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        print("(could not reset the peak RSS; it includes step a)")


def client_main(url: str, requests_n: int, clients: int) -> None:
    """The separate client process: build bodies, say ready, wait for 'go', send, report."""
    import requests as http

    bodies = [make_request(seed) for seed in range(requests_n)]
    print("ready", flush=True)
    sys.stdin.readline()
    failures: list[str] = []
    queue = list(range(requests_n))
    guard = threading.Lock()

    def worker() -> None:
        session = http.Session()
        while True:
            with guard:
                if not queue:
                    return
                index = queue.pop()
            while True:
                answer = session.post(
                    url, data=bodies[index], headers={"Content-Type": "application/x-protobuf"}
                )
                if answer.status_code == 429:  # backpressure: honour Retry-After like an SDK
                    time.sleep(float(answer.headers.get("Retry-After", "1")))
                    continue
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text[:200]}")
                break

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    print(f"done {len(failures)} {peak_rss_mib()}", flush=True)
    for failure in failures[:5]:
        print(failure, file=sys.stderr)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--client", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.client:
        client_main(args.client, args.requests, args.clients)
        return

    from collectors.http_receiver import HttpReceiver
    from collectors.pipeline import Pipeline
    from models.db import Store
    from models.migrations import migrate
    from models.settings import load_settings

    total = args.requests * SPANS_PER_REQUEST
    workdir = Path(tempfile.mkdtemp(prefix="flowmeter-bench-"))
    dsn = f"chdb://{workdir / 'clickhouse'}"
    try:
        # (a) raw columnar insert of the same spans
        bodies = [make_request(seed) for seed in range(args.requests)]
        names, data = columns(bodies)
        del bodies
        raw_store = Store(dsn, database="bench_raw")
        migrate(raw_store)
        batch = 20_000
        started = time.perf_counter()
        for lo in range(0, total, batch):
            raw_store.insert(
                "otel_traces", [c[lo : lo + batch] for c in data], names, column_oriented=True
            )
        raw_seconds = time.perf_counter() - started
        stored = raw_store.read_only("SELECT count() FROM otel_traces")[1][0][0]
        assert stored == total, (stored, total)
        del data
        raw_rate = total / raw_seconds
        raw_rss = peak_rss_mib()
        reset_peak_rss()

        # (b) end to end: separate client process -> OTLP/HTTP protobuf -> receiver -> store
        store = Store(dsn, database="bench_e2e")
        migrate(store)
        settings = load_settings(env={}, data_dir=workdir / "data", otlp_http_port=0)
        pipeline = Pipeline(settings, store)
        pipeline.start()
        receiver = HttpReceiver(settings, pipeline, port=0)
        receiver.start()
        client = subprocess.Popen(
            [sys.executable, __file__, "--client", f"http://127.0.0.1:{receiver.port}/v1/traces",
             "--requests", str(args.requests), "--clients", str(args.clients)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert client.stdin is not None and client.stdout is not None
        assert client.stdout.readline().strip() == "ready"
        started = time.perf_counter()
        client.stdin.write("go\n")
        client.stdin.flush()
        done = client.stdout.readline().split()
        acked_seconds = time.perf_counter() - started
        assert pipeline.flush(600), "the pipeline did not drain"
        e2e_seconds = time.perf_counter() - started
        client.wait()
        assert done[:2] == ["done", "0"], f"client reported failures: {done}"
        stored = store.read_only("SELECT count() FROM otel_traces")[1][0][0]
        assert stored == total, (stored, total)
        receiver.stop(2)
        pipeline.stop(5)
        e2e_rate = total / e2e_seconds
        server_rss = peak_rss_mib()

        print(
            f"spans: {total} ({args.requests} requests x {SPANS_PER_REQUEST}, 12 attributes each)"
        )
        print(
            f"(a) raw columnar insert into otel_traces : {raw_rate:>10,.0f} spans/s ({raw_seconds:.2f}s)"
        )
        print(
            f"(b) OTLP/HTTP protobuf end to end        : {e2e_rate:>10,.0f} spans/s ({e2e_seconds:.2f}s;"
            f" all acknowledged after {acked_seconds:.2f}s, {args.clients} client connections)"
        )
        print(f"ratio b/a                                : {e2e_rate / raw_rate:.2f}")
        print(
            f"peak RSS: during (a) {raw_rss} MiB; receiver process during (b) {server_rss} MiB"
            f" (includes the embedded chDB engine); client process {done[2]} MiB"
        )
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
