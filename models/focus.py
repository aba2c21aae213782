"""FOCUS 1.2/1.3 cost-and-usage files -> validated ``cost_records`` rows. Pure: no store.

Every problem is collected before anything is written: a missing mandatory column is named,
bad values are reported with their line numbers (CSV: the file line, header = line 1;
Parquet: the row number), and a file with any error imports nothing. Tags map to tenant /
product line / workflow by the configured keys; a ``shared = "true"`` tag marks a platform
bill for allocation; a row with neither stays ``unallocated`` (kept, never dropped).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from models.errors import CostImportError

__all__ = ["MANDATORY_COLUMNS", "CostRows", "read_focus_file", "validate_focus"]

MANDATORY_COLUMNS = (
    "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListCost",
    "ContractedCost", "ChargeCategory", "ServiceName",
)  # fmt: skip
# FOCUS 1.3 renamed ProviderName to ServiceProviderName: either one is accepted.
PROVIDER_COLUMNS = ("ProviderName", "ServiceProviderName")
_DATES = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
_MONEY = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
_OPTIONAL_DECIMALS = ("PricingQuantity", "ConsumedQuantity", "ListUnitPrice")
_OPTIONAL_TEXT = (
    "PricingUnit", "ConsumedUnit", "BillingAccountName", "ChargeClass", "ChargeDescription",
    "HostProviderName", "ResourceId", "ResourceName", "ResourceType", "RegionId",
    "SubAccountId", "SkuId",
)  # fmt: skip
_REQUIRED_TEXT = ("InvoiceIssuerName", "PublisherName", "ServiceCategory")
MAX_REPORTED = 20
SHARED_TAG = "shared"


@dataclass(frozen=True)
class CostRows:
    """Validated rows ready for ``cost_records`` (column name -> values), and their slices."""

    columns: dict[str, list[Any]]
    slices: list[tuple[str, datetime]]  # (BillingAccountId, BillingPeriodStart) present

    @property
    def count(self) -> int:
        """Number of rows."""
        return len(self.columns["x_row_id"])


def read_focus_file(path: Path) -> tuple[pd.DataFrame, Callable[[int], str]]:
    """Read a CSV or Parquet FOCUS file as text cells; also how to name a row in errors."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            frame = pd.read_parquet(path)
            frame = frame.astype(object).where(frame.notna(), "")
            return frame, lambda i: f"row {i + 1}"
        if suffix in (".csv", ".txt"):
            frame = pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding="utf-8-sig", skipinitialspace=True
            )
            return frame, lambda i: f"line {i + 2}"
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise CostImportError(f"{path}: cannot read it as {suffix[1:]} ({exc})") from None
    raise CostImportError(f"{path}: expected a .csv or .parquet FOCUS file")


def _date(value: Any) -> datetime:
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip().replace("Z", "+00:00")
        if not text:
            raise ValueError("is empty")
        moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def _decimal(value: Any) -> Decimal:
    text = str(value).strip()
    if not text:
        raise ValueError("is empty")
    amount = Decimal(text)
    if not amount.is_finite():
        raise ValueError("is not a finite number")
    return amount


