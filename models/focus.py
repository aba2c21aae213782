"""FOCUS 1.0-1.3 cost-and-usage files -> validated ``cost_records`` rows and a report. No store.

Columns Flowmeter computes with (account, currency, billing and charge periods, billed and
effective cost, tags) must be valid on every row; a bad row is named with its line (CSV: file
line, header = line 1; Parquet: row number) and, unless ``skip_bad``, nothing is imported.
Every other column may be null (``NULL``, ``None``, empty): it is stored as null and counted
in the report's warnings. Tags map to tenant / product line / workflow by the configured
keys; a ``shared = "true"`` tag marks a platform bill for allocation; a row with neither stays
``unallocated`` (kept, never dropped).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pandas as pd

from models.errors import CostImportError
from models.focus_columns import ENUM_COLUMNS, VERSIONS, ColumnMap, canonical_enum, map_columns
from models.focus_files import CostPart, cost_parts, read_part

__all__ = ["MAX_REPORTED", "REQUIRED_COLUMNS", "CostRows", "FocusReport", "read_focus"]

REQUIRED_COLUMNS = (
    "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost",
)  # fmt: skip
_DATES = ("BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd")
_MONEY = ("BilledCost", "EffectiveCost")
_NULLABLE_DECIMALS = ("ListCost", "ContractedCost", "PricingQuantity", "ConsumedQuantity",
                      "ListUnitPrice")  # fmt: skip
# non-null String columns of cost_records: '' when absent
_TEXT = (
    "ChargeCategory",
    "ServiceName",
    "ServiceCategory",
    "InvoiceIssuerName",
    "ProviderName",
    "PublisherName",
)  # fmt: skip
_NULLABLE_TEXT = (
    "PricingUnit", "ConsumedUnit", "BillingAccountName", "ChargeClass", "ChargeDescription",
    "HostProviderName", "ResourceId", "ResourceName", "ResourceType", "RegionId",
    "SubAccountId", "SkuId", "ServiceProviderName",
)  # fmt: skip
_STORED = {*REQUIRED_COLUMNS, *_NULLABLE_DECIMALS, *_TEXT, *_NULLABLE_TEXT, "Tags"}
# Columns FOCUS requires on every row but Flowmeter does not compute with: null is a warning.
_WARN_WHEN_NULL = ("ListCost", "ContractedCost", "ChargeCategory", "ServiceName",
                   "ServiceCategory", "InvoiceIssuerName", "PublisherName")  # fmt: skip
_NULLS = {"", "null", "none", "nan", "nat"}
_MAX_AMOUNT = Decimal(10) ** 18  # Decimal(28, 10)
_SCALE = Decimal("1e-10")
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


@dataclass
class FocusReport:
    """What was read and how: version, column mapping, rows kept and skipped, warnings."""

    source: str
    parts: list[str] = field(default_factory=list)
    version: str = ""
    mapped: list[str] = field(default_factory=list)  # FOCUS columns with a column of their own
    renamed: dict[str, str] = field(default_factory=dict)  # file name -> FOCUS name
    kept: list[str] = field(default_factory=list)  # stored in x_columns (x_ and other FOCUS)
    ignored: list[str] = field(default_factory=list)
    absent: list[str] = field(default_factory=list)  # FOCUS columns we store, not in the file
    rows_read: int = 0
    rows_valid: int = 0
    bad_count: int = 0
    bad_rows: list[str] = field(default_factory=list)  # names of the first bad rows
    problems: list[str] = field(default_factory=list)  # first MAX_REPORTED messages
    problem_count: int = 0
    nulls: dict[str, list[Any]] = field(default_factory=dict)  # column -> count, first rows
    unreadable: dict[str, list[Any]] = field(default_factory=dict)  # not numbers, stored null
    recased: dict[str, int] = field(default_factory=dict)  # column -> values re-cased
    unknown_enums: dict[str, set[str]] = field(default_factory=dict)

    def warnings(self) -> list[str]:
        """One line per kind of tolerated problem."""
        out = [f"{c}: not in the file, stored as null" for c in self.absent]
        for column, (count, *first) in sorted(self.nulls.items()):
            out.append(
                f"{column}: {count} null value(s), stored as null (first: {', '.join(first)})"
            )
        for column, (count, *first) in sorted(self.unreadable.items()):
            out.append(f"{column}: {count} value(s) not a number, stored as null "
                       f"(first: {', '.join(first)})")  # fmt: skip
        for column, count in sorted(self.recased.items()):
            out.append(f"{column}: {count} value(s) re-cased to the spec's spelling")
        for column, values in sorted(self.unknown_enums.items()):
            out.append(
                f"{column}: value(s) outside the spec kept as is: {', '.join(sorted(values))}"
            )
        return out

    def lines(self) -> list[str]:
        """The mapping summary as text lines, for the CLI and the dashboard."""
        out = [f"FOCUS version detected: {self.version} ({len(self.parts)} file(s))"]
        out.append(f"columns mapped: {len(self.mapped)}")
        if self.renamed:
            out.append(
                "columns renamed: " + ", ".join(f"{a} -> {b}" for a, b in self.renamed.items())
            )
        if self.kept:
            out.append("kept in x_columns: " + ", ".join(self.kept))
        if self.ignored:
            out.append("columns ignored: " + ", ".join(self.ignored))
        out.append(f"rows read: {self.rows_read}; valid: {self.rows_valid}; bad: {self.bad_count}")
        if self.bad_rows:
            out.append("first bad rows: " + ", ".join(self.bad_rows))
        out.extend(f"warning: {w}" for w in self.warnings())
        return out

    @staticmethod
    def note(table: dict[str, list[Any]], column: str, row: str) -> None:
        """Count one tolerated problem of ``column`` in ``table``; keep the first rows' names."""
        entry = table.setdefault(column, [0])
        entry[0] += 1
        if len(entry) < 4:
            entry.append(row)


