"""Migration 310: business_events re-keyed on (tenant_id, event_id) in place, every event kept."""

from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from models.db import Store
from models.migrations import MIGRATIONS_TABLE, load_migrations, migrate, render
from tests.builders import kpi_event

T0 = datetime(2026, 3, 2, 10, 0)


def _store_as_main_left_it(engine_dsn: str) -> Store:
    """A database migrated by main's history only (every migration before 310)."""
    store = Store(engine_dsn, database=f"t_{uuid.uuid4().hex[:12]}")
    store.ddl(
        f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (version UInt32, name String, "
        "checksum String, applied_at DateTime64(3) DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    for migration in load_migrations():
        if migration.version >= 310:
            break
        for statement in render(migration.statements):
            store.ddl(statement)
        store.insert(
            MIGRATIONS_TABLE,
            [[migration.version, migration.name, migration.checksum]],
            ["version", "name", "checksum"],
        )
    return store


def _count(store: Store, sql: str) -> int:
    _, rows = store.read_only(sql)
    return int(rows[0][0])


def test_upgrade_keeps_every_kpi_event_and_dedups_per_tenant(engine_dsn: str) -> None:
    store = _store_as_main_left_it(engine_dsn)
    try:
        for n in range(50):
            kpi_event(store, T0, "order_advanced", tenant=f"t{n % 3}", correlation=f"c{n}")
        assert _count(store, "SELECT count() FROM business_events FINAL") == 50
        assert _count(store, "SELECT sum(events) FROM kpi_hourly") == 50

        applied = [m.version for m in migrate(store)]
        assert 310 in applied

        assert _count(store, "SELECT count() FROM business_events FINAL") == 50
        assert _count(store, "SELECT uniqExact(tenant_id, event_id, correlation_id) "
                             "FROM business_events") == 50  # fmt: skip
        assert _count(store, "SELECT sum(events) FROM kpi_hourly") == 50  # not copied twice
        _, keys = store.read_only(
            "SELECT sorting_key FROM system.tables "
            "WHERE database = currentDatabase() AND name = 'business_events'"
        )
        assert keys == [("tenant_id, event_id",)]
        # the views fire again on the new table: rollup and lookup keys
        columns = [
            "event_id",
            "ts",
            "kpi",
            "value",
            "tenant_id",
            "correlation_id",
            "schema_version",
        ]
        for tenant in ("acme", "globex"):
            store.insert(
                "business_events", [["same-id", T0, "order_advanced", 1.0, tenant, "c-x", 1]],
                columns,
            )  # fmt: skip
        assert _count(store, "SELECT count() FROM business_events FINAL") == 52
        assert _count(store, "SELECT sum(events) FROM kpi_hourly") == 52
        assert _count(store, "SELECT count() FROM lookup_keys WHERE key = 'c-x'") == 2
        _, tables = store.read_only(
            "SELECT name FROM system.tables WHERE database = currentDatabase() "
            "AND name LIKE 'business_events%'"
        )
        assert tables == [("business_events",)]
        assert migrate(store) == []
    finally:
        store.ddl(f"DROP DATABASE IF EXISTS {store.database}")
        store.close()


@pytest.mark.parametrize("crash_after", [4, 5, 6, 7])
def test_a_crash_in_the_middle_of_310_loses_nothing_when_it_runs_again(
    engine_dsn: str, crash_after: int
) -> None:
    """Stop after statement n (the copy made / old table dropped / copied back), run again."""
    store = _store_as_main_left_it(engine_dsn)
    try:
        for n in range(20):
            kpi_event(store, T0, "order_advanced", tenant=f"t{n % 2}")
        (m310,) = [m for m in load_migrations() if m.version == 310]
        for statement in render(m310.statements)[: crash_after + 1]:
            store.ddl(statement)
        migrate(store)
        assert _count(store, "SELECT count() FROM business_events FINAL") == 20
        assert _count(store, "SELECT sum(events) FROM kpi_hourly") == 20
    finally:
        store.ddl(f"DROP DATABASE IF EXISTS {store.database}")
        store.close()
