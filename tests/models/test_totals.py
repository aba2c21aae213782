"""Totals over the frames models/ returns: the numbers on the dashboard's tiles."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pandas as pd

from models.totals import (
    cost_totals,
    gauge_totals,
    health_totals,
    kpi_headlines,
    roi_by_day,
    roi_totals,
)

START, END = datetime(2026, 11, 1), datetime(2026, 11, 2)


def test_health_totals_sum_counts_and_derive_rates() -> None:
    summary = pd.DataFrame({"spans": [80, 20], "errors": [8, 0], "retries": [4, 1],
                            "dead_letters": [2, 0], "p95_ms": [900.0, 1500.0]})  # fmt: skip
    totals = health_totals(summary, START, END)
    assert (totals.spans, totals.errors, totals.dead_letters) == (100, 8, 2)
    assert totals.error_rate == 0.08 and totals.retry_rate == 0.05
    assert totals.throughput_per_min == 100 / 1440
    assert totals.worst_p95_ms == 1500.0
    assert health_totals(summary.iloc[0:0], START, END).error_rate == 0.0


def _report(rows: list[tuple[str, int | None, str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame([
        {"workflow": w, "baseline_version": v, "currency": c, "volume": 10, "excluded_runs": 1,
         "hours_saved": Decimal("2"), "manual_cost_avoided": Decimal(avoided),
         "platform_cost": Decimal(platform), "net_savings": Decimal(avoided) - Decimal(platform),
         "estimated_savings": Decimal(avoided), "actual_savings": Decimal(avoided)}
        for w, v, c, avoided, platform in rows
    ])  # fmt: skip


def test_roi_totals_follow_the_roi_definition_and_name_the_baselines() -> None:
    report = _report([("invoice", 2, "EUR", "300", "100"), ("order", 1, "EUR", "100", "100"),
                      ("order", 2, "EUR", "50", "50")])  # fmt: skip
    totals = roi_totals(report)
    assert totals.net_savings == Decimal("200")
    assert totals.platform_cost == Decimal("250")
    assert totals.roi_percent == Decimal("80")  # 200 / 250 x 100
    assert totals.savings_multiple == Decimal("1.8")
    assert totals.volume == 30 and totals.excluded_runs == 3
    assert totals.baselines == ("invoice v2", "order v1", "order v2")


def test_roi_totals_never_add_currencies() -> None:
    report = _report([("a", 1, "EUR", "300", "100"), ("b", 1, "USD", "50", "10")])
    totals = roi_totals(report)
    assert (totals.currency, totals.currencies) == ("EUR", ("EUR", "USD"))
    assert totals.net_savings == Decimal("200")
    zero = roi_totals(_report([("a", 1, "EUR", "10", "0")]))
    assert zero.roi_percent is None and zero.savings_multiple is None


def test_roi_by_day_sums_workflows_and_accumulates() -> None:
    daily = pd.DataFrame({"day": ["d1", "d1", "d2"], "manual_cost_avoided": [10, 5, 7],
                          "platform_cost": [1, 1, 10], "net_savings": [9, 4, -3]})  # fmt: skip
    by_day = roi_by_day(daily)
    assert list(by_day["net_savings"]) == [Decimal(13), Decimal(-3)]
    assert list(by_day["cumulative_net"]) == [Decimal(13), Decimal(10)]


def test_kpi_headlines() -> None:
    summary = pd.DataFrame({
        "kpi": ["order_advanced", "sla_met", "sla_missed", "refund_prevented"],
        "currency": ["", "", "", "EUR"], "events": [48, 9, 1, 2], "previous_events": [24, 0, 0, 0],
        "amount_sum": [None, None, None, Decimal("80.50")], "previous_amount_sum": [None] * 4,
    })  # fmt: skip
    now = kpi_headlines(summary, START, END)
    assert now.orders_per_hour == 2.0 and now.orders_advanced == 48
    assert now.sla_met_percent == 90.0
    assert (now.refunds_prevented_amount, now.refund_currency) == (Decimal("80.50"), "EUR")
    before = kpi_headlines(summary, START, END, previous=True)
    assert before.orders_advanced == 24 and before.sla_met_percent is None


def test_cost_totals_split_direct_shared_and_unallocated() -> None:
    frame = pd.DataFrame({
        "tenant": ["a", "a", "b", ""], "currency": ["EUR"] * 4,
        "allocation_method": ["tag", "shared:even", "shared:even", "unallocated"],
        "billed_cost": [Decimal("10"), Decimal("5"), Decimal("5"), Decimal("3")],
        "effective_cost": [Decimal("9"), Decimal("5"), Decimal("5"), Decimal("3")],
    })  # fmt: skip
    totals = cost_totals(frame)
    assert totals.effective_cost == Decimal("22") and totals.billed_cost == Decimal("23")
    assert (totals.direct_cost, totals.shared_allocated, totals.unallocated) == (
        Decimal("9"), Decimal("10"), Decimal("3")
    )  # fmt: skip


def test_gauge_totals() -> None:
    gauges = pd.DataFrame({
        "metric": ["flowmeter.dlq.depth", "flowmeter.dlq.depth", "flowmeter.queue.lag",
                   "flowmeter.breaker.state", "flowmeter.breaker.state"],
        "value": [2.0, 3.0, 4.5, 2.0, 1.0],
    })  # fmt: skip
    totals = gauge_totals(gauges)
    assert (totals.dlq_depth, totals.queue_lag_seconds, totals.open_breakers) == (5.0, 4.5, 1)
    assert gauge_totals(gauges.iloc[0:0]).queue_lag_seconds is None
