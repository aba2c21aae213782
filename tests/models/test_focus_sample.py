"""The FinOps Foundation's FOCUS 1.0 sample imports whole, to the cent, twice without change."""

from __future__ import annotations

import csv
import hashlib
from datetime import date
from decimal import Decimal
from pathlib import Path

from models.costs import attributed_costs, import_cost_file
from models.db import Store
from tests.conftest import FIXTURES

SAMPLE = FIXTURES / "focus" / "focus_1.0_sample.csv"
KEYS = ("application", "environment", "business_unit")


def file_totals(path: Path) -> tuple[int, Decimal, Decimal]:
    """Rows, BilledCost and EffectiveCost summed with Decimal straight from the CSV text."""
    with path.open(newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    billed = sum((Decimal(r["BilledCost"]) for r in rows), Decimal(0))
    effective = sum((Decimal(r["EffectiveCost"]) for r in rows), Decimal(0))
    return len(rows), billed, effective


def stored_totals(store: Store) -> tuple[int, Decimal, Decimal]:
    _, rows = store.read_only(
        "SELECT count(), sum(BilledCost), sum(EffectiveCost) FROM cost_records_current"
    )
    count, billed, effective = rows[0]
    return int(count), Decimal(billed), Decimal(effective)


def cents(totals: tuple[int, Decimal, Decimal]) -> tuple[int, Decimal, Decimal]:
    count, billed, effective = totals
    return count, billed.quantize(Decimal("0.01")), effective.quantize(Decimal("0.01"))


def test_the_fixture_is_the_published_file() -> None:
    digest = hashlib.sha256(SAMPLE.read_bytes()).hexdigest()
    assert digest == "e91e5ac7edf01ed2c9d926f37ef7dc1ae2aae97956fea8da6c9ee488b1c2839e"
    with SAMPLE.open(newline="") as handle:
        header = next(csv.reader(handle))
    assert len(header) == 44


def test_the_official_sample_imports_exactly_and_idempotently(store: Store) -> None:
    rows, billed, effective = file_totals(SAMPLE)
    assert rows == 1000

    first = import_cost_file(store, SAMPLE, tag_keys=KEYS)
    assert first.rows == 1000 and first.report is not None
    report = first.report
    assert report.version == "1.0"
    assert report.ignored == ["Id"]
    assert report.rows_valid == 1000 and report.bad_count == 0
    assert "ContractedCost: 7 null value(s), stored as null" in "\n".join(report.warnings())
    assert cents(stored_totals(store)) == cents((1000, billed, effective))
    # cost_records keeps 10 decimal places; the sample has 11: each row rounds by < 0.5e-10
    assert abs(stored_totals(store)[1] - billed) < Decimal("0.5e-10") * 1000
    assert cents((0, first.billed_total["USD"], Decimal(0)))[1] == cents((0, billed, Decimal(0)))[1]

    # the rollup the dashboard reads holds the same money
    frame = attributed_costs(store, date(2024, 9, 1), date(2024, 11, 1), by="tenant")
    assert sum(frame["billed_cost"], Decimal(0)).quantize(Decimal("0.01")) == billed.quantize(
        Decimal("0.01")
    )
    assert sum(frame["effective_cost"], Decimal(0)) == stored_totals(store)[2]

    _, null_tags = store.read_only(
        "SELECT countIf(empty(Tags)), countIf(ContractedCost IS NULL) FROM cost_records_current"
    )
    assert null_tags[0] == (289, 7)  # the literal NULL is null, not a bad JSON object
    _, recased = store.read_only(
        "SELECT DISTINCT x_columns['ChargeFrequency'] FROM cost_records_current ORDER BY 1"
    )
    assert [r[0] for r in recased] == ["One-Time", "Usage-Based"]  # 'Usage-based' drift fixed

    second = import_cost_file(store, SAMPLE, tag_keys=KEYS)
    assert second.rows == 0 and len(second.slices_unchanged) == len(first.slices_written) == 4
    assert cents(stored_totals(store)) == cents((1000, billed, effective))
    _, commits = store.read_only("SELECT count() FROM cost_slice_commits")
    assert commits[0][0] == 4  # the second import committed nothing
