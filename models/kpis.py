"""Business KPIs per hour/day from the ``kpi_hourly`` rollup, with deviation from the previous period."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from models.db import Store, concurrently
from models.tenancy import tenant_params, utc

__all__ = ["kpi_series", "kpi_summary", "sla_met_percent"]


def kpi_series(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    bucket: str = "hour",
    workflow: str = "",
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns bucket, kpi, currency, events, value_sum, amount_sum per hour or day."""
    if bucket not in ("hour", "day"):
        raise ValueError("bucket must be 'hour' or 'day'")
    return store.query_df(
        "kpi/series",
        bucket=bucket,
        workflow=workflow,
        start=utc(start),
        end=utc(end),
        **tenant_params(tenants),
    )


def _totals(
    store: Store, start: datetime, end: datetime, workflow: str, tenants: Sequence[str] | None
) -> pd.DataFrame:
    return store.query_df(
        "kpi/totals", workflow=workflow, start=utc(start), end=utc(end), **tenant_params(tenants)
    )


def kpi_summary(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    workflow: str = "",
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns kpi, currency, events, amount_sum, previous_events, previous_amount_sum, events_change_pct (NaN when the previous period had none)."""
    previous_start = start - (end - start)
    current, previous = concurrently(
        lambda: _totals(store, start, end, workflow, tenants),
        lambda: _totals(store, previous_start, start, workflow, tenants),
    )
    merged = current.merge(
        previous[["kpi", "currency", "events", "amount_sum"]],
        on=["kpi", "currency"],
        how="outer",
        suffixes=("", "_previous"),
    )
    merged = merged.rename(
        columns={"events_previous": "previous_events", "amount_sum_previous": "previous_amount_sum"}
    )
    for column in ("events", "previous_events"):
        merged[column] = merged[column].fillna(0).astype("int64")
    merged["events_change_pct"] = [
        None if prev == 0 else (cur - prev) / prev * 100.0
        for cur, prev in zip(merged["events"], merged["previous_events"], strict=True)
    ]
    columns = ["kpi", "currency", "events", "amount_sum", "previous_events",
               "previous_amount_sum", "events_change_pct"]  # fmt: skip
    return merged[columns].sort_values(["kpi", "currency"]).reset_index(drop=True)


def sla_met_percent(summary: pd.DataFrame) -> float | None:
    """SLA met % = sla_met / (sla_met + sla_missed) x 100 from a KPI summary; None without SLA events."""
    counts = summary.groupby("kpi")["events"].sum()
    met = int(counts.get("sla_met", 0))
    missed = int(counts.get("sla_missed", 0))
    return None if met + missed == 0 else met / (met + missed) * 100.0
