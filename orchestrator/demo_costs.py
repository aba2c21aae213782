"""Demo cost data: a usage price list priced against the backfilled spans, and a FOCUS bill.

After the demo backfill, every simulated day gets (1) usage-priced cost records from the
spans' external calls (``<data dir>/demo-pricing.toml``) and (2) a small seeded FOCUS 1.2
cloud bill (``<data dir>/demo-focus.csv``): tagged compute / database / storage lines per
tenant, product line and workflow, ``shared=true`` platform lines that the analytics layer
allocates, and a few untagged lines that stay visibly unallocated. Currency EUR.
"""

from __future__ import annotations

import csv
import json
import logging
import random
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from models.costs import import_cost_file
from models.db import Store
from models.pricing import parse_price_list
from models.settings import Settings
from models.usage_costs import record_usage_costs
from orchestrator.flows import catalog

__all__ = ["DEMO_ACCOUNT", "PRICE_LIST", "demo_days", "focus_rows", "record_demo_costs"]

logger = logging.getLogger(__name__)

DEMO_ACCOUNT = "demo-cloud-4711"
PRICE_LIST = """\
# Demo usage prices (EUR) per external call and per second those calls took.
currency = "EUR"

[prices.payments-api]
per_call = "0.045"
per_compute_second = "0.002"

[prices.erp]
per_call = "0.030"
per_compute_second = "0.004"

[prices.crm]
per_call = "0.020"
per_compute_second = "0.002"

[prices.email]
per_call = "0.004"

[prices.shipping]
per_call = "0.060"
per_compute_second = "0.001"
"""
# workflow -> EUR per weekday of compute for the whole workflow (split over tenants)
COMPUTE = {"order_to_cash": 24.0, "invoice_generation": 14.0, "refund_handling": 6.0,
           "lead_qualification": 9.0}  # fmt: skip
TENANT_SHARE = {"acme": 0.5, "globex": 0.3, "initech": 0.2}
HEADER = [
    "BillingAccountId", "BillingAccountName", "BillingCurrency", "BillingPeriodStart",
    "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd", "ChargeCategory",
    "ChargeDescription", "BilledCost", "EffectiveCost", "ListCost", "ContractedCost",
    "PricingQuantity", "PricingUnit", "ProviderName", "PublisherName", "InvoiceIssuerName",
    "ServiceName", "ServiceCategory", "RegionId", "ResourceId", "Tags",
]  # fmt: skip


