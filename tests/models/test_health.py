from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from models.db import Store
from models.health import gauges, health_summary, health_timeseries, slo_status
from tests.builders import gauge, module_store, run

T0 = datetime(2026, 3, 2, 10, 0)
T1 = T0 + timedelta(hours=2)


@pytest.fixture(scope="module")
def seeded(engine_dsn: str) -> Store:
    store = module_store(engine_dsn)
    for i in range(8):
        run(store, T0 + timedelta(minutes=i), "order-to-cash", duration_ms=100.0 * (i + 1),
            steps=[("charge", "retry", 50.0), ("charge", "ok", 40.0)])  # fmt: skip
    run(store, T0 + timedelta(minutes=9), "order-to-cash", outcome="failed")
    run(store, T0 + timedelta(minutes=10), "order-to-cash", outcome="dead_lettered")
    run(store, T0 + timedelta(minutes=11), "refund", tenant="globex")
    run(store, T0 - timedelta(hours=1), "refund", tenant="globex")  # outside the range
    return store


def test_summary_by_workflow_counts_runs_errors_and_dead_letters(seeded: Store) -> None:
    frame = health_summary(seeded, T0, T1).set_index("key")
    assert set(frame.index) == {"order-to-cash", "refund"}
    otc = frame.loc["order-to-cash"]
    assert otc["spans"] == 10
    assert otc["errors"] == 2
    assert otc["error_rate"] == pytest.approx(0.2)
    assert otc["dead_letters"] == 1
    assert otc["throughput_per_min"] == pytest.approx(10 / 120)
    assert 100 <= otc["p50_ms"] <= 1000
    assert otc["p99_ms"] >= otc["p95_ms"] >= otc["p50_ms"]
    assert frame.loc["refund"]["spans"] == 1


def test_summary_by_step_counts_retries(seeded: Store) -> None:
    frame = health_summary(seeded, T0, T1, by="step").set_index("key")
    charge = frame.loc["charge"]
    assert charge["spans"] == 16
    assert charge["retries"] == 8
    assert charge["retry_rate"] == pytest.approx(0.5)
    assert charge["errors"] == 8


def test_tenant_restriction_applies(seeded: Store) -> None:
    only_globex = health_summary(seeded, T0, T1, tenants=["globex"])
    assert list(only_globex["key"]) == ["refund"]
    assert health_summary(seeded, T0, T1, tenants=[]).empty


def test_timeseries_buckets(seeded: Store) -> None:
    frame = health_timeseries(seeded, T0, T1, bucket_minutes=5, workflow="order-to-cash")
    assert list(frame["spans"]) == [5, 4, 1]
    assert list(frame["errors"]) == [0, 1, 1]


def test_gauges_latest_value_per_label(store: Store) -> None:
    gauge(store, T0, "flowmeter.dlq.depth", 3, {"workflow.name": "refund"})
    gauge(store, T0 + timedelta(minutes=1), "flowmeter.dlq.depth", 5, {"workflow.name": "refund"})
    gauge(store, T0, "flowmeter.breaker.state", 2, {"breaker.name": "erp"})
    frame = gauges(store, T0, T1)
    depth = frame[frame["metric"] == "flowmeter.dlq.depth"].iloc[0]
    assert (depth["label"], depth["value"]) == ("refund", 5)
    assert frame[frame["metric"] == "flowmeter.breaker.state"].iloc[0]["value"] == 2


def test_slo_burn(seeded: Store) -> None:
    frame = slo_status(health_summary(seeded, T0, T1), success_target=0.9, p95_target_ms=10_000)
    otc = frame.set_index("key").loc["order-to-cash"]
    assert otc["error_budget_burn"] == pytest.approx(2.0)
    assert not otc["slo_met"]
    assert otc["latency_slo_met"]


@pytest.mark.parametrize("hours", [2, 12, 24 * 5])  # minute, hourly and daily rollups
def test_product_line_filter_at_every_resolution(store: Store, hours: int) -> None:
    start = datetime(2026, 3, 2)
    run(store, start + timedelta(hours=1), "order-to-cash", product_line="retail")
    run(store, start + timedelta(hours=1), "order-to-cash", product_line="retail")
    run(store, start + timedelta(hours=1), "order-to-cash", product_line="wholesale")
    end = start + timedelta(hours=hours)
    for line, expected in (("", 3), ("retail", 2), ("wholesale", 1), ("none", 0)):
        summary = health_summary(store, start, end, product_line=line)
        assert int(summary["spans"].sum()) == expected, (hours, line)
        bucket = {2: 5, 12: 60, 120: 1440}[hours]
        series = health_timeseries(store, start, end, bucket_minutes=bucket, product_line=line)
        assert int(series["spans"].sum()) == expected, (hours, line)
