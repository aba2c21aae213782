"""System health for engineers: throughput, errors, latency, retries, DLQ, SLO burn.

Every aggregate reads the per-minute rollup ``span_stats_1m`` (sql/schema/301), never the raw
span table. The SLO math is pure (``slo_status``) and tested without a store.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

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


def health_summary(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    by: str = "workflow",
    workflow: str = "",
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns key, spans, errors, error_rate, retries, retry_rate, dead_letters, throughput_per_min, avg_ms, p50_ms, p95_ms, p99_ms."""
    if by not in HEALTH_DIMENSIONS:
        raise ValueError(f"by must be one of {', '.join(HEALTH_DIMENSIONS)}, not {by!r}")
    frame = store.query_df(
        "health/summary",
        by=by,
        kind=HEALTH_DIMENSIONS[by],
        workflow=workflow,
        start=utc(start),
        end=utc(end),
        **tenant_params(tenants),
    )
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
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns bucket, spans, errors, retries, dead_letters, avg_ms, p50_ms, p95_ms, p99_ms."""
    frame = store.query_df(
        "health/timeseries",
        bucket_minutes=max(int(bucket_minutes), 1),
        kind=kind,
        workflow=workflow,
        step=step,
        service=service,
        start=utc(start),
        end=utc(end),
        **tenant_params(tenants),
    )
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
