"""Seed a Flowmeter data dir for a process test: ``python -m tests.app.seed_store``.

Uses the FLOWMETER_* environment like ``flowmeter up`` does; prints ``SEEDED <json>`` last.
"""

from __future__ import annotations

import json
from dataclasses import asdict

from models.db import Store
from models.migrations import migrate
from models.settings import load_settings
from tests.app.seed import seed, seed_engine


def main() -> None:
    settings = load_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store = Store(settings.clickhouse_dsn)
    try:
        migrate(store)
        world = seed(store)
    finally:
        store.close()
    engine_world = seed_engine(settings.orchestrator_dsn)
    print("SEEDED " + json.dumps({**asdict(world), **asdict(engine_world)}, default=str))


if __name__ == "__main__":
    main()
