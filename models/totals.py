"""Totals over a per-group health summary: the figures of the tiles above its table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

__all__ = ["HealthTotals", "health_totals"]


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
