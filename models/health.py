"""System health for engineers: throughput, errors, latency, retries, DLQ, SLO burn.

Every aggregate reads a rollup, never the raw span table: per-minute ``span_stats_1m`` (301)
for ranges up to six hours, hourly ``span_stats_1h`` (305) up to two days (widened to whole
hours), and beyond that whole days from ``span_stats_1d`` (306) plus the edge hours.
Timeseries pick the coarsest table their bucket allows: use 1440-minute buckets for 30 days. The SLO math is pure (``slo_status``) and tested without a store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

import pandas as pd

from models.db import Store
from models.tenancy import tenant_params, utc

__all__ = [
    "HEALTH_DIMENSIONS",
    "gauges",
    "health_summary",
    "health_timeseries",
    "slo_status",
]

# by -> which spans count: runs for workflow/tenant/product line, step attempts for steps,
# every span for services and span names.
HEALTH_DIMENSIONS = {
    "workflow": "run",
    "tenant": "run",
    "product_line": "run",
    "step": "step",
    "service": "",
    "span": "",
}


# Ranges longer than HOURLY_AFTER read the hourly rollup (widened to whole hours); longer than
# DAILY_AFTER, whole days come from the daily rollup and only the edge hours from the hourly.
HOURLY_AFTER = timedelta(hours=6)
DAILY_AFTER = timedelta(days=2)


def _hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    floor = start.replace(minute=0, second=0, microsecond=0)
    ceil = end.replace(minute=0, second=0, microsecond=0)
    return floor, ceil + timedelta(hours=1) if ceil < end else ceil


def _days(start: datetime, end: datetime) -> tuple[date, date]:
    """Whole days inside [start, end): first full day, day after the last full day."""
    first = start.date() if start.time() == time(0) else start.date() + timedelta(days=1)
    return first, max(first, end.date())


def health_summary(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    by: str = "workflow",
    workflow: str = "",
    product_line: str = "",
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns key, spans, errors, error_rate, retries, retry_rate, dead_letters, throughput_per_min, avg_ms, p50_ms, p95_ms, p99_ms."""
    if by not in HEALTH_DIMENSIONS:
        raise ValueError(f"by must be one of {', '.join(HEALTH_DIMENSIONS)}, not {by!r}")
    start, end = utc(start), utc(end)
    params = {"by": by, "kind": HEALTH_DIMENSIONS[by], "workflow": workflow,
              "product_line": product_line, **tenant_params(tenants)}  # fmt: skip
    if end - start > DAILY_AFTER:
        start, end = _hours(start, end)
        first_day, end_day = _days(start, end)
        frame = store.query_df("health/summary_daily", start=start, end=end,
                               first_day=first_day, end_day=end_day, **params)  # fmt: skip
    elif end - start > HOURLY_AFTER:
        start, end = _hours(start, end)
        frame = store.query_df("health/summary_hourly", start=start, end=end, **params)
    else:
        frame = store.query_df("health/summary", start=start, end=end, **params)
    return frame.drop(columns=["q"], errors="ignore")


def health_timeseries(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    bucket_minutes: int = 60,
    kind: str = "run",
    workflow: str = "",
    step: str = "",
    service: str = "",
    product_line: str = "",
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns bucket, spans, errors, retries, dead_letters, avg_ms, p50_ms, p95_ms, p99_ms."""
    bucket_minutes = max(int(bucket_minutes), 1)
    start, end = utc(start), utc(end)
    params = {"bucket_minutes": bucket_minutes, "kind": kind, "workflow": workflow, "step": step,
              "service": service, "product_line": product_line,
              **tenant_params(tenants)}  # fmt: skip
    if end - start > DAILY_AFTER and bucket_minutes % 1440 == 0:
        first = start.date()
        last = end.date() if end.time() == time(0) else end.date() + timedelta(days=1)
        frame = store.query_df("health/timeseries_daily", start=first, end=last, **params)
    elif end - start > HOURLY_AFTER and bucket_minutes % 60 == 0:
        start, end = _hours(start, end)
        frame = store.query_df("health/timeseries_hourly", start=start, end=end, **params)
    else:
        frame = store.query_df("health/timeseries", start=start, end=end, **params)
    return frame.drop(columns=["q"], errors="ignore")


def gauges(
    store: Store, start: datetime, end: datetime, *, tenants: Sequence[str] | None = None
) -> pd.DataFrame:
    """Columns metric (flowmeter.dlq.depth / .queue.lag / .breaker.state), label, value, at: latest per label."""
    return store.query_df("health/gauges", start=utc(start), end=utc(end), **tenant_params(tenants))


def slo_status(
    summary: pd.DataFrame, *, success_target: float, p95_target_ms: float
) -> pd.DataFrame:
    """Add success_rate, slo_met, latency_slo_met and error_budget_burn (1.0 = budget used exactly) to a health summary."""
    if not 0 < success_target < 1:
        raise ValueError("success_target is a fraction between 0 and 1, e.g. 0.99")
    frame = summary.copy()
    budget = 1.0 - success_target
    frame["success_rate"] = 1.0 - frame["error_rate"].astype(float)
    frame["slo_target"] = success_target
    frame["slo_met"] = frame["success_rate"] >= success_target
    frame["error_budget_burn"] = frame["error_rate"].astype(float) / budget
    frame["p95_target_ms"] = p95_target_ms
    frame["latency_slo_met"] = frame["p95_ms"].astype(float) <= p95_target_ms
    return frame
