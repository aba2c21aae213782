"""The demo backfill leaves usage-priced and FOCUS cost records that attribute and reconcile."""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from collectors.inprocess import InProcessLogExporter, InProcessSpanExporter
from collectors.pipeline import Pipeline
from models.costs import attributed_costs
from models.db import Store
from models.roi_report import roi_report
from models.settings import Settings, load_settings
from orchestrator.demo import run_backfill
from orchestrator.demo_costs import demo_days, focus_rows
from orchestrator.flows import catalog
from orchestrator.telemetry import Telemetry

END = datetime(2026, 11, 25, 18, 0, tzinfo=UTC).timestamp()  # a Wednesday evening
DAYS = 2
TENANTS = set(catalog.TENANTS)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    # Batches of an hour: only Telemetry.flush's drain can bring the spans into the store.
    return load_settings(env={}, data_dir=tmp_path, batch_seconds=3600.0,
                         redact_secret="test-key")  # fmt: skip


@pytest.fixture
def pipeline(settings: Settings, store: Store) -> Iterator[Pipeline]:
    running = Pipeline(settings, store)
    running.start()
    yield running
    running.stop(5)


def test_focus_bill_is_seeded_and_has_tagged_shared_and_untagged_lines() -> None:
    days = demo_days(END - 3 * 86400, END)
    assert len(days) == 4  # a window of 72 h starting at 18:00 touches four calendar days
    rows = focus_rows(days, 7)
    assert rows == focus_rows(days, 7) and rows != focus_rows(days, 8)
    tags = [r["Tags"] for r in rows]
    assert sum('"shared": "true"' in t for t in tags) == 2 * len(days)
    assert sum(t == "" for t in tags) == 2 * len(days)
    assert {r["BillingCurrency"] for r in rows} == {"EUR"}
    custom = focus_rows(days, 7, ("team", "line", "flow"))
    assert '"team": "acme"' in custom[0]["Tags"]


def test_backfill_attributes_usage_and_focus_costs_that_reconcile(
    store: Store, settings: Settings, pipeline: Pipeline
) -> None:
    telemetry = Telemetry(
        span_exporter=InProcessSpanExporter(pipeline), log_exporter=InProcessLogExporter(pipeline),
        metric_reader=InMemoryMetricReader(), drain=pipeline.flush,
    )  # fmt: skip
    stats = run_backfill(settings, store, telemetry, days=DAYS, seed=7, end=END)
    telemetry.shutdown()
    assert stats["usage_cost_rows"] > 0 and stats["focus_cost_rows"] > 0
    assert (settings.data_dir / "demo-pricing.toml").is_file()

    _, rows = store.read_only(
        "SELECT x_allocation_method, x_tenant, count(), sum(BilledCost) FROM cost_records "
        "GROUP BY x_allocation_method, x_tenant"
    )
    by_method: dict[str, set[str]] = {}
    for method, tenant, _count, _cost in rows:
        by_method.setdefault(method, set()).add(tenant)
    assert by_method["usage"] == TENANTS
    assert by_method["tag"] == TENANTS
    assert by_method["shared"] == {""} and by_method["unallocated"] == {""}
    stored_total = sum((Decimal(r[3]) for r in rows), Decimal(0))
    usage_total = sum((Decimal(r[3]) for r in rows if r[0] == "usage"), Decimal(0))
    with (settings.data_dir / "demo-focus.csv").open(encoding="utf-8") as handle:
        focus_total = sum((Decimal(r["BilledCost"]) for r in csv.DictReader(handle)), Decimal(0))
    assert stored_total == focus_total + usage_total

    days = demo_days(END - DAYS * 86400, END)
    attributed = attributed_costs(store, days[0], days[-1] + timedelta(days=1), by="tenant")
    assert set(attributed["tenant"]) >= TENANTS
    assert "shared:proportional" in set(attributed["allocation_method"])
    assert sum(attributed["billed_cost"], Decimal(0)) == stored_total  # reconciliation

    report = roi_report(
        store, datetime.fromtimestamp(END - DAYS * 86400, UTC), datetime.fromtimestamp(END, UTC)
    )
    assert not report.empty
    assert sum(report["platform_cost"], Decimal(0)) > 0
    assert all(math.isfinite(float(v)) for v in report["roi_percent"])
