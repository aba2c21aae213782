"""Totals over per-group frames from models/: the figures of the tiles above each table.

Pure functions over the frames that health, ROI, KPI and cost queries return; views show
these and never add numbers up themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd

__all__ = [
    "CostTotals",
    "GaugeTotals",
    "HealthTotals",
    "KpiHeadlines",
    "RoiTotals",
    "cost_totals",
    "gauge_totals",
    "health_totals",
    "kpi_headlines",
    "roi_by_day",
    "roi_totals",
]


@dataclass(frozen=True)
class HealthTotals:
    """Summed counts and the rates derived from them; worst_p95_ms is the slowest group's p95."""

    spans: int
    errors: int
    retries: int
    dead_letters: int
    error_rate: float
    retry_rate: float
    throughput_per_min: float
    worst_p95_ms: float


def health_totals(summary: pd.DataFrame, start: datetime, end: datetime) -> HealthTotals:
    """Totals of a ``models.health.health_summary`` frame over [start, end)."""
    spans = int(summary["spans"].sum()) if not summary.empty else 0
    errors = int(summary["errors"].sum()) if not summary.empty else 0
    retries = int(summary["retries"].sum()) if not summary.empty else 0
    dead = int(summary["dead_letters"].sum()) if not summary.empty else 0
    minutes = max((end - start).total_seconds() / 60.0, 1.0)
    worst = float(summary["p95_ms"].max()) if not summary.empty else 0.0
    return HealthTotals(
        spans=spans,
        errors=errors,
        retries=retries,
        dead_letters=dead,
        error_rate=errors / spans if spans else 0.0,
        retry_rate=retries / spans if spans else 0.0,
        throughput_per_min=spans / minutes,
        worst_p95_ms=worst,
    )


@dataclass(frozen=True)
class RoiTotals:
    """The ROI report summed over workflows and baseline versions (one currency)."""

    currency: str
    currencies: tuple[str, ...]
    volume: int
    excluded_runs: int
    hours_saved: Decimal
    manual_cost_avoided: Decimal
    platform_cost: Decimal
    net_savings: Decimal
    roi_percent: Decimal | None
    estimated_savings: Decimal
    actual_savings: Decimal
    baselines: tuple[str, ...]  # "workflow v3" for each version used

    @property
    def savings_multiple(self) -> Decimal | None:
        """Manual cost avoided per unit of platform cost (None without platform cost)."""
        return None if self.platform_cost == 0 else self.manual_cost_avoided / self.platform_cost


def _money_sum(values: pd.Series) -> Decimal:
    return sum((Decimal(str(v)) for v in values if v is not None and v == v), Decimal(0))


def roi_totals(report: pd.DataFrame) -> RoiTotals:
    """Totals of a ``models.roi_report.roi_report`` frame, in its most valuable currency.

    ROI % follows models.roi: net savings / platform cost x 100, None when platform cost is 0.
    Rows in other currencies are left out (and listed in ``currencies``), never converted.
    """
    priced = report[report["currency"].astype(str) != ""] if not report.empty else report
    currencies = tuple(sorted(set(priced["currency"].astype(str)))) if not priced.empty else ()
    if currencies:
        by_currency = {
            c: _money_sum(priced[priced["currency"] == c]["net_savings"]) for c in currencies
        }
        currency = max(currencies, key=lambda c: (by_currency[c], c))
        rows = priced[priced["currency"] == currency]
    else:
        currency, rows = "", report
    platform = _money_sum(rows["platform_cost"]) if not rows.empty else Decimal(0)
    net = _money_sum(rows["net_savings"]) if not rows.empty else Decimal(0)
    versions = tuple(
        f"{w} v{int(v)}" if v == v and v is not None else f"{w} (no baseline)"
        for w, v in sorted(
            {(str(r["workflow"]), r["baseline_version"]) for r in report.to_dict("records")},
            key=lambda item: (item[0], -1 if item[1] != item[1] or item[1] is None else item[1]),
        )
    )
    return RoiTotals(
        currency=currency,
        currencies=currencies,
        volume=int(report["volume"].sum()) if not report.empty else 0,
        excluded_runs=int(report["excluded_runs"].sum()) if not report.empty else 0,
        hours_saved=_money_sum(rows["hours_saved"]) if not rows.empty else Decimal(0),
        manual_cost_avoided=_money_sum(rows["manual_cost_avoided"])
        if not rows.empty
        else Decimal(0),
        platform_cost=platform,
        net_savings=net,
        roi_percent=None if platform == 0 else net / platform * 100,
        estimated_savings=_money_sum(rows["estimated_savings"]) if not rows.empty else Decimal(0),
        actual_savings=_money_sum(rows["actual_savings"]) if not rows.empty else Decimal(0),
        baselines=versions,
    )


