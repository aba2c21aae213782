"""Durable checkpointed steps per second: SQLite (1 worker), PostgreSQL (1 and 4 worker
processes), where the time goes, and the wall time of ``flowmeter demo --days 14``.

Baseline measured in the same run: the same database committing one small INSERT per
transaction (the floor cost of a durable checkpoint), so the engine figure reads as a
fraction of what the database alone allows.

    .venv/bin/python bench/orchestrator.py [--runs 300] [--steps 10] [--skip-demo]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.engine import Engine  # noqa: E402
from orchestrator.store import OrchestratorStore  # noqa: E402
from orchestrator.workflow import step, workflow  # noqa: E402

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
PG_DSN = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
STEPS = int(os.environ.get("BENCH_STEPS", "10"))


@step("bench_step")
def bench_step(i: int) -> int:
    return i + 1


@workflow("bench_flow")
def bench_flow(payload: dict[str, Any]) -> int:
    total = 0
    for i in range(payload["steps"]):
        total += bench_step(i)
    return total


def _submit(store: OrchestratorStore, runs: int) -> None:
    engine = Engine(store)
    now = time.time()
    with store.tx() as conn:
        for _ in range(runs):
            store.insert_run(conn, **engine.run_values("bench_flow", {"steps": STEPS}, now))


def _drain(store: OrchestratorStore, owner: str) -> int:
    engine, done = Engine(store), 0
    while engine.run_once(owner) is not None:
        done += 1
    return done


def worker_main(dsn: str, schema: str, sync: str) -> None:
    """Subprocess mode: READY, wait for GO on stdin, drain the queue, print DONE n."""
    store = OrchestratorStore(dsn, schema=schema or None, synchronous_commit=sync == "on")
    print("READY", flush=True)
    sys.stdin.readline()
    print(f"DONE {_drain(store, f'bench-{os.getpid()}')}", flush=True)


def _pg_schema() -> str:
    import psycopg

    schema = f"bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    return schema


def _drop(schema: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA {schema} CASCADE")


def raw_commits(dsn: str, schema: str, n: int = 2000) -> float:
    """Baseline: one INSERT per committed transaction, through the same driver stack."""
    store = OrchestratorStore(dsn, schema=schema or None)
    t = time.perf_counter()
    for i in range(n):
        with store.tx() as conn:
            store.audit(conn, 0.0, "bench", "bench", str(i), "")
    rate = n / (time.perf_counter() - t)
    store.close()
    return rate


def sqlite_one_worker(runs: int) -> tuple[float, dict[str, float]]:
    """Steps/s with one in-process worker on a SQLite file, plus time per store call."""
    with tempfile.TemporaryDirectory() as tmp:
        store = OrchestratorStore(f"sqlite:///{tmp}/bench.db")
        _submit(store, runs)
        spent: dict[str, float] = defaultdict(float)
        for name in ("claim", "checkpoints", "save_step", "release", "recall"):
            original = getattr(store, name)

            def timed(*a: Any, _f: Any = original, _n: str = name, **k: Any) -> Any:
                t0 = time.perf_counter()
                try:
                    return _f(*a, **k)
                finally:
                    spent[_n] += time.perf_counter() - t0

            setattr(store, name, timed)
        t = time.perf_counter()
        done = _drain(store, "bench")
        elapsed = time.perf_counter() - t
        store.close()
    assert done == runs
    spent["engine + workflow code"] = elapsed - sum(spent.values())
    return runs * STEPS / elapsed, {k: v / elapsed for k, v in spent.items()}


def pg_workers(runs: int, processes: int, sync: str = "on") -> float:
    """Steps/s with ``processes`` worker processes on PostgreSQL (timed from GO to all done)."""
    schema = _pg_schema()
    try:
        store = OrchestratorStore(PG_DSN, schema=schema)
        _submit(store, runs)
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", PG_DSN, schema, sync],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=REPO,
                env={**os.environ, "BENCH_STEPS": str(STEPS)},
            )
            for _ in range(processes)
        ]
        for p in procs:
            assert p.stdout is not None and p.stdout.readline().strip() == "READY"
        t = time.perf_counter()
        for p in procs:
            assert p.stdin is not None
            p.stdin.write("GO\n")
            p.stdin.flush()
        done = sum(int(p.communicate(timeout=600)[0].split()[-1]) for p in procs)
        elapsed = time.perf_counter() - t
        assert done == runs, (done, runs)
        assert store.counts() == {"completed": runs}
        store.close()
        return runs * STEPS / elapsed
    finally:
        _drop(schema)


def demo_seconds() -> float:
    """Wall time of ``flowmeter demo --days 14 --seed 7`` in a fresh data dir."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
        env["FLOWMETER_DATA_DIR"] = tmp
        t = time.perf_counter()
        result = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--days", "14",
                                 "--seed", "7"], cwd=REPO, env=env, capture_output=True,
                                text=True, check=False)  # fmt: skip
        elapsed = time.perf_counter() - t
        print("   ", result.stdout.strip().splitlines()[-1] if result.stdout.strip() else "")
        if result.returncode != 0:
            print(result.stderr[-2000:])
        return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--skip-demo", action="store_true")
    args = parser.parse_args()
    print(f"workflow: {STEPS} checkpointed steps per run, {args.runs} runs per configuration")
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_raw = raw_commits(f"sqlite:///{tmp}/raw.db", "")
    rate, shares = sqlite_one_worker(args.runs)
    print(f"SQLite      1 worker : {rate:8.0f} steps/s   baseline raw commits {sqlite_raw:8.0f}/s"
          f"   ratio {rate / sqlite_raw:.2f}")  # fmt: skip
    print("  where the time goes (SQLite, 1 worker):")
    for name, share in sorted(shares.items(), key=lambda kv: -kv[1]):
        print(f"    {name:<24} {share * 100:5.1f}%")
    schema = _pg_schema()
    try:
        pg_raw = raw_commits(PG_DSN, schema)
    finally:
        _drop(schema)
    for sync in ("on", "off"):
        one = pg_workers(args.runs, 1, sync)
        four = pg_workers(args.runs * 2, 4, sync)
        label = f"synchronous_commit={sync}"
        print(f"PostgreSQL  1 worker : {one:8.0f} steps/s   {label}"
              + (f"   baseline raw commits {pg_raw:8.0f}/s   ratio {one / pg_raw:.2f}"
                 if sync == "on" else ""))  # fmt: skip
        print(f"PostgreSQL  4 workers: {four:8.0f} steps/s   {label}   ratio to 1 worker "
              f"{four / one:.2f}   (target >= 1000)")  # fmt: skip
    if not args.skip_demo:
        print(f"flowmeter demo --days 14: {demo_seconds():.1f} s (target < 60 s)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        main()
