"""ROI math, pure: no I/O, Decimal money, every figure naming the baseline version it used.

Definitions (per workflow and period):

- volume: automated runs that *completed*. Failed, dead-lettered, compensated and waiting
  runs are excluded (``excluded_runs``): an error run saves nobody any time.
- manual cost per transaction = manual_minutes / 60 x hourly_rate + manual_error_rate x cost_per_error
- manual cost avoided = volume x manual cost per transaction
- hours saved = volume x manual_minutes / 60
- platform cost: the cost attributed to the workflow in the period
- net savings = manual cost avoided - platform cost; ROI % = net / platform cost x 100
  (None when the platform cost is zero: a ratio over nothing is no figure)
- payback: days from the period start until cumulative net savings first cover the
  investment (default 0); None when they never do inside the period.
- estimated savings: what the baseline promises for every automated run attempted
  (runs x manual cost per transaction); actual savings: completed runs x manual cost per
  transaction minus failed/dead-lettered runs x cost_per_error (each automation failure
  needs a person to fix it). Shown side by side, never mixed.

Buckets (hours or days) belong to the baseline version in effect at the bucket's start; a
baseline change mid-period splits the workflow's figures into one row per version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

__all__ = [
    "Baseline",
    "RoiFigure",
    "VolumeBucket",
    "actual_savings",
    "baseline_at",
    "estimated_savings",
    "manual_cost_per_transaction",
    "payback_days",
    "roi_figures",
]

_HOURS = Decimal(60)


@dataclass(frozen=True)
class Baseline:
    """One version of a workflow's manual-process baseline."""

    workflow: str
    version: int
    effective_from: datetime
    manual_minutes: Decimal
    hourly_rate: Decimal
    currency: str
    manual_error_rate: Decimal
    cost_per_error: Decimal
    go_live_at: datetime | None = None
    changed_by: str = ""
    reason: str = ""


@dataclass(frozen=True)
class VolumeBucket:
    """Runs of one workflow in one time bucket, by outcome class."""

    start: datetime
    workflow: str
    completed: int
    failed: int = 0  # failed + dead-lettered
    other: int = 0  # compensated, waiting: neither saved nor failed


@dataclass(frozen=True)
class RoiFigure:
    """ROI of one workflow under one baseline version over [period_start, period_end)."""

    workflow: str
    baseline_version: int | None  # None: runs before any baseline existed (no savings claimed)
    period_start: datetime
    period_end: datetime
    currency: str
    volume: int
    excluded_runs: int
    hours_saved: Decimal
    manual_cost_avoided: Decimal
    platform_cost: Decimal
    net_savings: Decimal
    roi_percent: Decimal | None
    estimated_savings: Decimal
    actual_savings: Decimal


def manual_cost_per_transaction(baseline: Baseline) -> Decimal:
    """manual_minutes / 60 x hourly_rate + manual_error_rate x cost_per_error."""
    return (
        baseline.manual_minutes / _HOURS * baseline.hourly_rate
        + baseline.manual_error_rate * baseline.cost_per_error
    )


def baseline_at(baselines: Iterable[Baseline], workflow: str, moment: datetime) -> Baseline | None:
    """The workflow's baseline in effect at ``moment`` (latest effective_from <= moment, then highest version)."""
    candidates = [b for b in baselines if b.workflow == workflow and b.effective_from <= moment]
    if not candidates:
        return None
    return max(candidates, key=lambda b: (b.effective_from, b.version))


def estimated_savings(baseline: Baseline, attempted_runs: int) -> Decimal:
    """What the baseline promises: every attempted run x manual cost per transaction."""
    return attempted_runs * manual_cost_per_transaction(baseline)


def actual_savings(baseline: Baseline, completed: int, failed: int) -> Decimal:
    """Measured: completed x manual cost per transaction - failed x cost_per_error."""
    return completed * manual_cost_per_transaction(baseline) - failed * baseline.cost_per_error


def payback_days(
    daily_net: Sequence[tuple[date, Decimal]], investment: Decimal = Decimal(0)
) -> int | None:
    """Days from the first day until cumulative net savings reach ``investment`` (1 = paid back on day one)."""
    cumulative = Decimal(0)
    for index, (_, net) in enumerate(sorted(daily_net)):
        cumulative += net
        if cumulative >= investment and cumulative > 0:
            return index + 1
    return None


def roi_figures(
    volumes: Iterable[VolumeBucket],
    baselines: Sequence[Baseline],
    platform_costs: Mapping[tuple[str, datetime], Decimal],
    period_start: datetime,
    period_end: datetime,
) -> list[RoiFigure]:
    """ROI rows per (workflow, baseline version); platform_costs maps (workflow, bucket start) to cost."""
    groups: dict[tuple[str, int | None], list[VolumeBucket]] = {}
    costs: dict[tuple[str, int | None], Decimal] = {}
    for bucket in volumes:
        if not period_start <= bucket.start < period_end:
            continue
        baseline = baseline_at(baselines, bucket.workflow, bucket.start)
        key = (bucket.workflow, baseline.version if baseline else None)
        groups.setdefault(key, []).append(bucket)
    for (workflow, moment), cost in platform_costs.items():
        if not period_start <= moment < period_end:
            continue
        baseline = baseline_at(baselines, workflow, moment)
        key = (workflow, baseline.version if baseline else None)
        groups.setdefault(key, [])
        costs[key] = costs.get(key, Decimal(0)) + cost
    figures = []
    for (workflow, version), buckets in sorted(
        groups.items(), key=lambda i: (i[0][0], i[0][1] or 0)
    ):
        baseline = next(
            (b for b in baselines if b.workflow == workflow and b.version == version), None
        )
        completed = sum(b.completed for b in buckets)
        failed = sum(b.failed for b in buckets)
        excluded = failed + sum(b.other for b in buckets)
        platform = costs.get((workflow, version), Decimal(0))
        if baseline is None:
            hours = avoided = estimated = actual = Decimal(0)
            currency = ""
        else:
            hours = completed * baseline.manual_minutes / _HOURS
            avoided = completed * manual_cost_per_transaction(baseline)
            estimated = estimated_savings(baseline, completed + failed)
            actual = actual_savings(baseline, completed, failed)
            currency = baseline.currency
        net = avoided - platform
        figures.append(
            RoiFigure(
                workflow=workflow,
                baseline_version=version,
                period_start=period_start,
                period_end=period_end,
                currency=currency,
                volume=completed,
                excluded_runs=excluded,
                hours_saved=hours,
                manual_cost_avoided=avoided,
                platform_cost=platform,
                net_savings=net,
                roi_percent=None if platform == 0 else net / platform * 100,
                estimated_savings=estimated,
                actual_savings=actual,
            )
        )
    return figures
