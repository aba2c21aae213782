"""ROI, estimated vs actual savings, and before/after comparisons read from the rollups."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pandas as pd

from models.baselines import load_baselines
from models.before_after import Comparison, compare_before_after
from models.costs import attributed_costs
from models.db import Store, concurrently
from models.roi import Baseline, VolumeBucket, payback_days, roi_figures
from models.tenancy import tenant_params, utc

__all__ = ["BEFORE_AFTER_METRICS", "before_after", "roi_daily", "roi_report"]

BEFORE_AFTER_METRICS = ("cycle_time_ms", "error_rate", "cost_per_transaction")


def _volumes(
    store: Store, start: datetime, end: datetime, bucket: str, workflow: str,
    tenants: Sequence[str] | None,
) -> list[VolumeBucket]:  # fmt: skip
    rows = store.query(
        "roi/volume", bucket=bucket, workflow=workflow, start=utc(start), end=utc(end),
        **tenant_params(tenants),
    )  # fmt: skip
    return [
        VolumeBucket(
            r["bucket"], r["workflow"], int(r["completed"]), int(r["failed"]), int(r["other"])
        )
        for r in rows
    ]


def _daily_costs(
    store: Store, start: datetime, end: datetime, policy: str,
    weights: Mapping[str, str] | None, tenants: Sequence[str] | None,
) -> dict[tuple[str, datetime], Decimal]:  # fmt: skip
    frame = attributed_costs(
        store, start.date(), (end + timedelta(days=1)).date(), by="workflow",
        policy=policy, weights=weights, daily=True, tenants=tenants,
    )  # fmt: skip
    costs: dict[tuple[str, datetime], Decimal] = {}
    for row in frame.to_dict("records"):
        moment = datetime.combine(row["period_start"], datetime.min.time())
        key = (str(row["workflow"]), moment)
        costs[key] = costs.get(key, Decimal(0)) + Decimal(row["effective_cost"])
    return costs


def _inputs(
    store: Store, start: datetime, end: datetime, bucket: str, workflow: str, policy: str,
    weights: Mapping[str, str] | None, tenants: Sequence[str] | None,
) -> tuple[list[VolumeBucket], list[Baseline], dict[tuple[str, datetime], Decimal]]:  # fmt: skip
    """Volumes per hour/day, baseline versions and attributed daily cost, read at once."""
    volumes, baselines, costs = concurrently(
        lambda: _volumes(store, start, end, bucket, workflow, tenants),
        lambda: load_baselines(store, workflow),
        lambda: _daily_costs(store, start, end, policy, weights, tenants),
    )
    return volumes, baselines, costs


def roi_report(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    workflow: str = "",
    policy: str = "proportional",
    weights: Mapping[str, str] | None = None,
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per (workflow, baseline_version): volume, excluded_runs, hours_saved, manual_cost_avoided, platform_cost, net_savings, roi_percent, estimated_savings, actual_savings, currency, period_start, period_end."""
    start, end = utc(start), utc(end)
    volumes, baselines, costs = _inputs(
        store, start, end, "hour", workflow, policy, weights, tenants
    )
    figures = roi_figures(
        volumes, baselines,
        {k: v for k, v in costs.items() if not workflow or k[0] == workflow},
        start, end,
    )  # fmt: skip
    columns = list(RoiColumns)
    return pd.DataFrame([asdict(f) for f in figures], columns=columns)


RoiColumns = (
    "workflow", "baseline_version", "period_start", "period_end", "currency", "volume",
    "excluded_runs", "hours_saved", "manual_cost_avoided", "platform_cost", "net_savings",
    "roi_percent", "estimated_savings", "actual_savings",
)  # fmt: skip


def roi_daily(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    workflow: str = "",
    policy: str = "proportional",
    weights: Mapping[str, str] | None = None,
    investment: Decimal = Decimal(0),
    tenants: Sequence[str] | None = None,
) -> tuple[pd.DataFrame, int | None]:
    """(frame of day, workflow, baseline_version, manual_cost_avoided, platform_cost, net_savings, cumulative_net; payback days over all workflows shown)."""
    start, end = utc(start), utc(end)
    volumes, baselines, costs = _inputs(
        store, start, end, "day", workflow, policy, weights, tenants
    )
    days = sorted({v.start for v in volumes} | {m for (_, m) in costs if start <= m < end})
    rows = []
    for day in days:
        day_volumes = [v for v in volumes if v.start == day]
        day_costs = {
            k: c for k, c in costs.items() if k[1] == day and (not workflow or k[0] == workflow)
        }
        for figure in roi_figures(day_volumes, baselines, day_costs, day, day + timedelta(days=1)):
            rows.append(
                {"day": day.date(), "workflow": figure.workflow,
                 "baseline_version": figure.baseline_version,
                 "manual_cost_avoided": figure.manual_cost_avoided,
                 "platform_cost": figure.platform_cost, "net_savings": figure.net_savings}
            )  # fmt: skip
    frame = pd.DataFrame(
        rows, columns=["day", "workflow", "baseline_version", "manual_cost_avoided",
                       "platform_cost", "net_savings"],
    )  # fmt: skip
    per_day = frame.groupby("day")["net_savings"].sum() if not frame.empty else pd.Series()
    daily_net: list[tuple[date, Decimal]] = [(d, Decimal(v)) for d, v in per_day.items()]  # type: ignore[misc]
    running = Decimal(0)
    cumulative = {}
    for d, net in sorted(daily_net):
        running += net
        cumulative[d] = running
    frame["cumulative_net"] = frame["day"].map(cumulative)
    return frame, payback_days(daily_net, investment)


def before_after(
    store: Store,
    workflow: str,
    metric: str,
    *,
    go_live: datetime | None = None,
    days: int = 30,
    policy: str = "proportional",
    tenants: Sequence[str] | None = None,
) -> Comparison:
    """Bootstrap comparison of daily cycle_time_ms / error_rate / cost_per_transaction around go-live."""
    if metric not in BEFORE_AFTER_METRICS:
        raise ValueError(f"metric must be one of {', '.join(BEFORE_AFTER_METRICS)}")
    if go_live is None:
        known = [b.go_live_at for b in load_baselines(store, workflow) if b.go_live_at]
        if not known:
            return compare_before_after(metric, [], [])
        go_live = max(known)
    go_live = utc(go_live)
    start, end = go_live - timedelta(days=days), go_live + timedelta(days=days)
    runs = store.query_df(
        "roi/daily_runs", workflow=workflow, start=start, end=end, **tenant_params(tenants)
    )
    if metric == "cycle_time_ms":
        runs["value"] = runs["avg_cycle_ms"].astype(float)
    elif metric == "error_rate":
        runs["value"] = runs["failed"].astype(float) / runs["runs"].where(runs["runs"] > 0)
    else:
        costs = _daily_costs(store, start, end, policy, None, tenants)
        per_day = {m.date(): float(c) for (w, m), c in costs.items() if w == workflow}
        runs["value"] = [
            per_day[d] / c if c and d in per_day else float("nan")
            for d, c in zip(pd.to_datetime(runs["day"]).dt.date, runs["completed"], strict=True)
        ]
    day = pd.to_datetime(runs["day"]).dt.date
    cut = go_live.date()
    before = runs[day < cut]["value"].tolist()
    after = runs[day >= cut]["value"].tolist()
    return compare_before_after(metric, before, after)
