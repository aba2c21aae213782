"""``flowmeter demo``: the same engine and flows, driven by a virtual clock over past days.

Arrivals follow a daily rhythm per workflow, tenant and product line; before a workflow's
go-live its runs are ``run.mode=manual`` with human cycle times and error rates. One ERP
outage opens the ERP circuit breaker and fills the dead-letter queue. Telemetry leaves
through the injected exporters at the simulated timestamps.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from models.db import Store
from models.settings import Settings
from orchestrator.api import OrchestratorAPI
from orchestrator.clock import VirtualClock
from orchestrator.demo_catalog import save_demo_catalog
from orchestrator.demo_costs import record_demo_costs
from orchestrator.engine import Engine
from orchestrator.flows import catalog
from orchestrator.flows.systems import SYSTEMS, default_systems
from orchestrator.service import publish_gauges
from orchestrator.state import store_from_settings
from orchestrator.telemetry import Telemetry

__all__ = ["BASELINES", "DAILY_RUNS", "GO_LIVE_DAY", "DemoPlan", "backfill", "write_baselines"]

logger = logging.getLogger(__name__)

DAY = 86400.0
GAUGE_TICK = 3600.0  # simulated seconds between metric samples of the backfill
DAILY_RUNS = {"order_to_cash": 36, "invoice_generation": 28, "refund_handling": 12,
              "lead_qualification": 24}  # fmt: skip
GO_LIVE_DAY = {"order_to_cash": 5, "invoice_generation": 4, "refund_handling": 7,
               "lead_qualification": 3}  # fmt: skip
# workflow -> (manual minutes, hourly rate, manual error rate, cost per error)
BASELINES = {
    "order_to_cash": ("14", "38", "0.045", "85"),
    "invoice_generation": ("9", "34", "0.030", "60"),
    "refund_handling": ("12", "36", "0.050", "40"),
    "lead_qualification": ("7", "42", "0.080", "25"),
}


@dataclass(frozen=True)
class DemoPlan:
    """The simulated window."""

    start: float
    end: float
    seed: int

    def go_live(self, workflow: str) -> float:
        """When ``workflow`` went from manual to automated."""
        days = min(GO_LIVE_DAY[workflow], max(1, int((self.end - self.start) / DAY) // 2))
        return self.start + days * DAY

    def outage(self) -> tuple[float, float]:
        """The ERP outage: 10:00-12:00 UTC on the weekday nearest to three days before the end."""
        first = math.ceil(self.start / DAY) * DAY
        days = [first + n * DAY for n in range(int((self.end - first) // DAY) + 1)]
        days = [d for d in days if d + 12 * 3600 <= self.end] or [first]
        weekdays = [d for d in days if int(d // DAY + 4) % 7 < 5] or days
        day = min(weekdays, key=lambda d: abs(d - (self.end - 3 * DAY)))
        return day + 10 * 3600, day + 12 * 3600


def write_baselines(store: Store, plan: DemoPlan) -> int:
    """One ROI baseline version per workflow (changed_by='demo') with its go-live date."""
    rows = []
    for workflow, (minutes, rate, error_rate, cost) in BASELINES.items():
        rows.append([workflow, 1, _dt(plan.start), Decimal(minutes), Decimal(rate), "EUR",
                     Decimal(error_rate), Decimal(cost), _dt(plan.go_live(workflow)), "demo",
                     "demo baseline: time study of the manual process"])  # fmt: skip
    store.insert("roi_baselines", rows, ["workflow", "version", "effective_from",
                 "manual_minutes", "hourly_rate", "currency", "manual_error_rate",
                 "cost_per_error", "go_live_at", "changed_by", "reason"])  # fmt: skip
    return len(rows)


def _dt(ts: float) -> Any:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ts, UTC)


def _arrivals(plan: DemoPlan) -> list[tuple[float, str, str, str, bool]]:
    """(time, workflow, tenant, product line, manual) for every simulated run."""
    rng = random.Random(plan.seed)
    out = []
    day = plan.start
    while day < plan.end:
        weekday = int(day // DAY + 4) % 7  # 1970-01-01 was a Thursday
        volume = 0.35 if weekday >= 5 else 1.0
        for workflow, per_day in DAILY_RUNS.items():
            for _ in range(int(rng.gauss(per_day * volume, per_day * 0.1))):
                hour = min(23.99, max(0.0, rng.gauss(13.0, 3.5)))  # business hours rhythm
                at = day + hour * 3600 + rng.random() * 60
                if at >= plan.end:
                    continue
                tenant = rng.choices(list(catalog.TENANTS), weights=[5, 3, 2])[0]
                line = rng.choices(list(catalog.PRODUCT_LINES), weights=[4, 3, 2])[0]
                out.append((at, workflow, tenant, line, at < plan.go_live(workflow)))
        day += DAY
    return sorted(out)


def backfill(
    engine: Engine, clock: VirtualClock, plan: DemoPlan,
    progress: Callable[[float], None] | None = None,
) -> dict[str, int]:  # fmt: skip
    """Submit every arrival, then execute runs in virtual-time order until ``plan.end``."""
    SYSTEMS.update(default_systems(plan.seed))
    SYSTEMS["erp"].outages = [plan.outage()]
    rng = random.Random(plan.seed + 1)
    arrivals = _arrivals(plan)
    with engine.store.tx() as conn:
        for n, (at, workflow, tenant, line, manual) in enumerate(arrivals):
            payload = catalog.make_payload(workflow, n, rng, tenant, line)
            values = engine.run_values(
                workflow, payload, at, correlation_id=f"{payload['id']}", tenant_id=tenant,
                product_line=line, entity_type=workflow.split("_")[0], entity_id=payload["id"],
                mode="manual" if manual else "automated")  # fmt: skip
            values["id"] = f"{rng.getrandbits(128):032x}"  # seeded: a backfill is reproducible
            engine.store.insert_run(conn, **values)
    executions = 0
    approver = OrchestratorAPI(engine.store, clock=clock)
    sample = _Sampler(engine, clock, plan.start)
    while True:
        if engine.run_once("demo-backfill") is not None:
            executions += 1
            if executions % 200 == 0 and progress is not None:
                progress(clock.now())
            continue
        _decide_approvals(approver, clock)
        nxt = engine.store.next_ready_at()
        if nxt is None or nxt >= plan.end:
            sample.until(plan.end)
            break
        sample.until(nxt)
        clock.set(nxt)
    if progress is not None:
        progress(plan.end)
    return {"runs": len(arrivals), "executions": executions}


class _Sampler:
    """Metric samples (DLQ depth, queue lag, breaker state and the counters) at every
    GAUGE_TICK of simulated time, stamped at that time."""

    def __init__(self, engine: Engine, clock: VirtualClock, start: float) -> None:
        self.engine, self.clock = engine, clock
        tel = engine.telemetry
        self.on = tel is not None and tel.exports_virtual_metrics
        self.next = start

    def until(self, when: float) -> None:
        """Sample every tick up to ``when`` (nothing changes between runs, so the clock
        can be set to each tick without running anything early)."""
        tel = self.engine.telemetry
        if not self.on or tel is None:
            return
        while self.next <= when:
            # Runs may have moved the clock past ticks: then one sample now, not one per tick.
            at = max(self.clock.now(), self.next)
            self.clock.set(at)
            publish_gauges(self.engine)
            tel.export_metrics_at(at)
            self.next = (math.floor(at / GAUGE_TICK) + 1) * GAUGE_TICK


def _decide_approvals(api: OrchestratorAPI, clock: VirtualClock) -> None:
    """The demo's finance team: decides after a human delay; some requests expire."""
    for request in api.pending_approvals():
        basis = int(request["run_id"][:6], 16)
        delay = 600 + basis % (3 * 3600)
        if basis % 17 == 0 or clock.now() < request["requested_at"] + delay:
            continue  # never answered (times out), or not yet looked at
        decide = api.reject if basis % 9 == 0 else api.approve
        decide(request["run_id"], actor="finance.bot", reason="demo reviewer")


def run_backfill(
    settings: Settings, store: Store, telemetry: Telemetry, *, days: int, seed: int,
    progress: Callable[[float], None] | None = None, end: float | None = None,
) -> dict[str, int]:  # fmt: skip
    """Backfill ``days`` ending now into the configured orchestrator state and ``store``."""
    finish = end if end is not None else time.time()
    plan = DemoPlan(start=finish - days * DAY, end=finish, seed=seed)
    state = store_from_settings(settings)
    clock = VirtualClock(start=plan.start)
    engine = Engine(state, telemetry=telemetry, clock=clock, seed=seed,
                    lease_seconds=settings.lease_seconds, breaker_reset=120.0)  # fmt: skip
    try:
        baselines = write_baselines(store, plan)
        save_demo_catalog(store)  # the demo's "Business outcomes" tiles
        stats = backfill(engine, clock, plan, progress)
        telemetry.flush()
        stats.update(record_demo_costs(settings, store, start=plan.start, end=plan.end, seed=seed))
    finally:
        engine.close()
        state.close()
    counts = store_from_settings(settings)
    try:
        stats.update(counts.counts())
        stats["dead_letters"] = sum(counts.dead_letter_depth().values())
    finally:
        counts.close()
    stats["baselines"] = baselines
    return stats
