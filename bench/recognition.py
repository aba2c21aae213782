"""Recognition benchmark: the ingest path with the built-in profiles on vs off, in one run.

    python bench/recognition.py [--requests 200] [--rounds 2]

Each request holds 512 spans with ~10 attributes from one sender, as an SDK exports them:
30% of the requests come from a Celery worker (task spans as opentelemetry-instrumentation-celery
sends them: `run/<task>`, celery.* attributes), the rest from Flowmeter's engine (native
`step <step>` spans). Each round ingests the same requests twice, into a fresh
database each time: once with FLOWMETER_RULES_FILE = `profiles = []` (recognition off), once
with the default profiles (on). Timed from the first ``Pipeline.submit`` (4 threads: parse,
validate, recognize, WAL) until every span is in ``otel_traces`` and the rollups (drained).
Prints spans/s for both, per round and overall, and the ratio on/off.
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
)

SPANS_PER_REQUEST = 512
TASKS = ["invoices.validate", "invoices.post_to_erp", "invoices.notify", "refunds.check"]
STEPS = ["validate", "charge", "reserve_stock", "post_invoice", "notify", "score"]


def make_request(seed: int) -> bytes:
    """512 spans in traces of 16 from one sender: 30% of requests come from a Celery worker
    (task spans), the rest from Flowmeter's engine (native step spans)."""
    rnd = random.Random(seed)
    celery = seed % 10 < 3
    request = ExportTraceServiceRequest()
    rs = request.resource_spans.add()
    rs.resource.attributes.add(key="service.name").value.string_value = "worker"
    ss = rs.scope_spans.add()
    base = 1_764_000_000_000_000_000 + seed * 1_000_000_000
    trace_id = b""
    for i in range(SPANS_PER_REQUEST):
        if i % 16 == 0:
            trace_id = uuid.UUID(int=rnd.getrandbits(128)).bytes
        span = ss.spans.add(trace_id=trace_id, span_id=rnd.getrandbits(64).to_bytes(8, "big"))
        span.start_time_unix_nano = base + i * 1_000_000
        span.end_time_unix_nano = span.start_time_unix_nano + rnd.randint(100_000, 90_000_000)
        attrs = span.attributes
        if celery:
            task = rnd.choice(TASKS)
            span.name = f"run/{task}"
            pairs = {"celery.action": "run", "celery.task_name": task,
                     "celery.state": rnd.choice(["SUCCESS", "SUCCESS", "RETRY", "FAILURE"]),
                     "messaging.message.id": str(uuid.UUID(int=rnd.getrandbits(128))),
                     "celery.hostname": "celery@worker-1", "messaging.destination": "celery",
                     "celery.delivery_info": "{'exchange': '', 'routing_key': 'celery'}",
                     "invoice.id": f"inv-{rnd.randint(1, 10**6)}"}  # fmt: skip
        else:
            step = rnd.choice(STEPS)
            span.name = f"step {step}"
            pairs = {"workflow.name": "order_to_cash", "step.name": step,
                     "correlation.id": str(uuid.UUID(int=rnd.getrandbits(128))),
                     "tenant.id": f"tenant-{rnd.randint(1, 20)}", "product.line": "retail",
                     "entity.type": "order", "entity.id": f"ord-{rnd.randint(1, 10**6)}",
                     "step.outcome": rnd.choice(["ok", "ok", "retry"])}  # fmt: skip
        for key, value in pairs.items():
            attrs.add(key=key).value.string_value = value
        attrs.add(key="step.attempt").value.int_value = rnd.randint(1, 3)
    return request.SerializeToString()


def cpu_seconds() -> float:
    """CPU time of this process (the pipeline AND the embedded ClickHouse engine)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def ingest(bodies: list[bytes], workdir: Path, name: str, rules: Path) -> tuple[float, float]:
    """(wall, CPU) seconds to submit every body and drain the pipeline into a fresh database."""
    from collectors.pipeline import Pipeline
    from models.db import Store
    from models.migrations import migrate
    from models.settings import load_settings

    store = Store(f"chdb://{workdir / 'clickhouse'}", database=name)
    migrate(store)
    settings = load_settings(env={}, data_dir=workdir / name, rules_file=rules)
    pipeline = Pipeline(settings, store)
    pipeline.start()
    started, cpu = time.perf_counter(), cpu_seconds()
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(pipeline.submit, ["traces"] * len(bodies), bodies))
    assert pipeline.flush(600), "the pipeline did not drain"
    seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    pipeline.stop(5)
    stored = store.read_only("SELECT count() FROM otel_traces")[1][0][0]
    assert stored == len(bodies) * SPANS_PER_REQUEST, stored
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="recognition-bench-"))
    try:
        off, on = workdir / "off.toml", workdir / "on.toml"
        off.write_text("profiles = []\n")
        on.write_text('profiles = ["celery", "prefect", "temporal", "airflow"]\n')
        bodies = [make_request(seed) for seed in range(args.requests)]
        spans = len(bodies) * SPANS_PER_REQUEST
        totals = {"off": 0.0, "on": 0.0}
        cpus = {"off": 0.0, "on": 0.0}
        for n in range(args.rounds):
            for mode, rules in (("off", off), ("on", on)):
                seconds, cpu = ingest(bodies, workdir, f"bench_{mode}_{n}", rules)
                totals[mode] += seconds
                cpus[mode] += cpu
                print(f"round {n + 1} profiles {mode:>3}: {spans / seconds:>10,.0f} spans/s "
                      f"({seconds:.2f}s wall, {cpu:.2f}s CPU)")  # fmt: skip
        rate = {mode: spans * args.rounds / seconds for mode, seconds in totals.items()}
        per_cpu = {mode: spans * args.rounds / seconds for mode, seconds in cpus.items()}
        print(f"spans per run: {spans} ({args.requests} requests x {SPANS_PER_REQUEST}, "
              f"30% of them from a Celery worker)")  # fmt: skip
        print(f"profiles off: {rate['off']:>10,.0f} spans/s; on: {rate['on']:>10,.0f} spans/s")
        print(f"ratio on/off: {rate['on'] / rate['off']:.2f} (wall clock)")
        print(f"spans per CPU second: off {per_cpu['off']:,.0f}, on {per_cpu['on']:,.0f}; "
              f"ratio on/off {per_cpu['on'] / per_cpu['off']:.2f} (CPU: robust on a shared machine)")  # fmt: skip
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
