"""Render reports: the digest as HTML (e-mail body), PDF (from the same HTML) and JSON; tables
as CSV, XLSX and JSON. Every value is escaped (Jinja2 autoescape) and spreadsheet cells are
written as values, never formulas."""

from __future__ import annotations

import io
import json
import math
from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from app import formatting
from app.plain import plain
from models.digest import Digest

__all__ = [
    "REPORT_FORMATS",
    "digest_html",
    "digest_json",
    "digest_text",
    "money",
    "pdf",
    "table_bytes",
    "table_html",
    "workbook",
]

REPORT_FORMATS = ("html", "pdf", "csv", "xlsx", "json")


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _number(value: Any, decimals: int = 0) -> str:
    return "–" if _missing(value) else f"{float(value):,.{decimals}f}"


def _ratio(value: Any) -> str:
    return "–" if _missing(value) else f"{float(value) * 100:.2f}%"


def _percent(value: Any) -> str:
    return "–" if _missing(value) else formatting.percent(value, decimals=1)


def money(value: Any, currency: str, decimals: int = 0) -> str:
    """Money as on the dashboard; ``–`` when unknown."""
    return "–" if _missing(value) else formatting.money(value, currency, decimals=decimals)


def _signed(value: Any, currency: str) -> str:
    return "–" if _missing(value) else formatting.signed_money(value, currency)


_ENV = Environment(
    loader=PackageLoader("app.reports", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
_ENV.filters.update(
    number=_number, ratio=_ratio, percent=_percent, money=money, signed_money=_signed
)


def _cell_text(value: Any) -> str:
    if _missing(value):
        return ""
    if isinstance(value, Decimal):
        return f"{value:,.2f}"
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


_ENV.filters["cell"] = _cell_text


def table_html(frame: pd.DataFrame, *, title: str, subtitle: str) -> str:
    """A table as a printable HTML page (every value escaped)."""
    return _ENV.get_template("table.html").render(
        title=title,
        subtitle=subtitle,
        columns=[str(c) for c in frame.columns],
        rows=frame.to_dict("records"),
    )


def _period(start: datetime, end: datetime) -> str:
    last = (end - timedelta(microseconds=1)).date()
    return f"{start.date().isoformat()} to {last.isoformat()}"


def _title(digest: Digest) -> str:
    return f"Flowmeter weekly digest, {_period(digest.start, digest.end)}"


def digest_html(
    digest: Digest, *, dashboard_url: str = "", tenants: tuple[str, ...] | None = None
) -> str:
    """The digest as a self-contained HTML page (inline styles: it is also the e-mail body)."""
    change = digest.roi.net_savings - digest.previous_roi.net_savings
    return _ENV.get_template("digest.html").render(
        title=_title(digest),
        period=_period(digest.start, digest.end),
        previous_period=_period(digest.previous_start, digest.start),
        roi=digest.roi,
        previous_roi=digest.previous_roi,
        net_change=_signed(change, digest.roi.currency),
        slo=digest.slo,
        kpis=digest.kpis,
        workflows=digest.workflows,
        movers=digest.movers,
        dead_letters=digest.dead_letters,
        dashboard_url=dashboard_url.rstrip("/"),
        tenants=tenants,
    )


def digest_text(digest: Digest) -> str:
    """A plain-text summary: the e-mail's alternative part for clients that show no HTML."""
    roi, before = digest.roi, digest.previous_roi
    lines = [
        _title(digest),
        "",
        f"Net savings {money(roi.net_savings, roi.currency)} "
        f"({_signed(roi.net_savings - before.net_savings, roi.currency)} vs previous period)",
        f"ROI {_percent(roi.roi_percent)} (previous {_percent(before.roi_percent)})",
        f"Hours saved {_number(roi.hours_saved, 1)}, transactions {_number(roi.volume)}",
        f"Success {_ratio(digest.slo.success_rate)} (target {_ratio(digest.slo.success_target)}),"
        f" error budget burnt {_ratio(digest.slo.error_budget_burn)}",
        f"Dead letters: {len(digest.dead_letters)}",
        "",
        "The full digest is attached as a PDF.",
    ]
    return "\n".join(lines) + "\n"


def pdf(html: str) -> bytes:
    """The HTML laid out on A4 pages as PDF (WeasyPrint: the same page as the e-mail)."""
    from weasyprint import HTML

    return bytes(HTML(string=html).write_pdf())


def digest_json(digest: Digest) -> str:
    """The digest's figures as JSON: money as decimal strings, times as ISO 8601."""
    figures = plain(digest, naive_is_utc=True)
    for name in ("roi", "previous_roi"):
        figures[name]["savings_multiple"] = plain(getattr(digest, name).savings_multiple)
    for mover, source in zip(figures["movers"], digest.movers, strict=True):
        mover["change"] = str(source.change)
    figures["slo"]["met"] = digest.slo.met
    return json.dumps(figures, indent=2) + "\n"


def table_bytes(frame: pd.DataFrame, fmt: str, *, sheet: str = "report") -> bytes:
    """A table as CSV (with a BOM for Excel), XLSX or JSON lines; money stays exact."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8-sig")
    if fmt == "json":
        rows = [plain(row, naive_is_utc=True) for row in frame.to_dict("records")]
        return (json.dumps({"rows": rows}, indent=2) + "\n").encode()
    if fmt == "xlsx":
        return workbook({sheet: frame})
    raise ValueError(f"a table is written as csv, xlsx or json, not {fmt!r}")


def workbook(sheets: Mapping[str, pd.DataFrame]) -> bytes:
    """An XLSX file with one sheet per frame; text that looks like a formula stays text."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    assert book.active is not None
    book.remove(book.active)
    for title, frame in sheets.items():
        page = book.create_sheet(title=title[:31])
        columns = [str(c) for c in frame.columns]
        page.append(columns)
        for cell in page[1]:
            cell.font = Font(bold=True)
        for record in frame.to_dict("records"):
            page.append([_cell(record[c]) for c in columns])
        for row in page.iter_rows(min_row=2):
            for cell in row:
                if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
                    cell.data_type = "s"  # openpyxl would store '=...' as a live formula
        page.freeze_panes = "A2"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> Any:
    if _missing(value):
        return None
    if hasattr(value, "item"):  # numpy scalars; Decimals stay exact numbers in the sheet
        return value.item()
    return value
