"""The measures alert rules can watch: system, business and economics, each read through the
same models functions the dashboard uses, per group over one window.

A measure returns ``{group: value}`` where ``group`` is a tuple of (label, value) pairs (empty
without ``group_by``) and ``value`` a float; a group that has no data is absent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import pandas as pd

from models import costs, health, kpis, roi_report
from models.baselines import load_baselines
from models.db import Store, concurrently
from models.totals import roi_totals

if TYPE_CHECKING:
    from models.alerts.rules import Rule

__all__ = ["MEASURES", "Group", "Measure", "MeasureContext", "Values"]

Group = tuple[tuple[str, str], ...]
Values = dict[Group, float]


@dataclass(frozen=True)
class MeasureContext:
    """What a measure reads with: the store and the settings that shape the figures."""

    store: Store
    slo_success_target: float = 0.99
    policy: str = "proportional"
    weights: Mapping[str, str] | None = None
    # (signal, when) of every WAL segment the collectors set aside: the evaluator's process
    # passes it when it can see the collectors' data directory (embedded mode, or beside them).
    quarantine: Callable[[], list[tuple[str, float]]] | None = None


@dataclass(frozen=True)
class Measure:
    """A named measure: the groups it can split by, and how to read it."""

    name: str
    doc: str
    groups: tuple[str, ...]
    read: Callable[[MeasureContext, Rule, datetime, datetime], Values]
    needs_budget: bool = False


def _tenants(rule: Rule) -> list[str] | None:
    tenant = rule.filters.get("tenant")
    return [tenant] if tenant else None


def _health(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> pd.DataFrame:
    by = rule.group_by[0] if rule.group_by else ("step" if "step" in rule.filters else "workflow")
    frame = health.health_summary(
        ctx.store,
        start,
        end,
        by=by,
        workflow=rule.filters.get("workflow", ""),
        product_line=rule.filters.get("product_line", ""),
        tenants=_tenants(rule),
    )
    if "step" in rule.filters and by == "step":
        frame = frame[frame["key"] == rule.filters["step"]]
    return frame


def _per_group(rule: Rule, frame: pd.DataFrame, value: Callable[[pd.DataFrame], float]) -> Values:
    if frame.empty:
        return {}
    if not rule.group_by:
        return {(): value(frame)}
    label = rule.group_by[0]
    return {((label, str(key)),): value(rows) for key, rows in frame.groupby("key", sort=True)}


def _rate(numerator: str) -> Callable[[pd.DataFrame], float]:
    def rate(rows: pd.DataFrame) -> float:
        spans = float(rows["spans"].sum())
        return float(rows[numerator].sum()) / spans if spans else 0.0

    return rate


def _error_rate(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    return _per_group(rule, _health(ctx, rule, start, end), _rate("errors"))


def _retry_rate(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    return _per_group(rule, _health(ctx, rule, start, end), _rate("retries"))


def _p95(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    # Quantiles of several rows cannot be merged here: an ungrouped rule watches the slowest.
    return _per_group(rule, _health(ctx, rule, start, end), lambda r: float(r["p95_ms"].max()))


def _dead_letters(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    frame = _health(ctx, rule, start, end)
    values = _per_group(rule, frame, lambda r: float(r["dead_letters"].sum()))
    return values or ({(): 0.0} if not rule.group_by else {})


def _runs(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    values = _per_group(rule, _health(ctx, rule, start, end), lambda r: float(r["spans"].sum()))
    return values or ({(): 0.0} if not rule.group_by else {})  # no runs is a count of 0


def _slo_burn(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    """Multi-window burn rate (SRE workbook): the lower of the window's and its twelfth's."""
    budget = 1.0 - ctx.slo_success_target
    short_start = end - (end - start) / 12
    long_frame, short_frame = concurrently(
        lambda: _health(ctx, rule, start, end), lambda: _health(ctx, rule, short_start, end)
    )
    long_values = _per_group(rule, long_frame, _rate("errors"))
    short_values = _per_group(rule, short_frame, _rate("errors"))
    return {
        group: min(rate, short_values.get(group, 0.0)) / budget
        for group, rate in long_values.items()
    }


def _gauge(metric: str, label: str, transform: Callable[[float], float]) -> Callable[..., Values]:
    def read(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
        frame = health.gauges(ctx.store, start, end, tenants=_tenants(rule))
        frame = frame[frame["metric"] == metric]
        if label in rule.filters:
            frame = frame[frame["label"] == rule.filters[label]]
        if frame.empty:
            return {}
        if rule.group_by:
            return {
                ((label, str(r["label"])),): transform(float(r["value"]))
                for r in frame.to_dict("records")
            }
        return {(): max(transform(float(v)) for v in frame["value"])}

    return read


def _kpi(column: str) -> Callable[..., Values]:
    def read(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
        frame = kpis.kpi_summary(
            ctx.store,
            start,
            end,
            workflow=rule.filters.get("workflow", ""),
            tenants=_tenants(rule),
        )
        if "kpi" in rule.filters:
            frame = frame[frame["kpi"] == rule.filters["kpi"]]
        frame = frame.assign(value=pd.to_numeric(frame[column], errors="coerce").fillna(0.0))
        if rule.group_by:
            return {
                (("kpi", str(k)),): float(rows["value"].sum())
                for k, rows in frame.groupby("kpi", sort=True)
            }
        return {(): float(frame["value"].sum())}

    return read


def _roi(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> pd.DataFrame:
    return roi_report.roi_report(
        ctx.store,
        start,
        end,
        workflow=rule.filters.get("workflow", ""),
        policy=ctx.policy,
        weights=ctx.weights,
        tenants=_tenants(rule),
    )


def _roi_figure(pick: Callable[[Any], Decimal | None]) -> Callable[..., Values]:
    def read(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
        report = _roi(ctx, rule, start, end)
        if report.empty:
            return {}
        groups = (
            {(("workflow", str(w)),): rows for w, rows in report.groupby("workflow", sort=True)}
            if rule.group_by
            else {(): report}
        )
        values: Values = {}
        for group, rows in groups.items():
            figure = pick(roi_totals(rows))
            if figure is not None:
                values[group] = float(figure)
        return values

    return read


def _drift(totals: Any) -> Decimal | None:
    if not totals.estimated_savings:
        return None
    return (totals.actual_savings - totals.estimated_savings) / totals.estimated_savings * 100


def _cost_vs_baseline(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    """Platform cost per transaction / the baseline's manual cost per transaction, per workflow."""
    report = _roi(ctx, rule, start, end)
    latest = {b.workflow: b for b in sorted(load_baselines(ctx.store), key=lambda b: b.version)}
    values: Values = {}
    for workflow, rows in report.groupby("workflow", sort=True):
        baseline = latest.get(str(workflow))
        volume = int(rows["volume"].sum())
        if baseline is None or volume == 0:
            continue
        manual = baseline.manual_minutes * baseline.hourly_rate / 60
        platform = sum((Decimal(str(v)) for v in rows["platform_cost"]), Decimal(0))
        if manual > 0:
            values[(("workflow", str(workflow)),)] = float(platform / volume / manual)
    if not rule.group_by and values:
        return {(): max(values.values())}
    return values


