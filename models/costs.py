"""Cost attribution: FOCUS import into ``cost_records``, shared-cost allocation, unit economics.

Import is all-or-nothing per file and idempotent per billing slice (billing account +
billing period): a slice whose rows are already stored unchanged is skipped; a corrected
file replaces its slice (new rows in, old rows out, the daily rollup slice rebuilt).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from models.allocation import CostLine, allocate
from models.db import Store, concurrently
from models.focus import CostRows, read_focus_file, validate_focus
from models.tenancy import tenant_params

__all__ = [
    "COST_GROUPS",
    "ImportResult",
    "attributed_costs",
    "import_cost_file",
    "store_cost_rows",
    "unit_economics",
]

logger = logging.getLogger(__name__)

COST_GROUPS = ("tenant", "product_line", "workflow")
_BATCH = 5000


@dataclass
class ImportResult:
    """What one import did: rows written, slices replaced / unchanged, unallocated rows."""

    rows: int = 0
    slices_written: list[tuple[str, datetime]] = field(default_factory=list)
    slices_unchanged: list[tuple[str, datetime]] = field(default_factory=list)
    unallocated_rows: int = 0
    billed_total: dict[str, Decimal] = field(default_factory=dict)


def import_cost_file(
    store: Store,
    path: Path,
    *,
    tag_keys: Sequence[str],
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Validate a FOCUS CSV/Parquet file completely, then store it slice by slice (idempotent)."""
    frame, row_name = read_focus_file(path)
    rows = validate_focus(frame, tag_keys=tag_keys, source=path.name, row_name=row_name)
    return store_cost_rows(store, rows, progress=progress)


def store_cost_rows(
    store: Store, rows: CostRows, *, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Write validated rows; each (account, billing period) slice is replaced or left as is."""
    result = ImportResult()
    accounts = rows.columns["BillingAccountId"]
    periods = rows.columns["BillingPeriodStart"]
    for currency, billed in zip(
        rows.columns["BillingCurrency"], rows.columns["BilledCost"], strict=True
    ):
        result.billed_total[currency] = result.billed_total.get(currency, Decimal(0)) + billed
    result.unallocated_rows = sum(
        1 for m in rows.columns["x_allocation_method"] if m == "unallocated"
    )
    import_id = f"{rows.columns['x_source'][0]}#{uuid.uuid4().hex[:12]}"
    for account, period in rows.slices:
        indexes = [
            i
            for i, (a, p) in enumerate(zip(accounts, periods, strict=True))
            if (a, p) == (account, period)
        ]
        new_ids = {rows.columns["x_row_id"][i] for i in indexes}
        stored = {
            r["x_row_id"]
            for r in store.query("costs/slice_row_ids", account=account, period_start=period)
        }
        if stored == new_ids:
            result.slices_unchanged.append((account, period))
            if progress:
                progress(len(indexes))
            continue
        columns = list(rows.columns)
        for offset in range(0, len(indexes), _BATCH):
            chunk = indexes[offset : offset + _BATCH]
            data = [
                [rows.columns[c][i] if c != "x_source" else import_id for i in chunk]
                for c in columns
            ]
            store.insert("cost_records", data, columns, column_oriented=True)
            if progress:
                progress(len(chunk))
        store.execute(
            "costs/delete_slice_except", account=account, period_start=period, keep_source=import_id
        )
        store.execute("costs/delete_daily_slice", account=account, period_start=period)
        store.execute("costs/rebuild_daily_slice", account=account, period_start=period)
        result.slices_written.append((account, period))
        result.rows += len(indexes)
        logger.info("cost slice %s / %s: %d rows stored", account, period, len(indexes))
    return result


def _check_group(by: str) -> None:
    if by not in COST_GROUPS:
        raise ValueError(f"--by must be one of {', '.join(COST_GROUPS)}, not {by!r}")


def attributed_costs(
    store: Store,
    start: date,
    end: date,
    *,
    by: str = "tenant",
    policy: str = "proportional",
    weights: Mapping[str, str] | None = None,
    daily: bool = False,
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns period_start, period_end, <by>, allocation_method, currency, billed_cost, effective_cost (Decimal); rows sum to the stored total."""
    _check_group(by)
    params: dict[str, Any] = {"by": by, "daily": int(daily), "start": start, "end": end}
    lines, usage_rows = concurrently(
        lambda: store.query("costs/lines", **params, **tenant_params(tenants)),
        lambda: store.query("costs/usage_weights", **params, **tenant_params(None)),
    )
    weight_map = {k: Decimal(v) for k, v in (weights or {}).items()}
    periods: dict[date, list[CostLine]] = {}
    for row in lines:
        periods.setdefault(row["day"], []).append(
            CostLine(
                row["key"],
                row["currency"],
                row["allocation_method"],
                Decimal(row["billed_cost"]),
                Decimal(row["effective_cost"]),
            )
        )
    usage: dict[date, dict[str, Decimal]] = {}
    for row in usage_rows:
        usage.setdefault(row["day"], {})[row["key"]] = Decimal(row["runs"])
    out = []
    for day in sorted(periods):
        period_end = day + timedelta(days=1) if daily else end
        allocated = allocate(
            periods[day], policy=policy, usage=usage.get(day, {}), weights=weight_map
        )
        for line in allocated:
            out.append(
                {
                    "period_start": day,
                    "period_end": period_end,
                    by: line.key,
                    "allocation_method": line.method,
                    "currency": line.currency,
                    "billed_cost": line.billed,
                    "effective_cost": line.effective,
                }
            )
    columns = ["period_start", "period_end", by, "allocation_method", "currency",
               "billed_cost", "effective_cost"]  # fmt: skip
    frame = pd.DataFrame(out, columns=columns)
    if tenants is not None and by == "tenant":
        frame = frame[frame["tenant"].isin(list(tenants))].reset_index(drop=True)
    if frame.empty:
        return frame
    return (
        frame.groupby(columns[:5], as_index=False, sort=True)[["billed_cost", "effective_cost"]]
        .sum()
        .reset_index(drop=True)
    )


def unit_economics(
    store: Store,
    start: date,
    end: date,
    *,
    by: str = "workflow",
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns day, key, currency, effective_cost, transactions, orders, cost_per_transaction, cost_per_order (NaN when zero)."""
    _check_group(by)
    frame = store.query_df(
        "costs/unit_economics", by=by, start=start, end=end, **tenant_params(tenants)
    )
    cost = frame["effective_cost"].astype(float)
    frame["cost_per_transaction"] = cost / frame["transactions"].where(frame["transactions"] > 0)
    frame["cost_per_order"] = cost / frame["orders"].where(frame["orders"] > 0)
    return frame
