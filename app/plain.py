"""Values as JSON has them, for the API, the report files and ``--json`` output (no FastAPI)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

__all__ = ["plain"]


def plain(value: Any, *, naive_is_utc: bool = False) -> Any:
    """Decimal -> string (exact), date/time -> ISO 8601, NaN/NaT/inf -> null, dataclasses and
    containers recursively; with ``naive_is_utc`` a naive datetime is written as UTC."""
    if value is None or value is pd.NaT or isinstance(value, bool | str | int):
        return None if value is pd.NaT else value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.isoformat()
    if isinstance(value, datetime):
        if naive_is_utc and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return plain(dataclasses.asdict(value), naive_is_utc=naive_is_utc)
    if isinstance(value, Mapping):
        return {str(k): plain(v, naive_is_utc=naive_is_utc) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v, naive_is_utc=naive_is_utc) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return plain(value.item(), naive_is_utc=naive_is_utc)
    return str(value)
