"""A crash between the steps of a slice's replacement never doubles (nor drops) its cost.

Each test runs the import's internal steps (stage, commit, sweep) one by one against the real
store and stops where a crash would, then checks what every reader sees: the raw rows, the
daily rollup and the attributed costs the dashboard shows.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

from models.costs import (
    attributed_costs,
    commit_slice,
    import_cost_file,
    slice_totals,
    stage_slice,
    sweep_slice,
)
from models.db import Store
from models.focus import read_focus
from models.migrations import load_migrations, migrate, render
from tests.models.test_costs import KEYS, focus_row, write_csv

SLICE = ("acct-1", datetime(2026, 3, 1))
OLD = [focus_row("10.00", {"tenant": "acme"}), focus_row("5.00", {"tenant": "globex"})]
NEW = [focus_row("10.00", {"tenant": "acme"}), focus_row("7.50", {"tenant": "globex"}),
       focus_row("1.25", {}, day=3)]  # fmt: skip


def seen(store: Store) -> tuple[int, Decimal, int, Decimal, Decimal]:
    """Rows and billed cost in the raw table and the rollup, and the dashboard's total."""
    totals = slice_totals(store, *SLICE)
    frame = attributed_costs(store, date(2026, 3, 1), date(2026, 4, 1), by="tenant")
    return (
        int(totals["raw_rows"]),
        Decimal(totals["raw_billed"]),
        int(totals["daily_rows"]),
        Decimal(totals["daily_billed"]),
        sum(frame["billed_cost"], Decimal(0)),
    )


OLD_SEEN = (2, Decimal("15"), 2, Decimal("15"), Decimal("15"))
NEW_SEEN = (3, Decimal("18.75"), 3, Decimal("18.75"), Decimal("18.75"))


def stored_rows(store: Store) -> int:
    _, rows = store.read_only("SELECT count() FROM cost_records")
    return int(rows[0][0])


def test_crash_after_staging_leaves_the_old_cost(store: Store, tmp_path: Path) -> None:
    import_cost_file(store, write_csv(tmp_path / "old.csv", OLD), tag_keys=KEYS)
    assert seen(store) == OLD_SEEN
    rows, _ = read_focus(write_csv(tmp_path / "new.csv", NEW), tag_keys=KEYS)
    stage_slice(store, rows, *SLICE, "new.csv#crash")  # ...and the process dies here
    assert stored_rows(store) == 5  # both generations are on disk
    assert seen(store) == OLD_SEEN  # but readers still see only the committed one

    import_cost_file(store, tmp_path / "new.csv", tag_keys=KEYS)  # the rerun
    assert seen(store) == NEW_SEEN
    assert stored_rows(store) == 3  # the crashed generation was swept with the old one


def test_crash_after_commit_shows_the_new_cost_once(store: Store, tmp_path: Path) -> None:
    import_cost_file(store, write_csv(tmp_path / "old.csv", OLD), tag_keys=KEYS)
    rows, _ = read_focus(write_csv(tmp_path / "new.csv", NEW), tag_keys=KEYS)
    generation = stage_slice(store, rows, *SLICE, "new.csv#crash")
    assert seen(store) == OLD_SEEN
    commit_slice(store, *SLICE, generation, source="new.csv#crash", rows=3)
    # the process dies before the sweep: old rows are still stored, never counted
    assert stored_rows(store) == 5
    assert seen(store) == NEW_SEEN

    again = import_cost_file(store, tmp_path / "new.csv", tag_keys=KEYS)
    assert again.rows == 0 and again.slices_unchanged == [SLICE]
    assert seen(store) == NEW_SEEN
    assert stored_rows(store) == 3  # the rerun swept what the crash left


def test_sweep_only_removes_older_generations(store: Store, tmp_path: Path) -> None:
    import_cost_file(store, write_csv(tmp_path / "old.csv", OLD), tag_keys=KEYS)
    rows, _ = read_focus(write_csv(tmp_path / "new.csv", NEW), tag_keys=KEYS)
    first = stage_slice(store, rows, *SLICE, "a")
    second = stage_slice(store, rows, *SLICE, "b")  # a concurrent import of the same slice
    assert second > first
    commit_slice(store, *SLICE, first, source="a", rows=3)
    sweep_slice(store, *SLICE, first)  # must not delete the other import's staged rows
    assert stored_rows(store) == 6
    commit_slice(store, *SLICE, second, source="b", rows=3)
    assert seen(store) == NEW_SEEN
    sweep_slice(store, *SLICE, second)
    assert stored_rows(store) == 3 and seen(store) == NEW_SEEN


def test_cluster_rendering_keeps_the_sorting_key_off_the_distributed_table() -> None:
    rendered = render([s for m in load_migrations() for s in m.statements], "prod")
    twins = [s for s in rendered if "ALTER TABLE cost_records ON CLUSTER 'prod'" in s]
    assert any("ADD COLUMN x_generation UInt64" in s for s in twins)
    assert all("MODIFY ORDER BY" not in s for s in twins)
    local = [s for s in rendered if "ALTER TABLE cost_records_local ON CLUSTER 'prod'" in s]
    assert any("MODIFY ORDER BY" in s and "x_generation" in s for s in local)


def test_a_store_written_before_generations_upgrades_in_place(engine_dsn: str) -> None:
    """Cost rows written by the previous importer stay visible, once, after migration 320."""
    old = Store(engine_dsn, database=f"t_upgrade_{uuid.uuid4().hex[:8]}")
    try:
        store_before = [m for m in load_migrations() if m.version < 320]
        old.ddl(
            "CREATE TABLE IF NOT EXISTS flowmeter_migrations (version UInt32, name String, "
            "checksum String, applied_at DateTime64(3) DEFAULT now64(3)) "
            "ENGINE = ReplacingMergeTree ORDER BY version"
        )
        for migration in store_before:
            for statement in migration.statements:
                old.ddl(statement)
            old.insert("flowmeter_migrations", [[migration.version, migration.name,
                                                 migration.checksum]], ["version", "name", "checksum"])  # fmt: skip
        # what the previous importer wrote: rows (the view fed the rollup), no generation
        names = ["BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
                 "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost",
                 "ListCost", "ContractedCost", "ServiceName", "x_source", "x_row_id"]  # fmt: skip
        start, end = datetime(2026, 3, 1), datetime(2026, 4, 1)
        old.insert("cost_records", [
            ["acct-1", "USD", start, end, datetime(2026, 3, 2), datetime(2026, 3, 3),
             Decimal(v), Decimal(v), Decimal(v), Decimal(v), "S3", "old.csv#1", f"r{i}"]
            for i, v in enumerate(("10.00", "5.00"))
        ], names)  # fmt: skip
        assert [m.version for m in migrate(old)] == [
            m.version for m in load_migrations() if m.version >= 320
        ]
        assert seen(old) == OLD_SEEN
        _, commits = old.read_only("SELECT account, generation, rows FROM cost_slice_commits")
        assert commits == [("acct-1", 0, 2)]
    finally:
        old.close()
