"""What the store knows about: the sidebar's choices and how fresh the data is."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from models.db import Store
from models.tenancy import tenant_params

__all__ = ["DIMENSIONS", "dimension_values", "newest_record"]

DIMENSIONS = ("tenant", "product_line", "workflow")


def dimension_values(store: Store, tenants: Sequence[str] | None = None) -> dict[str, list[str]]:
    """Known tenants, product lines and workflows (limited to ``tenants`` when given)."""
    rows = store.query("dashboard/dimensions", **tenant_params(tenants))
    found: dict[str, list[str]] = {name: [] for name in DIMENSIONS}
    for row in rows:
        found[row["dimension"]].append(row["value"])
    return found


def newest_record(store: Store, tenants: Sequence[str] | None = None) -> datetime | None:
    """Start of the newest minute with spans or hour with KPI events the reader may see."""
    row = store.query("dashboard/freshness", **tenant_params(tenants))[0]
    moments = [pd.Timestamp(v).to_pydatetime() for v in row.values() if v is not None]
    moments = [m.replace(tzinfo=None) for m in moments if m.year > 1970]
    return max(moments) if moments else None
