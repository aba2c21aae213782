"""Cost exports (showback / chargeback): CSV with a BOM, typed XLSX, Parquet, HTML report.

Every export carries period_start, period_end, the group key, effective_cost, billed_cost,
currency and allocation_method, and its rows sum to the stored total (the allocation is
exact; unallocated cost is its own row).

Exports are inert (OWASP "CSV injection"): a text cell that a spreadsheet would read as a
formula (it starts with = + - @, a tab or a carriage return) gets a leading ``'`` in CSV, and
is written as a string cell (data type ``s``, quote-prefixed) in XLSX, where the text stays
exactly as stored. Numbers and dates are never touched, so a credit stays a negative number.
The HTML report escapes every value (great_tables escapes cells, titles and notes; the
document title is escaped here).
"""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

__all__ = ["EXPORT_FORMATS", "inert_text", "write_cost_export"]

EXPORT_FORMATS = ("csv", "xlsx", "parquet", "html")
_UNALLOCATED_LABEL = "(unallocated)"
# What starts a formula in Excel, LibreOffice and Google Sheets (OWASP CSV injection list).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def inert_text(value: str) -> str:
    """``value`` with a leading ``'`` when a spreadsheet would run it as a formula."""
    return f"'{value}" if value.startswith(_FORMULA_STARTS) else value


def _inert_strings(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    for column in out.columns:
        if not pd.api.types.is_numeric_dtype(out[column]):
            out[column] = out[column].map(lambda v: inert_text(v) if isinstance(v, str) else v)
    return out


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
        # The BOM makes Excel read UTF-8; CRLF (RFC 4180) makes the writer quote a bare CR.
        _inert_strings(frame).to_csv(path, index=False, encoding="utf-8-sig", lineterminator="\r\n")
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
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str):
                # openpyxl turns any text starting with "=" into a formula: force a string.
                cell.data_type = "s"
                cell.quotePrefix = inert_text(cell.value) != cell.value  # Excel keeps it text
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
    title = html.escape(
        f"Flowmeter cost by {by.replace('_', ' ')}, {start.isoformat()} to {end.isoformat()}"
    )
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
        f"</head><body>\n{table.as_raw_html()}\n</body></html>\n"
    )