def _budget_burn(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    """Cost since the first of ``end``'s month / the rule's budget (1.0 = all of it spent)."""
    month = end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    by = rule.group_by[0] if rule.group_by else "tenant"
    frame = costs.attributed_costs(
        ctx.store,
        month.date(),
        (end + timedelta(days=1)).date(),
        by=by,
        policy=ctx.policy,
        weights=ctx.weights,
        tenants=_tenants(rule),
    )
    for key in ("tenant", "product_line", "workflow"):
        if key in rule.filters and key in frame.columns:
            frame = frame[frame[key] == rule.filters[key]]
    if rule.currency:
        frame = frame[frame["currency"] == rule.currency]
    elif frame["currency"].nunique() > 1:
        raise ValueError(f"costs are in {', '.join(sorted(set(frame['currency'])))}: set currency")
    assert rule.budget is not None
    budget = float(rule.budget)
    if rule.group_by:
        return {
            ((by, str(k)),): float(sum(rows["effective_cost"])) / budget
            for k, rows in frame.groupby(by, sort=True)
        }
    return {(): float(sum(frame["effective_cost"])) / budget if not frame.empty else 0.0}


def _quarantined(ctx: MeasureContext, rule: Rule, start: datetime, end: datetime) -> Values:
    """WAL segments the collectors quarantined in the window (ingest refusing data)."""
    if ctx.quarantine is None:
        return {}  # no view of the collectors' data directory: no data
    first, last = start.timestamp(), end.timestamp()
    counts: dict[str, int] = {}
    for signal, at in ctx.quarantine():
        if first <= at < last:
            counts[signal] = counts.get(signal, 0) + 1
    if rule.group_by:
        return {(("signal", signal),): float(n) for signal, n in sorted(counts.items())}
    return {(): float(sum(counts.values()))}


_HEALTH_GROUPS = ("workflow", "tenant", "product_line", "step", "service")

MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        Measure("run_error_rate", "Failed runs / runs (0..1).", _HEALTH_GROUPS, _error_rate),
        Measure(
            "run_p95_ms",
            "p95 run duration in ms (ungrouped: the slowest group).",
            _HEALTH_GROUPS,
            _p95,
        ),
        Measure("step_retry_rate", "Step retries / step spans.", ("step",), _retry_rate),
        Measure(
            "dead_letters_added", "Runs dead-lettered in the window.", _HEALTH_GROUPS, _dead_letters
        ),
        Measure(
            "runs",
            "Runs in the window (0 when none: 'no runs for N minutes').",
            _HEALTH_GROUPS,
            _runs,
        ),
        Measure(
            "slo_burn_rate",
            "Error-budget burn rate over the window and its twelfth "
            "(both must exceed: 1h/5m, 6h/30m).",
            _HEALTH_GROUPS,
            _slo_burn,
        ),
        Measure(
            "dead_letter_depth",
            "Dead letters waiting (latest gauge).",
            ("workflow",),
            _gauge("flowmeter.dlq.depth", "workflow", float),
        ),
        Measure(
            "queue_lag_seconds",
            "Oldest queued run's wait (latest gauge).",
            ("queue",),
            _gauge("flowmeter.queue.lag", "queue", float),
        ),
        Measure(
            "breaker_open",
            "1 when a circuit breaker is open.",
            ("breaker",),
            _gauge("flowmeter.breaker.state", "breaker", lambda v: 1.0 if v >= 2 else 0.0),
        ),
        Measure(
            "ingest_quarantined",
            "WAL segments the collectors set aside in the window (ingest refusing data).",
            ("signal",),
            _quarantined,
        ),
        Measure("kpi_events", "KPI events in the window.", ("kpi",), _kpi("events")),
        Measure(
            "kpi_amount", "Sum of KPI event amounts in the window.", ("kpi",), _kpi("amount_sum")
        ),
        Measure(
            "net_savings",
            "Net savings over the window (ROI report).",
            ("workflow",),
            _roi_figure(lambda t: t.net_savings),
        ),
        Measure(
            "roi_percent",
            "ROI % over the window.",
            ("workflow",),
            _roi_figure(lambda t: t.roi_percent),
        ),
        Measure(
            "savings_drift_percent",
            "(actual - estimated) / estimated savings x 100.",
            ("workflow",),
            _roi_figure(_drift),
        ),
        Measure(
            "cost_per_transaction_vs_baseline",
            "Platform cost per transaction / the "
            "baseline's manual cost per transaction (1 = no saving left).",
            ("workflow",),
            _cost_vs_baseline,
        ),
        Measure(
            "budget_burn",
            "Cost since the 1st of the month / budget (1 = spent).",
            ("tenant", "product_line", "workflow"),
            _budget_burn,
            needs_budget=True,
        ),
    )
}
