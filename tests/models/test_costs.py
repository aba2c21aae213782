"""FOCUS import (valid, each kind of bad file, idempotent re-import), attribution, unit economics."""

from __future__ import annotations

import csv
import json
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from models.costs import attributed_costs, import_cost_file, unit_economics
from models.db import Store
from models.errors import CostImportError
from tests.builders import run

KEYS = ("tenant", "product_line", "workflow")
HEADER = [
    "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListCost",
    "ContractedCost", "ChargeCategory", "ServiceName", "ProviderName", "Tags",
]  # fmt: skip


def focus_row(cost: str, tags: dict[str, str], *, account: str = "acct-1", day: int = 2,
              period: str = "2026-03-01T00:00:00Z") -> list[str]:  # fmt: skip
    return [account, "USD", period, "2026-04-01T00:00:00Z", f"2026-03-{day:02d}T00:00:00Z",
            f"2026-03-{day:02d}T23:00:00Z", cost, cost, cost, cost, "Usage", "Compute", "AWS",
            json.dumps(tags)]  # fmt: skip


def write_csv(path: Path, rows: list[list[str]], header: list[str] = HEADER) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


GOOD = [
    focus_row("10.25", {"tenant": "acme", "workflow": "order-to-cash"}),
    focus_row("4.75", {"tenant": "globex", "workflow": "refund"}),
    focus_row("100.01", {"shared": "true"}),
    focus_row("3.00", {}),
]


def stored_total(store: Store) -> Decimal:
    frame = attributed_costs(store, date(2026, 3, 1), date(2026, 4, 1), by="tenant")
    return sum(frame["billed_cost"], Decimal(0))


def test_valid_csv_imports_and_maps_tags(store: Store, tmp_path: Path) -> None:
    result = import_cost_file(store, write_csv(tmp_path / "f.csv", GOOD), tag_keys=KEYS)
    assert result.rows == 4 and result.unallocated_rows == 1
    assert result.billed_total == {"USD": Decimal("118.01")}
    assert stored_total(store) == Decimal("118.01")


def test_parquet_imports_too(store: Store, tmp_path: Path) -> None:
    frame = pd.DataFrame(GOOD, columns=HEADER)
    frame.to_parquet(tmp_path / "f.parquet")
    result = import_cost_file(store, tmp_path / "f.parquet", tag_keys=KEYS)
    assert result.rows == 4


def test_reimport_is_idempotent_and_correction_replaces(store: Store, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "f.csv", GOOD)
    import_cost_file(store, path, tag_keys=KEYS)
    again = import_cost_file(store, path, tag_keys=KEYS)
    assert again.rows == 0 and len(again.slices_unchanged) == 1
    assert stored_total(store) == Decimal("118.01")
    corrected = write_csv(tmp_path / "g.csv", [*GOOD[:3], focus_row("1.00", {})])
    result = import_cost_file(store, corrected, tag_keys=KEYS)
    assert result.rows == 4
    assert stored_total(store) == Decimal("116.01")
    other = write_csv(tmp_path / "h.csv", [focus_row("2.00", {}, account="acct-2")])
    import_cost_file(store, other, tag_keys=KEYS)
    assert stored_total(store) == Decimal("118.01")  # another account's slice is untouched


