from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from models.db import Store
from models.kpis import kpi_series, kpi_summary, sla_met_percent
from tests.builders import kpi_event, module_store

T0 = datetime(2026, 3, 2, 0, 0)


@pytest.fixture(scope="module")
def seeded(engine_dsn: str) -> Store:
    store = module_store(engine_dsn)
    # previous day: 2 orders; current day: 3 orders, 2 refunds prevented, SLA 3 met 1 missed
    for hour in (1, 5):
        kpi_event(store, T0 - timedelta(days=1) + timedelta(hours=hour), "order_advanced")
    for hour in (1, 1, 7):
        kpi_event(store, T0 + timedelta(hours=hour), "order_advanced")
    for amount in ("10.50", "4.25"):
        kpi_event(store, T0 + timedelta(hours=2), "refund_prevented", amount=Decimal(amount),
                  currency="EUR", tenant="globex")  # fmt: skip
    for name in ("sla_met", "sla_met", "sla_met", "sla_missed"):
        kpi_event(store, T0 + timedelta(hours=3), name)
    return store


def test_series_per_hour(seeded: Store) -> None:
    frame = kpi_series(seeded, T0, T0 + timedelta(days=1))
    orders = frame[frame["kpi"] == "order_advanced"]
    assert list(orders["events"]) == [2, 1]
    assert [b.hour for b in orders["bucket"]] == [1, 7]


def test_series_per_day_and_money(seeded: Store) -> None:
    frame = kpi_series(seeded, T0, T0 + timedelta(days=1), bucket="day")
    refunds = frame[frame["kpi"] == "refund_prevented"].iloc[0]
    assert refunds["events"] == 2
    assert Decimal(str(refunds["amount_sum"])) == Decimal("14.75")
    assert refunds["currency"] == "EUR"


def test_summary_deviation_from_previous_period(seeded: Store) -> None:
    summary = kpi_summary(seeded, T0, T0 + timedelta(days=1)).set_index("kpi")
    assert summary.loc["order_advanced", "events"] == 3
    assert summary.loc["order_advanced", "previous_events"] == 2
    assert summary.loc["order_advanced", "events_change_pct"] == pytest.approx(50.0)
    assert pd.isna(summary.loc["sla_met", "events_change_pct"])
    assert sla_met_percent(summary.reset_index()) == pytest.approx(75.0)


def test_tenant_restriction(seeded: Store) -> None:
    summary = kpi_summary(seeded, T0, T0 + timedelta(days=1), tenants=["globex"])
    assert list(summary["kpi"]) == ["refund_prevented"]