def _is_null(value: Any) -> bool:
    if value.__class__ is str:  # the common case first: CSV cells
        return len(value) < 5 and value.strip().lower() in _NULLS
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return value.strip().lower() in _NULLS
    return False


def _date(value: Any) -> datetime:
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime(warn=False)
    if isinstance(value, datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.upper().endswith(" UTC"):
            text = text[:-4]
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            parsed = pd.Timestamp(text)  # ValueError when not a date; 7-digit fractions pass
            if pd.isna(parsed):
                raise ValueError("is empty") from None
            moment = parsed.to_pydatetime(warn=False)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    if not 1900 <= moment.year <= 2299:
        raise ValueError("is outside 1900-2299")
    return moment


def _decimal(value: Any) -> Decimal:
    amount = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    if not amount.is_finite():
        raise ValueError("is not a finite number")
    if abs(amount) >= _MAX_AMOUNT:
        raise ValueError("is too large")
    return amount.quantize(_SCALE) if amount.as_tuple().exponent < -10 else amount  # type: ignore[operator]


def _tags(value: Any) -> dict[str, str]:
    if isinstance(value, dict):
        return {str(k): str(v) for k, v in value.items()}
    if isinstance(value, list | tuple):  # parquet map -> list of (key, value)
        return {str(k): str(v) for k, v in value}
    text = str(value).strip()
    try:
        parsed = json.loads(text)
    except ValueError:
        parsed = json.loads("{" + text + "}")  # Azure writes "k": "v" pairs without braces
    if not isinstance(parsed, dict):
        raise ValueError("is not a JSON object")
    return {str(k): v if isinstance(v, str) else json.dumps(v) for k, v in parsed.items()}


def _text(value: Any) -> str:
    if isinstance(value, datetime | pd.Timestamp):
        return value.isoformat()
    return str(value).strip()


class _Builder:
    """Accumulates valid rows of every part into one CostRows."""

    def __init__(self, source: str, tag_keys: Sequence[str]) -> None:
        self.source = source
        self.tenant_key, self.product_key, self.workflow_key = tag_keys
        self.out: dict[str, list[Any]] = {}
        self.slices: set[tuple[str, datetime]] = set()
        self.seen: dict[str, int] = {}

    def add(self, row: dict[str, Any], record: dict[str, Any]) -> None:
        tags: dict[str, str] = row["Tags"]
        row["x_tenant"] = tags.get(self.tenant_key, "")
        row["x_product_line"] = tags.get(self.product_key, "")
        row["x_workflow"] = tags.get(self.workflow_key, "")
        if row["x_tenant"] or row["x_product_line"] or row["x_workflow"]:
            row["x_allocation_method"] = "tag"
        elif tags.get(SHARED_TAG, "").lower() == "true":
            row["x_allocation_method"] = "shared"
        else:
            row["x_allocation_method"] = "unallocated"
        # the same fingerprint as earlier releases, so re-importing an old file is a no-op
        fingerprint = json.dumps(
            {k: str(v) for k, v in sorted(record.items())}, sort_keys=True, default=str
        )
        digest = hashlib.sha256(fingerprint.encode()).hexdigest()[:32]
        self.seen[digest] = self.seen.get(digest, 0) + 1  # identical lines are distinct charges
        row["x_row_id"] = f"{digest}-{self.seen[digest]}"
        row["x_source"] = self.source
        self.slices.add((row["BillingAccountId"], row["BillingPeriodStart"]))
        for key, value in row.items():
            self.out.setdefault(key, []).append(value)

    def rows(self) -> CostRows:
        return CostRows(self.out, sorted(self.slices))


def _check_row(
    record: dict[str, Any],
    focused: dict[str, Any],
    columns: ColumnMap,
    report: FocusReport,
    name: str,
    version: str,
) -> tuple[dict[str, Any] | None, list[str]]:
    cell = focused.get
    row: dict[str, Any] = {}
    problems: list[str] = []
    for column in _DATES:
        raw = cell(column)
        try:
            if _is_null(raw):
                raise ValueError("is empty")
            row[column] = _date(raw)
        except (ValueError, TypeError, OverflowError) as exc:
            problems.append(f"{column} {raw!r} is not an ISO 8601 date ({exc})")
    for column in _MONEY:
        raw = cell(column)
        try:
            if _is_null(raw):
                raise ValueError("is empty")
            row[column] = _decimal(raw)
        except InvalidOperation:
            problems.append(f"{column} {raw!r} is not a number")
        except ValueError as exc:
            problems.append(f"{column} {raw!r} is not a number ({exc})")
    for column in ("BillingAccountId", "BillingCurrency"):
        raw = cell(column)
        row[column] = "" if _is_null(raw) else _text(raw)
        if not row[column]:
            problems.append(f"{column} is empty")
    currency = row["BillingCurrency"].upper()
    if currency and (len(currency) != 3 or not currency.isalpha()):
        problems.append(f"BillingCurrency {row['BillingCurrency']!r} is not a 3-letter code")
    row["BillingCurrency"] = currency
    raw_tags = cell("Tags")
    try:
        row["Tags"] = {} if _is_null(raw_tags) else _tags(raw_tags)
    except (ValueError, TypeError) as exc:
        problems.append(f"Tags is not a JSON object ({exc})")
    if not problems and row["ChargePeriodEnd"] < row["ChargePeriodStart"]:
        problems.append("ChargePeriodEnd is before ChargePeriodStart")
    if problems:
        return None, problems
    for column in _NULLABLE_DECIMALS:
        raw = cell(column)
        value = None
        if not _is_null(raw):
            try:
                value = _decimal(raw)
            except (InvalidOperation, ValueError):
                report.note(report.unreadable, column, name)
        elif column in _WARN_WHEN_NULL and column not in report.absent:
            report.note(report.nulls, column, name)
        row[column] = value
    for column in (*_TEXT, *_NULLABLE_TEXT):
        raw = cell(column)
        text = "" if _is_null(raw) else _text(raw)
        if text and column in ENUM_COLUMNS:
            fixed, known = canonical_enum(column, text)
            if known and fixed != text:
                report.recased[column] = report.recased.get(column, 0) + 1
            elif not known:
                report.unknown_enums.setdefault(column, set()).add(text)
            text = fixed
        if not text and column in _WARN_WHEN_NULL and column not in report.absent:
            report.note(report.nulls, column, name)
        row[column] = text if column in _TEXT else (text or None)
    # FOCUS 1.3 deprecates ProviderName for ServiceProviderName: a 1.3 file fills it from that.
    if not row["ProviderName"] and row["ServiceProviderName"]:
        row["ProviderName"] = row["ServiceProviderName"]
    extra: dict[str, str] = {}
    for file_column, focus_name in columns.focus.items():
        if focus_name not in _STORED and not _is_null(record[file_column]):
            text = _text(record[file_column])
            if focus_name in ENUM_COLUMNS:
                fixed, known = canonical_enum(focus_name, text)
                if known and fixed != text:
                    report.recased[focus_name] = report.recased.get(focus_name, 0) + 1
                text = fixed
            extra[focus_name] = text
    for file_column in columns.provider:
        if not _is_null(record[file_column]):
            extra[file_column] = _text(record[file_column])
    row["x_columns"] = extra
    row["x_focus_version"] = version
    return row, []


def _check_part(
    part: CostPart, frame: pd.DataFrame, report: FocusReport, builder: _Builder, *,
    single: bool, progress: Callable[[int], None] | None,
) -> None:  # fmt: skip
    columns = map_columns(frame.columns)
    label = part.label
    missing = [c for c in REQUIRED_COLUMNS if columns.source_of(c) is None]
    if missing:
        raise CostImportError(f"{label}: missing mandatory FOCUS column(s): {', '.join(missing)}")
    report.parts.append(label)
    report.version = max(report.version or columns.version, columns.version, key=VERSIONS.index)
    for name in columns.focus.values():
        if name in _STORED and name not in report.mapped:
            report.mapped.append(name)
        elif name not in _STORED and name not in report.kept:
            report.kept.append(name)
    report.renamed.update(columns.renamed)
    report.kept.extend(c for c in columns.provider if c not in report.kept)
    report.ignored.extend(c for c in columns.ignored if c not in report.ignored)
    report.absent = [c for c in _WARN_WHEN_NULL if columns.source_of(c) is None]
    names = [str(c) for c in frame.columns]
    mapped = [(i, columns.focus[n]) for i, n in enumerate(names) if n in columns.focus]
    values = [frame[c].tolist() for c in frame.columns]  # ~10x faster than to_dict("records")
    for index, cells in enumerate(zip(*values, strict=True)):
        record = dict(zip(names, cells, strict=True))
        focused = {focus: cells[i] for i, focus in mapped}
        name = part.row_name(index, single=single)
        report.rows_read += 1
        row, problems = _check_row(record, focused, columns, report, name, columns.version)
        if row is None:
            report.bad_count += 1
            if len(report.bad_rows) < 5:
                report.bad_rows.append(name)
            for problem in problems:
                report.problem_count += 1
                if len(report.problems) < MAX_REPORTED:
                    report.problems.append(f"{name}: {problem}")
        else:
            report.rows_valid += 1
            builder.add(row, record)
        if progress and (index + 1) % 1000 == 0:
            progress(report.rows_read)
    if progress:
        progress(report.rows_read)


def read_focus(
    path: Path,
    *,
    tag_keys: Sequence[str],
    source: str | None = None,
    skip_bad: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[CostRows, FocusReport]:
    """Read and validate a FOCUS file, folder or manifest; CostImportError naming what is wrong."""
    source = source or path.name
    parts = cost_parts(path)
    report = FocusReport(source)
    builder = _Builder(source, tag_keys)
    frames = [(part, read_part(part)) for part in parts]
    total = sum(len(frame) for _, frame in frames)

    def tick(done: int) -> None:
        if progress:
            progress(done, total)

    for part, frame in frames:
        _check_part(part, frame, report, builder, single=len(parts) == 1, progress=tick)
    if report.rows_read == 0:
        raise CostImportError(f"{source}: the file has a header but no rows")
    if report.bad_count and not skip_bad:
        shown = "\n  ".join(report.problems)
        more = report.problem_count - len(report.problems)
        tail = f"\n  ... and {more} more" if more > 0 else ""
        raise CostImportError(
            f"{source}: {report.problem_count} bad value(s) in {report.bad_count} row(s); "
            f"nothing was imported (fix them, or skip the bad rows: --skip-bad, or the page's checkbox):\n  {shown}{tail}"
        )
    if report.rows_valid == 0:
        raise CostImportError(f"{source}: every row is bad; nothing was imported")
    return builder.rows(), report
