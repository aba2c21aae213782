"""Versioned ROI baselines in ``roi_baselines``: set a new version, read the history."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pandas as pd

from models.db import Store
from models.roi import Baseline
from models.tenancy import utc

__all__ = ["baseline_history", "load_baselines", "set_baseline"]

_COLUMNS = [
    "workflow", "version", "effective_from", "manual_minutes", "hourly_rate", "currency",
    "manual_error_rate", "cost_per_error", "go_live_at", "changed_by", "changed_at", "reason",
]  # fmt: skip


def baseline_history(store: Store, workflow: str = "") -> pd.DataFrame:
    """Columns workflow, version, effective_from, manual_minutes, hourly_rate, currency, manual_error_rate, cost_per_error, go_live_at, changed_by, changed_at, reason."""
    return store.query_df("roi/baselines", workflow=workflow)


def load_baselines(store: Store, workflow: str = "") -> list[Baseline]:
    """Every baseline version as ``Baseline`` values (money as Decimal)."""
    return [
        Baseline(
            workflow=row["workflow"],
            version=int(row["version"]),
            effective_from=utc(row["effective_from"]),
            manual_minutes=Decimal(row["manual_minutes"]),
            hourly_rate=Decimal(row["hourly_rate"]),
            currency=row["currency"],
            manual_error_rate=Decimal(row["manual_error_rate"]),
            cost_per_error=Decimal(row["cost_per_error"]),
            go_live_at=utc(row["go_live_at"]) if row["go_live_at"] else None,
            changed_by=row["changed_by"],
            reason=row["reason"],
        )
        for row in store.query("roi/baselines", workflow=workflow)
    ]


def set_baseline(
    store: Store,
    workflow: str,
    *,
    manual_minutes: Decimal,
    hourly_rate: Decimal,
    manual_error_rate: Decimal,
    cost_per_error: Decimal,
    currency: str,
    reason: str,
    changed_by: str,
    effective_from: datetime | None = None,
    go_live_at: datetime | None = None,
) -> Baseline:
    """Record the next baseline version of ``workflow`` (history is never overwritten)."""
    problems = []
    if not workflow.strip():
        problems.append("workflow is empty")
    if manual_minutes <= 0:
        problems.append("--manual-minutes must be above 0")
    if hourly_rate < 0 or cost_per_error < 0:
        problems.append("--hourly-rate and --cost-per-error must be >= 0")
    if not 0 <= manual_error_rate <= 1:
        problems.append("--error-rate is a fraction between 0 and 1")
    if len(currency.strip()) != 3:
        problems.append("--currency is a 3-letter code such as EUR")
    if not reason.strip():
        problems.append("--reason is required: say why the baseline changes")
    if problems:
        raise ValueError("; ".join(problems))
    existing = load_baselines(store, workflow)
    version = max((b.version for b in existing), default=0) + 1
    now = datetime.now(UTC).replace(tzinfo=None)
    baseline = Baseline(
        workflow=workflow,
        version=version,
        effective_from=utc(effective_from) if effective_from else now,
        manual_minutes=manual_minutes,
        hourly_rate=hourly_rate,
        currency=currency.strip().upper(),
        manual_error_rate=manual_error_rate,
        cost_per_error=cost_per_error,
        go_live_at=utc(go_live_at) if go_live_at else None,
        changed_by=changed_by,
        reason=reason,
    )
    store.insert(
        "roi_baselines",
        [[baseline.workflow, baseline.version, baseline.effective_from, baseline.manual_minutes,
          baseline.hourly_rate, baseline.currency, baseline.manual_error_rate,
          baseline.cost_per_error, baseline.go_live_at, baseline.changed_by, now, baseline.reason]],
        _COLUMNS,
    )  # fmt: skip
    return baseline
