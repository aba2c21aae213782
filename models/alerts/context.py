"""Business context of an alert on runs: affected runs and entities, money at risk, examples."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from models.alerts.rules import Rule
from models.db import Store
from models.tenancy import tenant_params, utc

__all__ = ["RUN_MEASURES", "AffectedRuns", "affected_runs"]

# Measures about run outcomes: their alerts list the failed runs behind them.
RUN_MEASURES = ("dead_letters_added", "run_error_rate", "slo_burn_rate")


@dataclass(frozen=True)
class AffectedRuns:
    """The failed or dead-lettered runs an alert is about."""

    runs: int
    entities: int
    examples: tuple[str, ...]  # up to three correlation ids
    money_at_risk: Mapping[str, Decimal]  # currency -> sum of their KPI event amounts


def affected_runs(
    store: Store, rule: Rule, group: Mapping[str, str], start: datetime, end: datetime
) -> AffectedRuns | None:
    """The runs behind an alert on a run measure (None for other measures)."""
    if rule.measure not in RUN_MEASURES:
        return None
    tenant = group.get("tenant") or rule.filters.get("tenant")
    [row] = store.query(
        "alerts/affected_runs",
        workflow=group.get("workflow") or rule.filters.get("workflow", ""),
        start=utc(start),
        end=utc(end),
        **tenant_params([tenant] if tenant else None),
    )
    ids = sorted(str(i) for i in row["correlation_ids"])
    money = (
        {
            str(r["currency"]): Decimal(r["total"])
            for r in store.query("alerts/money_at_risk", correlation_ids=ids)
        }
        if ids
        else {}
    )
    return AffectedRuns(int(row["runs"]), int(row["entities"]), tuple(ids[:3]), money)
