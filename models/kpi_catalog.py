"""The KPI catalog: which business outcomes the dashboard shows, and their figures per period.

A catalog is the ``[[kpi]]`` tables of a rules file (models/rules.py). The one in
FLOWMETER_RULES_FILE wins; otherwise the latest catalog saved in the store (``flowmeter demo``
saves the demo's). ``kpi_tiles`` computes each tile's value for a period and the previous one
of the same length from KPI events (``kpi_summary``) or from completed runs of a workflow.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pandas as pd

from models.db import Store
from models.rules import Kpi
from models.rules_file import load_rules
from models.tenancy import tenant_params, utc

__all__ = ["KpiTile", "catalog", "kpi_tiles", "save_catalog", "stored_catalog"]

_COLUMNS = tuple(f.name for f in fields(Kpi))


def save_catalog(store: Store, kpis: Sequence[Kpi], origin: str) -> None:
    """Save ``kpis`` as the store's catalog (replacing the previous one for readers)."""
    saved_at = datetime.now(UTC)
    rows = [
        [saved_at, position, k.name, k.label, k.unit, k.currency, k.direction, k.aggregation,
         k.target, k.source, k.kpi, k.versus, k.workflow, k.outcome, int(k.tile), origin]
        for position, k in enumerate(kpis)
    ]  # fmt: skip
    names = ["saved_at", "position", "name", "label", "unit", "currency", "direction",
             "aggregation", "target", "source", "kpi", "versus", "workflow", "outcome", "tile",
             "origin"]  # fmt: skip
    store.insert("kpi_catalog", rows, names)


def stored_catalog(store: Store) -> tuple[Kpi, ...]:
    """The latest catalog saved in the store (empty when none was)."""
    return tuple(
        Kpi(**{**{k: row[k] for k in _COLUMNS}, "tile": bool(row["tile"])})
        for row in store.query("kpi/catalog")
    )


def catalog(store: Store, rules_file: Path | None) -> tuple[Kpi, ...]:
    """The catalog to show: the rules file's KPIs if it has any, else the store's."""
    if rules_file is not None:
        kpis = load_rules(rules_file).kpis
        if kpis:
            return kpis
    return stored_catalog(store)


@dataclass(frozen=True)
class KpiTile:
    """One KPI's figure for a period and the previous period of the same length."""

    kpi: Kpi
    value: float | None  # None: nothing to measure (a share without events)
    previous: float | None
    currency: str = ""

    @property
    def on_target(self) -> bool | None:
        """Whether the value meets the target in the KPI's good direction (None without one)."""
        if self.kpi.target is None or self.value is None:
            return None
        if self.kpi.direction == "up":
            return self.value >= self.kpi.target
        return self.value <= self.kpi.target


def _event_figure(
    kpi: Kpi, summary: pd.DataFrame, hours: float, previous: bool
) -> tuple[float | None, str]:
    events_col = "previous_events" if previous else "events"
    amount_col = "previous_amount_sum" if previous else "amount_sum"
    rows = summary[summary["kpi"] == kpi.kpi] if not summary.empty else summary
    events = float(rows[events_col].sum()) if not rows.empty else 0.0
    if kpi.aggregation == "count":
        return events, ""
    if kpi.aggregation == "per_hour":
        return events / hours, ""
    if kpi.aggregation == "share":
        other = summary[summary["kpi"] == kpi.versus] if not summary.empty else summary
        against = float(other[events_col].sum()) if not other.empty else 0.0
        total = events + against
        return (None if total == 0 else events / total * 100.0), ""
    currency = kpi.currency
    if not currency and not rows.empty:
        priced = rows[rows["currency"].astype(str) != ""]
        currency = str(priced.iloc[0]["currency"]) if not priced.empty else ""
    if currency and not rows.empty:
        rows = rows[rows["currency"] == currency]
    amounts = [Decimal(str(v)) for v in rows[amount_col] if v is not None and not _nan(v)]
    total_amount = float(sum(amounts, Decimal(0)))
    if kpi.aggregation == "avg":
        return (None if events == 0 else total_amount / events), currency
    return total_amount, currency


def _nan(value: object) -> bool:
    return isinstance(value, float) and math.isnan(value)


def _runs(
    store: Store, kpi: Kpi, start: datetime, end: datetime, tenants: Sequence[str] | None
) -> float:
    frame = store.query_df("roi/volume", bucket="hour", workflow=kpi.workflow,
                           start=start, end=end, **tenant_params(tenants))  # fmt: skip
    column = {"completed": "completed", "failed": "failed"}.get(kpi.outcome, "other")
    return float(frame[column].sum()) if not frame.empty else 0.0


def kpi_tiles(
    store: Store,
    kpis: Sequence[Kpi],
    summary: pd.DataFrame,
    start: datetime,
    end: datetime,
    *,
    tenants: Sequence[str] | None = None,
) -> list[KpiTile]:
    """Tile figures of the catalog's tile KPIs; ``summary`` is ``kpi_summary`` of the period."""
    start, end = utc(start), utc(end)
    hours = max((end - start).total_seconds() / 3600.0, 1.0)
    tiles = []
    for kpi in kpis:
        if not kpi.tile:
            continue
        if kpi.source == "runs":
            now = _runs(store, kpi, start, end, tenants)
            before = _runs(store, kpi, start - (end - start), start, tenants)
            if kpi.aggregation == "per_hour":
                now, before = now / hours, before / hours
            tiles.append(KpiTile(kpi, now, before, kpi.currency))
            continue
        value, currency = _event_figure(kpi, summary, hours, previous=False)
        previous, _ = _event_figure(kpi, summary, hours, previous=True)
        tiles.append(KpiTile(kpi, value, previous, currency))
    return tiles


def catalog_records(kpis: Sequence[Kpi]) -> list[dict[str, object]]:
    """The catalog as plain dicts (for JSON and the settings page)."""
    return [asdict(k) for k in kpis]