def _tags(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list | tuple):  # parquet map -> list of (key, value)
        return {str(k): str(v) for k, v in value}
    text = str(value).strip()
    if not text:
        return {}
    parsed = json.loads(text)
    if not isinstance(parsed, dict):
        raise ValueError("is not a JSON object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in parsed.items()}


def validate_focus(
    frame: pd.DataFrame,
    *,
    tag_keys: Sequence[str],
    source: str,
    row_name: Callable[[int], str] = lambda i: f"row {i + 1}",
) -> CostRows:
    """Validate a FOCUS frame; CostImportError naming missing columns or bad lines."""
    present = set(frame.columns)
    missing = [c for c in MANDATORY_COLUMNS if c not in present]
    if not present & set(PROVIDER_COLUMNS):
        missing.append("ProviderName (or ServiceProviderName)")
    if missing:
        raise CostImportError(f"{source}: missing mandatory FOCUS column(s): {', '.join(missing)}")
    if frame.empty:
        raise CostImportError(f"{source}: the file has a header but no rows")
    tenant_key, product_key, workflow_key = tag_keys
    out: dict[str, list[Any]] = {}
    errors: list[str] = []
    seen: dict[str, int] = {}
    slices: set[tuple[str, datetime]] = set()
    records = frame.to_dict("records")
    for index, record in enumerate(records):
        row: dict[str, Any] = {}
        problems: list[str] = []
        for column in _DATES:
            try:
                row[column] = _date(record[column])
            except (ValueError, TypeError) as exc:
                problems.append(f"{column} {record[column]!r} is not an ISO 8601 date ({exc})")
        for column in _MONEY:
            try:
                row[column] = _decimal(record[column])
            except (InvalidOperation, ValueError) as exc:
                problems.append(f"{column} {record[column]!r} is not a number ({exc})")
        for column in _OPTIONAL_DECIMALS:
            raw = record.get(column, "")
            try:
                row[column] = _decimal(raw) if str(raw).strip() else None
            except (InvalidOperation, ValueError):
                problems.append(f"{column} {raw!r} is not a number")
        for column in ("BillingAccountId", "BillingCurrency", "ChargeCategory", "ServiceName"):
            row[column] = str(record[column]).strip()
            if not row[column]:
                problems.append(f"{column} is empty")
        if row["BillingCurrency"] and len(row["BillingCurrency"]) != 3:
            problems.append(f"BillingCurrency {row['BillingCurrency']!r} is not a 3-letter code")
        try:
            tags = _tags(record.get("Tags", ""))
        except (ValueError, TypeError) as exc:
            problems.append(f"Tags is not a JSON object ({exc})")
            tags = {}
        if not problems and row["ChargePeriodEnd"] < row["ChargePeriodStart"]:
            problems.append("ChargePeriodEnd is before ChargePeriodStart")
        if problems:
            errors.extend(f"{row_name(index)}: {p}" for p in problems)
            continue
        provider = next((str(record[c]) for c in PROVIDER_COLUMNS if str(record.get(c, ""))), "")
        row["ProviderName"] = provider
        row["ServiceProviderName"] = str(record.get("ServiceProviderName", "")) or None
        for column in _REQUIRED_TEXT:
            row[column] = str(record.get(column, ""))
        for column in _OPTIONAL_TEXT:
            value = str(record.get(column, "")).strip()
            row[column] = value or None
        row["Tags"] = tags
        row["x_tenant"] = tags.get(tenant_key, "")
        row["x_product_line"] = tags.get(product_key, "")
        row["x_workflow"] = tags.get(workflow_key, "")
        if row["x_tenant"] or row["x_product_line"] or row["x_workflow"]:
            row["x_allocation_method"] = "tag"
        elif tags.get(SHARED_TAG, "").lower() == "true":
            row["x_allocation_method"] = "shared"
        else:
            row["x_allocation_method"] = "unallocated"
        fingerprint = json.dumps(
            {k: str(v) for k, v in sorted(record.items())}, sort_keys=True, default=str
        )
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
        seen[digest] = seen.get(digest, 0) + 1  # identical lines are distinct charges
        row["x_row_id"] = f"{digest}-{seen[digest]}"
        row["x_source"] = source
        slices.add((row["BillingAccountId"], row["BillingPeriodStart"]))
        for key, value in row.items():
            out.setdefault(key, []).append(value)
    if errors:
        shown = "\n  ".join(errors[:MAX_REPORTED])
        more = (
            f"\n  ... and {len(errors) - MAX_REPORTED} more" if len(errors) > MAX_REPORTED else ""
        )
        raise CostImportError(
            f"{source}: {len(errors)} bad value(s); nothing was imported:\n  {shown}{more}"
        )
    return CostRows(out, sorted(slices))
