"""Every workflow Flowmeter sees, native or recognized: runs, failures, retries, p95, ROI.

What ``flowmeter workflows`` prints and the Baselines page lists: one row per workflow with
the profile or rule that recognized it (``source``: ``flowmeter`` for the native dialect,
``celery``, ``prefect``... or ``rules``), and, when a baseline exists, its latest version,
currency and the period's net savings (models/roi_report.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd

from models.db import Store
from models.roi_report import roi_report
from models.tenancy import tenant_params, utc

__all__ = ["WORKFLOW_COLUMNS", "workflow_list"]

WORKFLOW_COLUMNS = (
    "workflow", "source", "runs", "completed", "failed", "retries", "p95_ms", "last_seen",
    "baseline_version", "currency", "net_savings",
)  # fmt: skip


def _hours(start: datetime, end: datetime) -> tuple[datetime, datetime]:
    floor = start.replace(minute=0, second=0, microsecond=0)
    ceil = end.replace(minute=0, second=0, microsecond=0)
    return floor, ceil + timedelta(hours=1) if ceil < end else ceil


def workflow_list(
    store: Store, start: datetime, end: datetime, *, tenants: Sequence[str] | None = None
) -> pd.DataFrame:
    """Columns WORKFLOW_COLUMNS over [start, end) widened to whole hours; baseline columns empty without one."""
    start, end = _hours(utc(start), utc(end))
    frame = store.query_df("recognition/workflows", start=start, end=end, **tenant_params(tenants))
    frame = frame.drop(columns=["q"], errors="ignore")
    roi = roi_report(store, start, end, tenants=tenants)
    latest: dict[str, tuple[int, str, Decimal]] = {}
    for workflow, rows in roi[roi["baseline_version"].notna()].groupby("workflow"):
        top = rows.sort_values("baseline_version").iloc[-1]
        same = rows[rows["currency"] == top["currency"]]
        latest[str(workflow)] = (
            int(top["baseline_version"]),
            str(top["currency"]),
            sum((Decimal(str(v)) for v in same["net_savings"]), Decimal(0)),
        )
    frame["baseline_version"] = pd.Series(
        [latest[w][0] if w in latest else None for w in frame["workflow"]], dtype="object"
    )
    frame["currency"] = [latest[w][1] if w in latest else "" for w in frame["workflow"]]
    frame["net_savings"] = pd.Series(
        [latest[w][2] if w in latest else None for w in frame["workflow"]], dtype="object"
    )
    return frame[list(WORKFLOW_COLUMNS)]
