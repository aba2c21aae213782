"""A small, known world for dashboard tests: two tenants, runs, KPI events, dead letters.

Tenant B's numbers are deliberately distinctive (invoices of 2,500.00 EUR) so a test can
assert that a user of tenant A never sees them anywhere on a page.
"""

from __future__ import annotations

import csv
import json
import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from models.baselines import set_baseline
from models.costs import import_cost_file
from models.db import Store
from orchestrator.demo_catalog import save_demo_catalog
from tests.builders import gauge, kpi_event, log_event, run

FOCUS_HEADER = [
    "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListCost",
    "ContractedCost", "ChargeCategory", "ServiceName", "ProviderName", "Tags",
]  # fmt: skip
TENANT_B_COST = Decimal("1234.56")  # distinctive: must never show for a tenant-a user


@dataclass(frozen=True)
class World:
    """What was seeded, for assertions."""

    now: datetime
    dead_correlation: str
    dead_trace: str
    dead_entity: str
    failed_trace: str


def seed(store: Store) -> World:
    """Insert runs, KPI events, dlq log events and gauges over the last two days."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    base = now - timedelta(hours=30)
    for i in range(6):
        trace = run(
            store, base + timedelta(hours=i), "order-to-cash", tenant="tenant-a",
            correlation=f"corr-a-{i}", entity=f"ORD-{i}",
            steps=[("reserve", "ok", 120.0), ("charge", "ok", 300.0)],
            calls=[("payments-api", 250.0)],
        )  # fmt: skip
        kpi_event(store, base + timedelta(hours=i, seconds=2), "order_advanced",
                  amount=Decimal("100.00"), currency="EUR", tenant="tenant-a",
                  correlation=f"corr-a-{i}", entity=f"ORD-{i}", trace_id=trace)  # fmt: skip
        kpi_event(store, base + timedelta(hours=i, seconds=3), "sla_met", tenant="tenant-a")
    failed_trace = run(
        store, base + timedelta(hours=7), "order-to-cash", tenant="tenant-a", outcome="failed",
        correlation="corr-a-failed", entity="ORD-900",
        steps=[("charge", "retry", 900.0), ("charge", "failed", 950.0)],
    )  # fmt: skip
    kpi_event(store, base + timedelta(hours=7), "sla_missed", tenant="tenant-a")
    dead_trace = run(
        store, base + timedelta(hours=8), "order-to-cash", tenant="tenant-a",
        outcome="dead_lettered", correlation="corr-dead-1", entity="ORD-1001",
        steps=[("charge", "retry", 800.0), ("charge", "failed", 810.0)],
    )  # fmt: skip
    log_event(store, base + timedelta(hours=8, seconds=1), "dlq.quarantined",
              {"dlq.id": "1", "dlq.reason": "retries_exhausted", "correlation.id": "corr-dead-1",
               "workflow.name": "order-to-cash", "tenant.id": "tenant-a"}, dead_trace)  # fmt: skip
    for i in range(4):
        trace = run(
            store, base + timedelta(hours=i, minutes=30), "invoice", tenant="tenant-b",
            product_line="wholesale", correlation=f"corr-b-{i}", entity=f"INV-{i}",
            steps=[("post", "ok", 200.0)],
        )  # fmt: skip
        kpi_event(store, base + timedelta(hours=i, minutes=30), "invoice_posted",
                  amount=Decimal("2500.00"), currency="EUR", tenant="tenant-b",
                  workflow="invoice", correlation=f"corr-b-{i}", trace_id=trace)  # fmt: skip
    gauge(store, now - timedelta(minutes=5), "flowmeter.dlq.depth", 1.0,
          {"workflow.name": "order-to-cash"})  # fmt: skip
    gauge(store, now - timedelta(minutes=5), "flowmeter.breaker.state", 2.0,
          {"breaker.name": "payments-api"})  # fmt: skip
    gauge(store, now - timedelta(minutes=5), "flowmeter.queue.lag", 4.5, {"queue": "default"})
    for workflow, minutes in (("order-to-cash", "12"), ("invoice", "20")):
        set_baseline(
            store, workflow, manual_minutes=Decimal(minutes), hourly_rate=Decimal("60"),
            manual_error_rate=Decimal("0.02"), cost_per_error=Decimal("50"), currency="EUR",
            reason="initial time study", changed_by="seed",
            effective_from=now - timedelta(days=60), go_live_at=now - timedelta(days=20),
        )  # fmt: skip
    seed_costs(store, (now - timedelta(hours=30)).date())
    save_demo_catalog(store)  # as `flowmeter demo` does: the Business outcomes tiles
    return World(now, "corr-dead-1", dead_trace, "ORD-1001", failed_trace)


def seed_costs(store: Store, day: date) -> None:
    """FOCUS rows for one day: tenant A, tenant B, and a shared platform line."""
    period = day.replace(day=1)
    next_period = (period + timedelta(days=32)).replace(day=1)
    rows = [
        ("40.00", {"tenant": "tenant-a", "workflow": "order-to-cash", "product_line": "retail"}),
        (str(TENANT_B_COST), {"tenant": "tenant-b", "workflow": "invoice",
                              "product_line": "wholesale"}),
        ("50.00", {"shared": "true"}),
    ]  # fmt: skip
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "focus.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(FOCUS_HEADER)
            for cost, tags in rows:
                writer.writerow([
                    "acct-1", "EUR", f"{period}T00:00:00Z", f"{next_period}T00:00:00Z",
                    f"{day}T00:00:00Z", f"{day}T23:00:00Z", cost, cost, cost, cost, "Usage",
                    "Compute", "AWS", json.dumps(tags),
                ])  # fmt: skip
        import_cost_file(store, path, tag_keys=("tenant", "product_line", "workflow"))


@dataclass(frozen=True)
class EngineWorld:
    """Dead letters and approvals created by the real engine."""

    dead_letter_a: int  # tenant-a, retries exhausted (payload carries an e-mail)
    dead_letter_b: int  # tenant-b, poison
    waiting_run: str  # tenant-a, waiting for approval


def seed_engine(dsn: str) -> EngineWorld:
    """Run the sample flows on the engine until they dead-letter or wait for approval."""
    from orchestrator.api import OrchestratorAPI
    from orchestrator.clock import VirtualClock
    from orchestrator.engine import Engine
    from orchestrator.state import open_store
    from tests.orchestrator import sample_flows

    clock = VirtualClock(start=datetime.now(UTC).timestamp() - 3600)
    engine = Engine(open_store(dsn), clock=clock, seed=3)
    try:
        sample_flows.failures["pay_refund"] = 2
        failing = engine.submit("refund_flow", {"id": "r-a", "amount": 12,
                                "customer_email": "ann@example.com"},
                                tenant_id="tenant-a", correlation_id="corr-dead-1")  # fmt: skip
        engine.submit("refund_flow", {"id": "r-b", "amount": "lots"}, tenant_id="tenant-b",
                      correlation_id="corr-b-poison")  # fmt: skip
        waiting = engine.submit("approval_flow", {}, tenant_id="tenant-a")
        for _ in range(50):
            if engine.run_once("seed") is not None:
                continue
            upcoming = engine.store.next_ready_at()
            if upcoming is None or upcoming > clock.now() + 600:
                break
            clock.set(upcoming)
        letters = {d["run_id"]: d["id"] for d in OrchestratorAPI(engine.store).dead_letters()}
        poison = next(i for run_id, i in letters.items() if run_id != failing)
        assert waiting is not None and failing is not None
        return EngineWorld(letters[failing], poison, waiting)
    finally:
        sample_flows.failures.clear()
        engine.close()