def test_missing_column_is_named(store: Store, tmp_path: Path) -> None:
    header = [h for h in HEADER if h != "EffectiveCost"]
    rows = [[v for h, v in zip(HEADER, r, strict=True) if h != "EffectiveCost"] for r in GOOD]
    with pytest.raises(
        CostImportError, match="missing mandatory FOCUS column\\(s\\): EffectiveCost"
    ):
        import_cost_file(store, write_csv(tmp_path / "f.csv", rows, header), tag_keys=KEYS)


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("BilledCost", "abc", "line 3: BilledCost 'abc' is not a number"),
        ("ChargePeriodStart", "yesterday", "line 3: ChargePeriodStart 'yesterday' is not an ISO 8601 date"),
        ("Tags", "[1, 2]", "line 3: Tags is not a JSON object"),
        ("BillingCurrency", "DOLLARS", "line 3: BillingCurrency 'DOLLARS' is not a 3-letter code"),
    ],
)  # fmt: skip
def test_bad_rows_are_reported_and_nothing_is_imported(
    store: Store, tmp_path: Path, column: str, value: str, message: str
) -> None:
    rows = [list(r) for r in GOOD]
    rows[1][HEADER.index(column)] = value
    with pytest.raises(CostImportError, match="nothing was imported") as caught:
        import_cost_file(store, write_csv(tmp_path / "f.csv", rows), tag_keys=KEYS)
    assert message in str(caught.value)
    assert stored_total(store) == 0


def test_not_a_focus_file(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "f.json"
    path.write_text("{}")
    with pytest.raises(CostImportError, match=r"expected a \.csv or \.parquet"):
        import_cost_file(store, path, tag_keys=KEYS)


def test_allocation_by_usage_reconciles_to_the_cent(store: Store, tmp_path: Path) -> None:
    for _ in range(3):
        run(store, datetime(2026, 3, 2, 9), "order-to-cash", tenant="acme")
    run(store, datetime(2026, 3, 2, 9), "refund", tenant="globex")
    import_cost_file(store, write_csv(tmp_path / "f.csv", GOOD), tag_keys=KEYS)
    frame = attributed_costs(store, date(2026, 3, 1), date(2026, 4, 1), by="tenant")
    assert sum(frame["billed_cost"], Decimal(0)) == Decimal("118.01")
    shared = frame[frame["allocation_method"] == "shared:proportional"].set_index("tenant")
    assert shared.loc["acme", "billed_cost"] == Decimal("75.01")
    assert shared.loc["globex", "billed_cost"] == Decimal("25.00")
    unallocated = frame[frame["allocation_method"] == "unallocated"]
    assert list(unallocated["billed_cost"]) == [Decimal("3")]
    even = attributed_costs(store, date(2026, 3, 1), date(2026, 4, 1), by="workflow", policy="even")
    assert sum(even["effective_cost"], Decimal(0)) == Decimal("118.01")
    mine = attributed_costs(store, date(2026, 3, 1), date(2026, 4, 1), tenants=["globex"])
    assert set(mine["tenant"]) == {"globex"}


def test_unit_economics(store: Store, tmp_path: Path) -> None:
    for _ in range(4):
        run(store, datetime(2026, 3, 2, 9), "order-to-cash", tenant="acme")
    import_cost_file(store, write_csv(tmp_path / "f.csv", GOOD[:1]), tag_keys=KEYS)
    frame = unit_economics(store, date(2026, 3, 1), date(2026, 4, 1), by="tenant")
    row = frame.iloc[0]
    assert (row["key"], row["transactions"]) == ("acme", 4)
    assert row["cost_per_transaction"] == pytest.approx(10.25 / 4)


def test_a_range_holds_only_the_cost_charged_in_it(store: Store, tmp_path: Path) -> None:
    # Regression: the range query filtered on its own alias `day` (= the range start), so any
    # range, even one before the bill, summed every cost ever imported.
    path = write_csv(tmp_path / "f.csv", [focus_row("10.00", {"tenant": "acme"}, day=2),
                                          focus_row("7.00", {"tenant": "acme"}, day=20)])  # fmt: skip
    import_cost_file(store, path, tag_keys=KEYS)
    first = attributed_costs(store, date(2026, 3, 1), date(2026, 3, 10), by="tenant")
    assert [Decimal(v) for v in first["effective_cost"]] == [Decimal("10.00")]
    later = attributed_costs(store, date(2026, 3, 10), date(2026, 4, 1), by="tenant")
    assert [Decimal(v) for v in later["effective_cost"]] == [Decimal("7.00")]
    before = attributed_costs(store, date(2026, 2, 1), date(2026, 3, 1), by="tenant")
    assert before.empty
