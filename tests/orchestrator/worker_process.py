"""A worker process for the crash and multi-process tests:
``python -m tests.orchestrator.worker_process DSN SCHEMA`` runs ready runs until none is
left (ready, waiting or running), then prints DONE and exits."""

from __future__ import annotations

import os
import sys
import threading

import tests.orchestrator.sample_flows  # noqa: F401  (registers the workflows)
from orchestrator.engine import Engine
from orchestrator.state import open_store


def main() -> None:
    dsn, schema = sys.argv[1], sys.argv[2] or None
    store = open_store(dsn, schema=schema)
    engine = Engine(store, lease_seconds=600.0)
    owner = f"proc-{os.getpid()}"
    idle = threading.Event()
    executed = 0
    print("READY", flush=True)
    while True:
        if engine.run_once(owner) is not None:
            executed += 1
            continue
        counts = store.counts()
        if not any(counts.get(s, 0) for s in ("ready", "waiting", "running")):
            break
        idle.wait(0.02)  # other processes still hold runs; poll the queue again
    print(f"DONE {executed}", flush=True)


if __name__ == "__main__":
    main()
