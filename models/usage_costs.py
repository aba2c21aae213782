"""Usage-priced costs: span usage per day x the price list -> ``cost_records`` rows.

Each day is one billing slice of the account ``flowmeter-usage`` (billing period = that day),
written through the same replace-the-slice path as FOCUS imports, so running the job twice
for a day changes nothing and a rerun after late spans corrects it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pandas as pd

from models.costs import ImportResult, store_cost_rows
from models.db import Store
from models.focus import CostRows
from models.pricing import PriceList, price_usage

__all__ = ["USAGE_ACCOUNT", "UsageCostJob", "record_usage_costs", "usage_cost_rows"]

logger = logging.getLogger(__name__)

USAGE_ACCOUNT = "flowmeter-usage"


def usage_cost_rows(usage: pd.DataFrame, prices: PriceList, day: date) -> CostRows | None:
    """Priced cost_records rows for one day's usage (tenant, product_line, workflow, dependency, calls, compute_seconds); None when nothing is priced."""
    priced = price_usage(usage, prices)
    priced = priced[[dep in prices.prices for dep in priced["dependency"]]]
    if priced.empty:
        return None
    start = datetime.combine(day, datetime.min.time())
    end = start + timedelta(days=1)
    columns: dict[str, list[object]] = {}
    for row in priced.to_dict("records"):
        cost = Decimal(row["cost"])
        tags = {k: str(row[c]) for k, c in (("tenant", "tenant"), ("product_line", "product_line"),
                                             ("workflow", "workflow"), ("dependency", "dependency")) if row[c]}  # fmt: skip
        values = {
            "BillingAccountId": USAGE_ACCOUNT, "BillingCurrency": prices.currency,
            "BillingPeriodStart": start, "BillingPeriodEnd": end,
            "ChargePeriodStart": start, "ChargePeriodEnd": end,
            "BilledCost": cost, "EffectiveCost": cost, "ListCost": cost, "ContractedCost": cost,
            "PricingQuantity": Decimal(int(row["calls"])), "PricingUnit": "calls",
            "ConsumedQuantity": Decimal(str(round(float(row["compute_seconds"]), 6))),
            "ConsumedUnit": "seconds", "ChargeCategory": "Usage", "ServiceName": row["dependency"],
            "ServiceCategory": "Other", "ProviderName": "flowmeter", "PublisherName": "flowmeter",
            "InvoiceIssuerName": "flowmeter", "Tags": tags,
            "x_tenant": row["tenant"], "x_product_line": row["product_line"],
            "x_workflow": row["workflow"], "x_allocation_method": "usage",
            "x_row_id": f"{day.isoformat()}|{row['tenant']}|{row['product_line']}|{row['workflow']}|{row['dependency']}|{cost}",
            "x_source": f"usage:{day.isoformat()}",
        }  # fmt: skip
        for key, value in values.items():
            columns.setdefault(key, []).append(value)
    return CostRows(columns, [(USAGE_ACCOUNT, start)])


def record_usage_costs(store: Store, day: date, prices: PriceList) -> ImportResult:
    """Price one day's span usage from the rollup and store it as usage cost records (idempotent)."""
    usage = store.query_df("costs/usage_by_day", day=day)
    rows = usage_cost_rows(usage, prices, day) if not usage.empty else None
    if rows is None:
        return ImportResult()
    return store_cost_rows(store, rows)


class UsageCostJob:
    """Re-prices yesterday and today every ``interval`` seconds (a Service for ``flowmeter up``)."""

    name = "usage-costs"

    def __init__(
        self,
        store: Store,
        prices: PriceList,
        *,
        interval: float = 3600.0,
        today: Callable[[], date] = lambda: datetime.now(UTC).date(),
    ) -> None:
        self._store = store
        self._prices = prices
        self._interval = interval
        self._today = today
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.cycles = 0
        self.cycle_done = threading.Event()

    def run_once(self) -> None:
        """Price yesterday (now complete) and today (so far)."""
        today = self._today()
        for day in (today - timedelta(days=1), today):
            result = record_usage_costs(self._store, day, self._prices)
            logger.info("usage costs for %s: %d rows", day, result.rows)
        self.cycles += 1
        self.cycle_done.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                logger.exception("the usage-cost job failed; it retries next cycle")
            self._stop.wait(self._interval)

    def start(self) -> None:
        """Start the background thread."""
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float) -> None:
        """Stop after the current cycle."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
