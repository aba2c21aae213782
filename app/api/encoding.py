"""Answers as JSON ``{"rows": [...]}`` or CSV: money as decimal strings, times as ISO 8601."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
from fastapi import Request
from fastapi.responses import JSONResponse, Response

from app.plain import plain

__all__ = ["answer", "plain", "records", "wants_csv"]


def records(rows: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Rows of a frame or of dicts, every value made plain."""
    items = rows.to_dict("records") if isinstance(rows, pd.DataFrame) else rows
    return [{str(k): plain(v) for k, v in row.items()} for row in items]


def wants_csv(request: Request) -> bool:
    """``?format=csv`` or an ``Accept`` that prefers text/csv over JSON."""
    fmt = request.query_params.get("format", "").lower()
    if fmt:
        return fmt == "csv"
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def _csv(rows: Sequence[Mapping[str, Any]], columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()


def answer(request: Request, rows: pd.DataFrame | list[dict[str, Any]], **extra: Any) -> Response:
    """``{"rows": [...], **extra}`` as JSON, or the rows as CSV when the client asks for it."""
    columns = list(rows.columns) if isinstance(rows, pd.DataFrame) else []
    plain_rows = records(rows)
    if wants_csv(request):
        if not columns:
            columns = list(dict.fromkeys(k for row in plain_rows for k in row))
        return Response(_csv(plain_rows, columns), media_type="text/csv; charset=utf-8")
    return JSONResponse({"rows": plain_rows, **{k: plain(v) for k, v in extra.items()}})
