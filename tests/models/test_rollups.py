"""The rollups agree with the raw tables: generated data (the bench generators) through the MVs."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest

from models.costs import attributed_costs
from models.db import Store
from models.health import health_summary, health_timeseries
from models.kpis import kpi_summary
from models.queries import all_queries, get_query

START = datetime(2026, 1, 1)
END = START + timedelta(days=3)
RUNS = 3000


@pytest.fixture(scope="module")
def generated(engine_dsn: str) -> Store:
    import uuid

    from models.migrations import migrate

    store = Store(engine_dsn, database=f"t_{uuid.uuid4().hex[:12]}")
    migrate(store)
    params = {"first_run": 0, "runs": RUNS, "total_runs": RUNS, "start": START, "days": 3}
    for name in ("bench/generate_spans", "bench/generate_kpis", "bench/generate_logs"):
        store.execute(name, **params)
    store.execute("bench/generate_costs", start=START, days=3)
    return store


def test_span_rollups_match_raw(generated: Store) -> None:
    raw = {
        r["key"]: r for r in generated.query("bench/raw_health_by_workflow", start=START, end=END)
    }
    ranges = [
        (END - timedelta(hours=2), END),  # per-minute rollup
        (END - timedelta(hours=30), END),  # hourly
        (START, END),  # whole days
        (START + timedelta(hours=5), END - timedelta(hours=3)),  # days + edge hours
    ]
    for since, until in ranges:
        rolled = health_summary(generated, since, until).set_index("key")
        raw_rows = {
            r["key"]: r
            for r in generated.query("bench/raw_health_by_workflow", start=since, end=until)
        }
        for workflow, row in raw_rows.items():
            assert rolled.loc[workflow, "spans"] == row["spans"]
            assert rolled.loc[workflow, "errors"] == row["errors"]
            assert rolled.loc[workflow, "p95_ms"] == pytest.approx(row["p95_ms"], rel=0.02)
    assert sum(r["spans"] for r in raw.values()) == RUNS


def test_step_retries_match_raw(generated: Store) -> None:
    raw = {r["key"]: r for r in generated.query("bench/raw_health_by_step", start=START, end=END)}
    rolled = health_summary(generated, START, END, by="step").set_index("key")
    assert rolled.loc["charge", "retries"] == raw["charge"]["retries"] == RUNS // 10
    hourly = health_timeseries(generated, START, END, bucket_minutes=60)
    raw_hourly = generated.query("bench/raw_timeseries", start=START, end=END)
    assert list(hourly["spans"]) == [r["spans"] for r in raw_hourly]


def test_kpi_and_cost_rollups_match_raw(generated: Store) -> None:
    raw = {r["kpi"]: r for r in generated.query("bench/raw_kpi_totals", start=START, end=END)}
    summary = kpi_summary(generated, START, END).set_index("kpi")
    for kpi, row in raw.items():
        assert summary.loc[kpi, "events"] == row["events"]
        assert Decimal(str(summary.loc[kpi, "amount_sum"])) == Decimal(row["amount_sum"])
    raw_cost = sum(Decimal(r["effective_cost"]) for r in generated.query(
        "bench/raw_cost_by_tenant", start=START, end=END))  # fmt: skip
    allocated = attributed_costs(generated, date(2026, 1, 1), date(2026, 1, 4))
    assert sum(allocated["effective_cost"], Decimal(0)) == raw_cost


def test_lookup_matches_raw_scan(generated: Store) -> None:
    raw = generated.query("bench/raw_correlation", correlation_id="corr-97")
    keys = generated.query("correlation/resolve", kind="correlation", key="corr-97",
                           all_tenants=1, tenants=[])  # fmt: skip
    assert {r["trace_id"] for r in raw} == {k["trace_id"] for k in keys if k["trace_id"]}


def test_every_query_declares_its_columns() -> None:
    for query in all_queries().values():
        if query.returns != "nothing":
            assert query.columns, query.name
    assert get_query("correlation/kpi_events").columns[4] == "amount"  # Nullable(Decimal(18, 4))
