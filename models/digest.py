"""The executive digest: one period's ROI, KPIs, SLO and cost movers against the period before.

Pure assembly over the same models functions the dashboard reads, so every figure in a digest
equals the one on the Executive ROI, System Health and Cost Attribution pages for that period.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from models import costs, health, kpis, roi_report, totals
from models.db import Store, concurrently
from models.tenancy import utc

__all__ = ["CostMover", "Digest", "SloFigures", "build_digest"]


@dataclass(frozen=True)
class SloFigures:
    """The period's success rate and p95 against the SLO, and how much error budget it burnt."""

    runs: int
    success_rate: float | None
    success_target: float
    error_budget_burn: float | None  # 1.0 = exactly the budget
    worst_p95_ms: float
    p95_target_ms: float

    @property
    def met(self) -> bool:
        """True when both the success and the latency objective held (or nothing ran)."""
        success_ok = self.success_rate is None or self.success_rate >= self.success_target
        return success_ok and self.worst_p95_ms <= self.p95_target_ms


@dataclass(frozen=True)
class CostMover:
    """A workflow whose cost or unit cost moved most against the previous period."""

    workflow: str
    currency: str
    cost: Decimal
    previous_cost: Decimal
    cost_per_transaction: Decimal | None
    previous_cost_per_transaction: Decimal | None

    @property
    def change(self) -> Decimal:
        """Cost now minus cost before."""
        return self.cost - self.previous_cost


@dataclass(frozen=True)
class Digest:
    """Everything the weekly digest says, with the previous period beside it."""

    start: datetime
    end: datetime
    previous_start: datetime
    roi: totals.RoiTotals
    previous_roi: totals.RoiTotals
    workflows: list[dict[str, Any]]
    kpis: list[dict[str, Any]]
    slo: SloFigures
    movers: list[CostMover]
    dead_letters: list[dict[str, Any]] = field(default_factory=list)

    def with_dead_letters(self, letters: Sequence[Mapping[str, Any]]) -> Digest:
        """A copy listing the period's dead letters (they live in the orchestrator's state)."""
        return Digest(**{**self.__dict__, "dead_letters": [dict(item) for item in letters]})


def _slo(
    summary: pd.DataFrame, start: datetime, end: datetime, target: float, p95: float
) -> SloFigures:
    figures = totals.health_totals(summary, start, end)
    rate = None if figures.spans == 0 else 1.0 - figures.error_rate
    burn = None if figures.spans == 0 else figures.error_rate / (1.0 - target)
    return SloFigures(figures.spans, rate, target, burn, figures.worst_p95_ms, p95)


def _unit_costs(frame: pd.DataFrame) -> dict[tuple[str, str], Decimal | None]:
    unit: dict[tuple[str, str], Decimal | None] = {}
    if frame.empty:
        return unit
    grouped = frame.groupby(["key", "currency"], as_index=False)[
        ["effective_cost", "transactions"]
    ].sum()
    for row in grouped.to_dict("records"):
        count = int(row["transactions"])
        cost = Decimal(str(row["effective_cost"]))
        unit[(str(row["key"]), str(row["currency"]))] = None if count == 0 else cost / count
    return unit


def _cost_by_workflow(frame: pd.DataFrame) -> dict[tuple[str, str], Decimal]:
    found: dict[tuple[str, str], Decimal] = {}
    for row in frame.to_dict("records"):
        key = (str(row["workflow"]), str(row["currency"]))
        found[key] = found.get(key, Decimal(0)) + Decimal(str(row["effective_cost"]))
    return found


def _movers(
    now: pd.DataFrame, before: pd.DataFrame, unit_now: pd.DataFrame, unit_before: pd.DataFrame
) -> list[CostMover]:
    cost_now, cost_before = _cost_by_workflow(now), _cost_by_workflow(before)
    per_now, per_before = _unit_costs(unit_now), _unit_costs(unit_before)
    movers = [
        CostMover(
            workflow=workflow or "(no workflow)",
            currency=currency,
            cost=cost_now.get((workflow, currency), Decimal(0)),
            previous_cost=cost_before.get((workflow, currency), Decimal(0)),
            cost_per_transaction=per_now.get((workflow, currency)),
            previous_cost_per_transaction=per_before.get((workflow, currency)),
        )
        for workflow, currency in sorted(set(cost_now) | set(cost_before))
    ]
    movers.sort(key=lambda m: (-abs(m.change), m.workflow))
    return [m for m in movers if m.change != 0][:5]


def build_digest(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    policy: str = "proportional",
    weights: Mapping[str, str] | None = None,
    slo_success_target: float = 0.99,
    slo_p95_ms: float = 5000.0,
    tenants: Sequence[str] | None = None,
) -> Digest:
    """The digest of [start, end) against the period of the same length before it."""
    start, end = utc(start), utc(end)
    previous_start = start - (end - start)
    scope: dict[str, Any] = {"policy": policy, "weights": weights, "tenants": tenants}
    report, previous, kpi_frame, summary, now, before, unit_now, unit_before = concurrently(
        lambda: roi_report.roi_report(store, start, end, **scope),
        lambda: roi_report.roi_report(store, previous_start, start, **scope),
        lambda: kpis.kpi_summary(store, start, end, tenants=tenants),
        lambda: health.health_summary(store, start, end, tenants=tenants),
        lambda: costs.attributed_costs(store, start.date(), end.date(), by="workflow", **scope),
        lambda: costs.attributed_costs(
            store, previous_start.date(), start.date(), by="workflow", **scope
        ),
        lambda: costs.unit_economics(store, start.date(), end.date(), tenants=tenants),
        lambda: costs.unit_economics(store, previous_start.date(), start.date(), tenants=tenants),
    )
    workflows = (
        report.sort_values("net_savings", ascending=False).to_dict("records")
        if not report.empty
        else []
    )
    return Digest(
        start=start,
        end=end,
        previous_start=previous_start,
        roi=totals.roi_totals(report),
        previous_roi=totals.roi_totals(previous),
        workflows=workflows,
        kpis=kpi_frame.to_dict("records"),
        slo=_slo(summary, start, end, slo_success_target, slo_p95_ms),
        movers=_movers(now, before, unit_now, unit_before),
    )