def roi_by_day(daily: pd.DataFrame) -> pd.DataFrame:
    """A ``roi_daily`` frame summed per day: day, manual_cost_avoided, platform_cost, net_savings, cumulative_net."""
    columns = ["day", "manual_cost_avoided", "platform_cost", "net_savings", "cumulative_net"]
    if daily.empty:
        return pd.DataFrame(columns=columns)
    money = ["manual_cost_avoided", "platform_cost", "net_savings"]
    frame = daily.assign(**{c: daily[c].map(lambda v: Decimal(str(v))) for c in money})
    summed = frame.groupby("day", as_index=False, sort=True)[money].agg(_money_sum)
    summed["cumulative_net"] = summed["net_savings"].cumsum()
    return summed[columns]


@dataclass(frozen=True)
class KpiHeadlines:
    """The business KPIs an executive reads first, for one period."""

    orders_per_hour: float
    orders_advanced: int
    invoices_posted: int
    refunds_prevented: int
    refunds_prevented_amount: Decimal
    refund_currency: str
    leads_qualified: int
    sla_met_percent: float | None


def kpi_headlines(
    summary: pd.DataFrame, start: datetime, end: datetime, *, previous: bool = False
) -> KpiHeadlines:
    """Headline KPIs from a ``models.kpis.kpi_summary`` frame (``previous`` reads its previous-period columns)."""
    events_column = "previous_events" if previous else "events"
    amount_column = "previous_amount_sum" if previous else "amount_sum"

    def events(kpi: str) -> int:
        rows = summary[summary["kpi"] == kpi] if not summary.empty else summary
        return int(rows[events_column].sum()) if not rows.empty else 0

    refunds = summary[summary["kpi"] == "refund_prevented"] if not summary.empty else summary
    refund_currency = ""
    refund_amount = Decimal(0)
    if not refunds.empty:
        priced = refunds[refunds["currency"].astype(str) != ""]
        if not priced.empty:
            refund_currency = str(priced.iloc[0]["currency"])
            refund_amount = _money_sum(priced[priced["currency"] == refund_currency][amount_column])
    met, missed = events("sla_met"), events("sla_missed")
    hours = max((end - start).total_seconds() / 3600.0, 1.0)
    return KpiHeadlines(
        orders_per_hour=events("order_advanced") / hours,
        orders_advanced=events("order_advanced"),
        invoices_posted=events("invoice_posted"),
        refunds_prevented=events("refund_prevented"),
        refunds_prevented_amount=refund_amount,
        refund_currency=refund_currency,
        leads_qualified=events("lead_qualified"),
        sla_met_percent=None if met + missed == 0 else met / (met + missed) * 100.0,
    )


@dataclass(frozen=True)
class CostTotals:
    """An ``attributed_costs`` frame summed: what was imported, allocated and left unallocated."""

    currency: str
    billed_cost: Decimal
    effective_cost: Decimal
    direct_cost: Decimal
    shared_allocated: Decimal
    unallocated: Decimal


def cost_totals(frame: pd.DataFrame) -> CostTotals:
    """Totals of an attributed-costs frame in its largest currency (others left out, never converted)."""
    if frame.empty:
        return CostTotals("", Decimal(0), Decimal(0), Decimal(0), Decimal(0), Decimal(0))
    currency = str(frame.groupby("currency")["effective_cost"].sum().idxmax())
    rows = frame[frame["currency"] == currency]
    method = rows["allocation_method"].astype(str)
    unallocated = _money_sum(rows[method == "unallocated"]["effective_cost"])
    shared = _money_sum(rows[method.str.startswith("shared")]["effective_cost"])
    effective = _money_sum(rows["effective_cost"])
    return CostTotals(
        currency=currency,
        billed_cost=_money_sum(rows["billed_cost"]),
        effective_cost=effective,
        direct_cost=effective - shared - unallocated,
        shared_allocated=shared,
        unallocated=unallocated,
    )


@dataclass(frozen=True)
class GaugeTotals:
    """The latest operational gauges, summed: DLQ depth, worst queue lag, breakers open."""

    dlq_depth: float
    queue_lag_seconds: float | None
    open_breakers: int


def gauge_totals(gauges: pd.DataFrame) -> GaugeTotals:
    """Totals of a ``models.health.gauges`` frame (breaker state 2 = open)."""

    def values(metric: str) -> pd.Series:
        return gauges[gauges["metric"] == metric]["value"].astype(float)

    depth, lag, breakers = (values("flowmeter.dlq.depth"), values("flowmeter.queue.lag"),
                            values("flowmeter.breaker.state"))  # fmt: skip
    return GaugeTotals(
        dlq_depth=float(depth.sum()),
        queue_lag_seconds=float(lag.max()) if not lag.empty else None,
        open_breakers=int((breakers >= 2).sum()),
    )
