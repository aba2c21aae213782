from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from models.costs import attributed_costs
from models.db import Store
from models.pricing import parse_price_list
from models.usage_costs import UsageCostJob, record_usage_costs
from tests.builders import run

PRICES = parse_price_list(
    'currency = "USD"\n[prices.payments-api]\nper_call = "0.10"\nper_compute_second = "1"\n'
)
DAY = date(2026, 3, 2)


def test_usage_costs_are_priced_and_idempotent(store: Store) -> None:
    run(store, datetime(2026, 3, 2, 9), "refund", tenant="acme",
        calls=[("payments-api", 500.0), ("payments-api", 250.0), ("unpriced", 10.0)])  # fmt: skip
    first = record_usage_costs(store, DAY, PRICES)
    assert first.rows == 1
    assert first.billed_total == {"USD": Decimal("0.95")}  # 2 x 0.10 + 0.75 s x 1
    again = record_usage_costs(store, DAY, PRICES)
    assert again.rows == 0
    frame = attributed_costs(store, DAY, date(2026, 3, 3), by="workflow")
    row = frame.iloc[0]
    assert (row["workflow"], row["allocation_method"]) == ("refund", "usage")
    assert row["billed_cost"] == Decimal("0.95")


def test_job_runs_a_cycle_and_stops(store: Store) -> None:
    run(store, datetime(2026, 3, 2, 9), "refund", calls=[("payments-api", 1000.0)])
    job = UsageCostJob(store, PRICES, interval=3600, today=lambda: date(2026, 3, 3))
    job.start()
    assert job.cycle_done.wait(60)
    job.stop(5)
    frame = attributed_costs(store, DAY, date(2026, 3, 4), by="tenant")
    assert sum(frame["billed_cost"], Decimal(0)) == Decimal("1.1")
