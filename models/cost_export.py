"""Cost exports (showback / chargeback): CSV with a BOM, typed XLSX, Parquet, HTML report.

Every export carries period_start, period_end, the group key, effective_cost, billed_cost,
currency and allocation_method, and its rows sum to the stored total (the allocation is
exact; unallocated cost is its own row).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["EXPORT_FORMATS", "write_cost_export"]

EXPORT_FORMATS = ("csv", "xlsx", "parquet", "html")
_UNALLOCATED_LABEL = "(unallocated)"


def _labelled(frame: pd.DataFrame, by: str) -> pd.DataFrame:
    out = frame.copy()
    out[by] = out[by].where(out[by] != "", _UNALLOCATED_LABEL)
    return out


def write_cost_export(
    frame: pd.DataFrame,
    path: Path,
    fmt: str,
    *,
    by: str,
    start: date,
    end: date,
    policy: str,
) -> None:
    """Write an ``attributed_costs`` frame as csv / xlsx / parquet / html to ``path``."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {', '.join(EXPORT_FORMATS)}")
    frame = _labelled(frame, by)
    if fmt == "csv":
        frame.to_csv(path, index=False, encoding="utf-8-sig")  # the BOM makes Excel read UTF-8
    elif fmt == "parquet":
        schema = pa.schema(
            [("period_start", pa.date32()), ("period_end", pa.date32()), (by, pa.string()),
             ("allocation_method", pa.string()), ("currency", pa.string()),
             ("billed_cost", pa.decimal128(38, 10)), ("effective_cost", pa.decimal128(38, 10))]
        )  # fmt: skip
        table = pa.Table.from_pandas(frame, schema=schema, preserve_index=False)
        pq.write_table(table, path)
    elif fmt == "xlsx":
        _write_xlsx(frame, path, by)
    else:
        path.write_text(_html(frame, by=by, start=start, end=end, policy=policy), encoding="utf-8")


def _write_xlsx(frame: pd.DataFrame, path: Path, by: str) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "costs"
    columns = list(frame.columns)
    sheet.append(columns)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for record in frame.to_dict("records"):
        sheet.append([record[c] for c in columns])  # dates stay dates, Decimals numbers
    for index, column in enumerate(columns, start=1):
        letter = sheet.cell(row=1, column=index).column_letter
        if column.endswith("_cost"):
            for cell in sheet[letter][1:]:
                cell.number_format = "#,##0.00########"
        elif column.startswith("period_"):
            for cell in sheet[letter][1:]:
                cell.number_format = "yyyy-mm-dd"
        sheet.column_dimensions[letter].width = max(14, len(column) + 2)
    sheet.freeze_panes = "A2"
    book.save(path)


def _html(frame: pd.DataFrame, *, by: str, start: date, end: date, policy: str) -> str:
    from great_tables import GT

    shown = frame.copy()
    for column in ("billed_cost", "effective_cost"):
        shown[column] = shown[column].map(float)
    totals = frame.groupby("currency")[["billed_cost", "effective_cost"]].sum()
    total_text = "; ".join(
        f"{currency}: billed {Decimal(row.billed_cost):,.2f}, effective {Decimal(row.effective_cost):,.2f}"
        for currency, row in totals.iterrows()
    )
    currencies = sorted(set(frame["currency"]))
    table = GT(shown).tab_header(
        title=f"Cost by {by.replace('_', ' ')}",
        subtitle=f"{start.isoformat()} to {end.isoformat()} (end exclusive) · shared cost "
        f"allocation: {policy}",
    )
    if len(currencies) == 1:
        table = table.fmt_currency(
            columns=["billed_cost", "effective_cost"], currency=currencies[0]
        )
    table = table.tab_source_note(f"Totals — {total_text or 'no cost in this period'}")
    title = f"Flowmeter cost by {by.replace('_', ' ')}, {start.isoformat()} to {end.isoformat()}"
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body>\n{table.as_raw_html()}\n</body></html>\n"
    )