def demo_days(start: float, end: float) -> list[date]:
    """The UTC calendar days the simulated window [start, end) touches."""
    first = datetime.fromtimestamp(start, UTC).date()
    last = datetime.fromtimestamp(end, UTC).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _month(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, 1)
    end = datetime(day.year + day.month // 12, day.month % 12 + 1, 1)
    return start, end


def _money(amount: float) -> str:
    return str(Decimal(str(round(amount, 4))))


def _line(
    rng: random.Random, day: date, service: str, category: str, description: str,
    amount: float, quantity: float, unit: str, resource: str, tags: dict[str, str],
) -> dict[str, str]:  # fmt: skip
    period_start, period_end = _month(day)
    charge_start = datetime.combine(day, datetime.min.time())
    cost = _money(amount * rng.uniform(0.9, 1.1))
    return {
        "BillingAccountId": DEMO_ACCOUNT, "BillingAccountName": "Flowmeter demo cloud",
        "BillingCurrency": "EUR", "BillingPeriodStart": _iso(period_start),
        "BillingPeriodEnd": _iso(period_end), "ChargePeriodStart": _iso(charge_start),
        "ChargePeriodEnd": _iso(charge_start + timedelta(days=1)),
        "ChargeCategory": "Usage", "ChargeDescription": description,
        "BilledCost": cost, "EffectiveCost": cost,
        "ListCost": _money(float(cost) * 1.18), "ContractedCost": cost,
        "PricingQuantity": _money(quantity), "PricingUnit": unit,
        "ProviderName": "DemoCloud", "PublisherName": "DemoCloud",
        "InvoiceIssuerName": "DemoCloud", "ServiceName": service,
        "ServiceCategory": category, "RegionId": "eu-central-1",
        "ResourceId": resource, "Tags": json.dumps(tags, sort_keys=True) if tags else "",
    }  # fmt: skip


def focus_rows(
    days: list[date], seed: int, tag_keys: tuple[str, ...] = ("tenant", "product_line", "workflow")
) -> list[dict[str, str]]:
    """The demo's FOCUS 1.2 cloud bill for ``days`` (one dict per CSV line, seeded); tags under ``tag_keys``."""
    tenant_key, line_key, workflow_key = tag_keys
    rng = random.Random(seed + 4711)
    lines = list(catalog.PRODUCT_LINES)
    rows: list[dict[str, str]] = []
    for day in days:
        load = 0.45 if day.weekday() >= 5 else 1.0
        for workflow, daily in COMPUTE.items():
            for tenant, share in TENANT_SHARE.items():
                tags = {tenant_key: tenant, line_key: rng.choice(lines), workflow_key: workflow}
                hours = 24 * share * load * (2 if workflow == "order_to_cash" else 1)
                rows.append(_line(rng, day, "Compute Engine", "Compute",
                                  f"{workflow} workers ({tenant})", daily * share * load, hours,
                                  "Hours", f"vm/{workflow}-{tenant}", tags))  # fmt: skip
        for tenant, share in TENANT_SHARE.items():
            workflow = "order_to_cash" if day.toordinal() % 2 else "invoice_generation"
            tags = {tenant_key: tenant, line_key: rng.choice(lines), workflow_key: workflow}
            rows.append(_line(rng, day, "Managed PostgreSQL", "Databases",
                              f"tenant database ({tenant})", 16.0 * share, 24, "Hours",
                              f"db/{tenant}", tags))  # fmt: skip
            rows.append(_line(rng, day, "Object Storage", "Storage",
                              f"documents and invoices ({tenant})", 2.5 * share, 180 * share,
                              "GB-Month", f"bucket/{tenant}-docs", tags))  # fmt: skip
        shared = {"shared": "true"}
        rows.append(_line(rng, day, "Message Queue", "Integration", "shared event bus",
                          7.0 * load, 1.2e6 * load, "Requests", "mq/flowmeter-bus", shared))  # fmt: skip
        rows.append(_line(rng, day, "Kubernetes", "Compute",
                          "shared platform cluster (control plane, ingress)", 9.0, 24, "Hours",
                          "k8s/platform", shared))  # fmt: skip
        rows.append(_line(rng, day, "Support", "Management and Governance",
                          "business support plan", 3.2, 1, "Days", "", {}))  # fmt: skip
        rows.append(_line(rng, day, "Data Transfer", "Networking", "egress to the internet",
                          1.5 * load, 40 * load, "GB", "", {}))  # fmt: skip
    return rows


def _write_focus(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(rows)


def record_demo_costs(
    settings: Settings, store: Store, *, start: float, end: float, seed: int
) -> dict[str, int]:
    """Write and apply the demo price list and FOCUS bill for the window; row counts stored."""
    days = demo_days(start, end)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    pricing_path = settings.data_dir / "demo-pricing.toml"
    pricing_path.write_text(PRICE_LIST, encoding="utf-8")
    prices = parse_price_list(PRICE_LIST, str(pricing_path))
    usage_rows = sum(record_usage_costs(store, day, prices).rows for day in days)
    focus_path = settings.data_dir / "demo-focus.csv"
    _write_focus(focus_path, focus_rows(days, seed, settings.cost_tag_keys))
    result = import_cost_file(store, focus_path, tag_keys=settings.cost_tag_keys)
    logger.info("demo costs: %d usage rows, %d FOCUS rows (%s)", usage_rows, result.rows,
                focus_path)  # fmt: skip
    return {"usage_cost_rows": usage_rows, "focus_cost_rows": result.rows}
