"""Cost attribution: FOCUS import into ``cost_records``, shared-cost allocation, unit economics.

Import validates the whole file first, then replaces it slice by slice (billing account +
billing period), each slice atomically (docs/adr/0008-cost-import-atomicity.md): the new rows
are staged under a new generation, one commit row makes that generation the slice's current
one, and the older generations are swept. Readers see only committed generations, so a crash
between the steps never doubles nor drops cost. A slice already stored unchanged is skipped.
"""

from __future__ import annotations

import logging
import time
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
from models.focus import CostRows, FocusReport, read_focus
from models.tenancy import tenant_params

__all__ = [
    "COST_GROUPS",
    "ImportResult",
    "attributed_costs",
    "commit_slice",
    "import_cost_file",
    "slice_totals",
    "stage_slice",
    "store_cost_rows",
    "sweep_slice",
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
    report: FocusReport | None = None

    def summary(self) -> str:
        """One line: rows stored, slices, unallocated rows and the file's billed total."""
        totals = ", ".join(f"{t:,.2f} {cur}" for cur, t in sorted(self.billed_total.items()))
        return (
            f"{self.rows} row(s) stored in {len(self.slices_written)} billing slice(s); "
            f"{len(self.slices_unchanged)} slice(s) already imported unchanged; "
            f"{self.unallocated_rows} row(s) without tenant/product line/workflow tags "
            f"(kept as unallocated). File total billed: {totals or 'nothing'}."
        )


def import_cost_file(
    store: Store,
    path: Path,
    *,
    tag_keys: Sequence[str],
    skip_bad: bool = False,
    source: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> ImportResult:
    """Validate a FOCUS file, folder or manifest completely, then store it slice by slice."""

    def validated(done: int, total: int) -> None:
        if progress:
            progress("validating", done, total)

    rows, report = read_focus(
        path, tag_keys=tag_keys, source=source, skip_bad=skip_bad, progress=validated
    )
    stored = [0]

    def written(count: int) -> None:
        stored[0] += count
        if progress:
            progress("storing", stored[0], rows.count)

    result = store_cost_rows(store, rows, progress=written)
    result.report = report
    return result


def _slice_indexes(rows: CostRows) -> dict[tuple[str, datetime], list[int]]:
    groups: dict[tuple[str, datetime], list[int]] = {}
    accounts, periods = rows.columns["BillingAccountId"], rows.columns["BillingPeriodStart"]
    for i, key in enumerate(zip(accounts, periods, strict=True)):
        groups.setdefault(key, []).append(i)
    return groups


def stage_slice(
    store: Store, rows: CostRows, account: str, period: datetime, import_id: str,
    progress: Callable[[int], None] | None = None, indexes: list[int] | None = None,
) -> int:  # fmt: skip
    """Step 1: write one slice's rows under a new generation (invisible until committed)."""
    found = store.query("costs/slice_generation", account=account, period_start=period)[0]
    generation = max(time.time_ns(), int(found["generation"]) + 1)  # above all the slice has seen
    if indexes is None:
        indexes = _slice_indexes(rows).get((account, period), [])
    columns = [c for c in rows.columns if c != "x_generation"]
    for offset in range(0, len(indexes), _BATCH):
        chunk = indexes[offset : offset + _BATCH]
        data = [
            [rows.columns[c][i] if c != "x_source" else import_id for i in chunk] for c in columns
        ]
        data.append([generation] * len(chunk))
        store.insert("cost_records", data, [*columns, "x_generation"], column_oriented=True)
        if progress:
            progress(len(chunk))
    return generation


def commit_slice(
    store: Store, account: str, period: datetime, generation: int, *, source: str, rows: int
) -> None:
    """Step 2: make ``generation`` the slice's current one (one single-row insert: atomic)."""
    store.insert(
        "cost_slice_commits",
        [[account, period, generation, source, rows]],
        ["account", "billing_period_start", "generation", "source", "rows"],
    )


def sweep_slice(store: Store, account: str, period: datetime, generation: int) -> None:
    """Step 3: delete the slice's older generations (already invisible; only frees space)."""
    params = {"account": account, "period_start": period, "generation": generation}
    store.execute("costs/sweep_slice", **params)
    store.execute("costs/sweep_daily_slice", **params)


def _state(store: Store, account: str, period: datetime) -> dict[str, Any]:
    return store.query("costs/slice_state", account=account, period_start=period)[0]


def slice_totals(store: Store, account: str, period: datetime) -> dict[str, Any]:
    """What readers see of one slice: raw_rows, raw_billed, daily_rows, daily_billed."""
    return store.query("costs/slice_totals", account=account, period_start=period)[0]


def store_cost_rows(
    store: Store, rows: CostRows, *, progress: Callable[[int], None] | None = None
) -> ImportResult:
    """Write validated rows; each (account, billing period) slice is replaced or left as is."""
    result = ImportResult()
    for currency, billed in zip(
        rows.columns["BillingCurrency"], rows.columns["BilledCost"], strict=True
    ):
        result.billed_total[currency] = result.billed_total.get(currency, Decimal(0)) + billed
    result.unallocated_rows = sum(
        1 for m in rows.columns["x_allocation_method"] if m == "unallocated"
    )
    import_id = f"{rows.columns['x_source'][0]}#{uuid.uuid4().hex[:12]}"
    groups = _slice_indexes(rows)
    for account, period in rows.slices:
        indexes = groups[(account, period)]
        new_ids = {rows.columns["x_row_id"][i] for i in indexes}
        stored = {
            r["x_row_id"]
            for r in store.query("costs/slice_row_ids", account=account, period_start=period)
        }
        if stored == new_ids:
            # a crash after an earlier commit may have left older generations: sweep them now
            state = _state(store, account, period)
            if int(state["stale"]):
                sweep_slice(store, account, period, int(state["committed"]))
            result.slices_unchanged.append((account, period))
            if progress:
                progress(len(indexes))
            continue
        generation = stage_slice(store, rows, account, period, import_id, progress, indexes=indexes)
        commit_slice(store, account, period, generation, source=import_id, rows=len(indexes))
        if int(_state(store, account, period)["stale"]):  # a mutation: only when needed
            sweep_slice(store, account, period, generation)
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
