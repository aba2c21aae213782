"""Durable checkpointed steps per second: SQLite (1 worker), PostgreSQL (1 process, and 4
worker processes of 1 and of ``--threads`` worker threads), where the time goes, and the
wall time of ``flowmeter demo --days 14``.

Baselines measured in the same run: the same database committing one small INSERT per
transaction (the floor cost of a durable checkpoint) at the same concurrency (processes x
connections), so each engine figure reads as a fraction of what the database alone allows.

    .venv/bin/python bench/orchestrator.py [--runs 300] [--threads 4] [--skip-demo]
    (BENCH_STEPS=10 sets the checkpointed steps per run)
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from orchestrator.engine import Engine  # noqa: E402
from orchestrator.state import StateStore, open_store  # noqa: E402
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


def _submit(store: StateStore, runs: int) -> None:
    engine = Engine(store)
    now = time.time()
    with store.tx() as conn:
        for _ in range(runs):
            store.insert_run(conn, **engine.run_values("bench_flow", {"steps": STEPS}, now))


def _drain(store: StateStore, owner: str) -> int:
    engine, done = Engine(store), 0
    while engine.run_once(owner) is not None:
        done += 1
    return done


def worker_main(dsn: str, schema: str, sync: str, threads: int) -> None:
    """Subprocess mode: READY, wait for GO on stdin, drain the queue with ``threads``
    worker threads (as WorkerPool runs them), print DONE n."""
    store = open_store(dsn, schema=schema or None, synchronous_commit=sync == "on")
    engine = Engine(store)
    counts = [0] * threads

    def drain(index: int) -> None:
        owner = f"bench-{os.getpid()}:{index}"
        while engine.run_once(owner) is not None:
            counts[index] += 1

    workers = [threading.Thread(target=drain, args=(i,)) for i in range(threads)]
    print("READY", flush=True)
    sys.stdin.readline()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(f"DONE {sum(counts)}", flush=True)


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
    store = open_store(dsn, schema=schema or None)
    t = time.perf_counter()
    for i in range(n):
        with store.tx() as conn:
            store.audit(conn, 0.0, "bench", "bench", str(i), "")
    rate = n / (time.perf_counter() - t)
    store.close()
    return rate


def raw_worker_main(schema: str, threads: int, n: int) -> None:
    """Subprocess mode: ``threads`` connections each committing ``n`` one-row INSERTs."""
    import psycopg

    def insert(index: int) -> None:
        with psycopg.connect(PG_URL, autocommit=True, options=f"-csearch_path={schema}") as conn:
            for i in range(n):
                conn.execute("INSERT INTO raw_commits (worker, i) VALUES (%s, %s)", (index, i))

    workers = [threading.Thread(target=insert, args=(i,)) for i in range(threads)]
    print("READY", flush=True)
    sys.stdin.readline()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    print(f"DONE {threads * n}", flush=True)


def _go(procs: list[subprocess.Popen[str]]) -> tuple[int, float]:
    """Wait for every READY, send GO, return (sum of DONE counts, seconds from GO)."""
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "READY"
    t = time.perf_counter()
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("GO\n")
        p.stdin.flush()
    done = sum(int(p.communicate(timeout=600)[0].split()[-1]) for p in procs)
    return done, time.perf_counter() - t


def pg_raw_commits(processes: int, threads: int, n: int = 400) -> float:
    """Baseline: commits/s of one-row autocommit INSERTs (plain psycopg, no engine) from
    ``processes`` processes of ``threads`` connections: the ceiling a one-commit-per-step
    engine can reach with the same concurrency."""
    schema = _pg_schema()
    try:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"CREATE TABLE {schema}.raw_commits (worker int, i int)")
        procs = [
            subprocess.Popen([sys.executable, __file__, "--raw", schema, str(threads), str(n)],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO)
            for _ in range(processes)
        ]  # fmt: skip
        done, elapsed = _go(procs)
        return done / elapsed
    finally:
        _drop(schema)


def sqlite_one_worker(runs: int) -> tuple[float, dict[str, float]]:
    """Steps/s with one in-process worker on a SQLite file, plus time per store call."""
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/bench.db")
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


def pg_workers(runs: int, processes: int, sync: str = "on", threads: int = 1) -> float:
    """Steps/s with ``processes`` worker processes of ``threads`` worker threads each on
    PostgreSQL (timed from GO to all done)."""
    schema = _pg_schema()
    try:
        store = open_store(PG_DSN, schema=schema)
        _submit(store, runs)
        procs = [
            subprocess.Popen(
                [sys.executable, __file__, "--worker", PG_DSN, schema, sync, str(threads)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                cwd=REPO,
                env={**os.environ, "BENCH_STEPS": str(STEPS)},
            )
            for _ in range(processes)
        ]
        done, elapsed = _go(procs)
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
    parser.add_argument("--threads", type=int, default=4, help="worker threads per process")
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
    threads = args.threads
    raw_1 = pg_raw_commits(1, 1)
    raw_4 = pg_raw_commits(4, 1)
    raw_4t = pg_raw_commits(4, threads)
    print(f"PostgreSQL baseline raw one-row commits/s: 1 conn {raw_1:.0f}, 4 procs x 1 conn "
          f"{raw_4:.0f}, 4 procs x {threads} conns {raw_4t:.0f}")  # fmt: skip
    configs = [(1, 1, "on", raw_1), (4, 1, "on", raw_4), (4, threads, "on", raw_4t),
               (4, threads, "off", raw_4t)]  # fmt: skip
    for processes, per_process, sync, raw in configs:
        runs = args.runs if processes == 1 else args.runs * 2
        rate = pg_workers(runs, processes, sync, per_process)
        print(f"PostgreSQL  {processes} proc x {per_process} threads: {rate:8.0f} steps/s   "
              f"synchronous_commit={sync:<3}  ratio to raw commits at that concurrency "
              f"{rate / raw:.2f}" + ("   (target >= 1000)" if processes == 4 else ""))  # fmt: skip
    if not args.skip_demo:
        print(f"flowmeter demo --days 14: {demo_seconds():.1f} s (target < 60 s)")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--raw":
        raw_worker_main(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    elif len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker_main(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        main()
