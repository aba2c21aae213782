"""Importing KPI events from files: CSV (header = the contract's field names) or JSON Lines.

Validation comes first, over the whole file: with ``skip_bad=False`` a single bad row means
nothing is written. Then a second pass writes the valid events in chunks through
``write_kpi_events`` (one insert per chunk), so memory stays bounded for any file size and
importing the same file twice adds nothing. Attributes are redacted like ingested ones
(``FLOWMETER_REDACT_KEYS``, same key, same hashes) before they are written.

CSV cells are text: an empty cell is an absent field, ``attributes`` holds a JSON object of
strings (``{"channel": "web"}``). JSON Lines: one event object per line, field names as in
``POST /v1/kpi``.
"""

from __future__ import annotations

import csv
import json
import logging
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, BinaryIO

from collectors.kpi_store import write_kpi_events
from collectors.redaction import Redactor
from models.db import Store
from models.errors import KpiContractError
from models.kpi import KpiEvent, kpi_event_from_record

__all__ = [
    "IMPORT_CHUNK",
    "KPI_FIELDS",
    "BadRow",
    "ImportReport",
    "KpiFile",
    "import_kpi_file",
    "validate_kpi_file",
]

logger = logging.getLogger(__name__)

IMPORT_CHUNK = 10_000  # events per insert
KEPT_BAD_ROWS = 1_000  # bad rows described in a report; the rest are only counted
KPI_FIELDS: tuple[str, ...] = tuple(KpiEvent.model_fields)
_REQUIRED = tuple(name for name, info in KpiEvent.model_fields.items() if info.is_required())

Progress = Callable[[int], None]
_BARE_CR = re.compile(r"(?<=\r)(?!\n)")  # split after a \r that is not part of \r\n


def _no_progress(_: int) -> None:
    return None


@dataclass(frozen=True)
class BadRow:
    """A row that breaks the contract: its line number (1-based, as an editor shows it) and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What one validation or import pass found and did."""

    rows: int = 0
    valid: int = 0
    bad_count: int = 0
    bad: list[BadRow] = field(default_factory=list)
    written: int = 0

    def add_bad(self, row: BadRow) -> None:
        """Count a bad row; describe it while fewer than KEPT_BAD_ROWS are described."""
        self.bad_count += 1
        if len(self.bad) < KEPT_BAD_ROWS:
            self.bad.append(row)


class KpiFile:
    """A ``.csv`` or ``.jsonl`` file of KPI events, read row by row."""

    def __init__(self, path: Path, *, tenant: str | None = None) -> None:
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".jsonl", ".ndjson"):
            raise KpiContractError(
                f"{path.name}: unknown file type {suffix or '(none)'!r}; use .csv or .jsonl"
            )
        if not path.is_file():
            raise KpiContractError(f"{path}: no such file")
        self.path = path
        self.tenant = tenant
        self.is_csv = suffix == ".csv"
        self.size = path.stat().st_size

    def rows(self, progress: Progress = _no_progress) -> Iterator[tuple[int, KpiEvent | BadRow]]:
        """(line, event or bad row) for every row; ``progress`` gets the bytes read."""
        with self.path.open("rb") as handle:
            lines = _text_lines(handle, self.path.name, progress)
            yield from self._csv_rows(lines) if self.is_csv else self._jsonl_rows(lines)

    def _event(self, line: int, record: dict[str, Any]) -> KpiEvent | BadRow:
        try:
            return kpi_event_from_record(record, tenant=self.tenant)
        except KpiContractError as exc:
            return BadRow(line, str(exc))

    def _jsonl_rows(self, lines: Iterator[str]) -> Iterator[tuple[int, KpiEvent | BadRow]]:
        for line_no, text in enumerate(lines, start=1):
            if not text.strip():
                continue
            try:
                record = json.loads(text, parse_float=Decimal)
            except ValueError as exc:
                yield line_no, BadRow(line_no, f"not valid JSON ({exc})")
                continue
            except RecursionError:
                yield line_no, BadRow(line_no, "JSON nested too deeply")
                continue
            if not isinstance(record, dict):
                yield line_no, BadRow(line_no, "expected a JSON object per line")
                continue
            yield line_no, self._event(line_no, record)

    def _csv_rows(self, lines: Iterator[str]) -> Iterator[tuple[int, KpiEvent | BadRow]]:
        reader = csv.reader(lines)
        try:
            header = [name.strip() for name in next(reader)]
        except StopIteration:
            raise KpiContractError(
                f"{self.path.name}: empty file, expected a header line"
            ) from None
        except csv.Error as exc:
            raise KpiContractError(
                f"{self.path.name} line 1 (header): unreadable CSV ({exc})"
            ) from None
        self._check_header(header)
        while True:
            line_no = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                yield line_no, BadRow(line_no, f"unreadable CSV ({exc})")
                continue
            if not any(cell.strip() for cell in cells):
                continue
            if len(cells) != len(header):
                yield (
                    line_no,
                    BadRow(
                        line_no,
                        f"expected {len(header)} cells as in the header, found {len(cells)}",
                    ),
                )
                continue
            record: dict[str, Any] = {}
            problem = None
            for name, cell in zip(header, cells, strict=True):
                if cell == "":
                    continue
                if name == "attributes":
                    try:
                        record[name] = json.loads(cell, strict=False)  # multi-line cells
                    except (ValueError, RecursionError):
                        problem = 'attributes: not a JSON object (write {"key": "value"})'
                else:
                    record[name] = cell
            yield line_no, BadRow(line_no, problem) if problem else self._event(line_no, record)

    def _check_header(self, header: list[str]) -> None:
        where = f"{self.path.name} line 1 (header)"
        unknown = [name for name in header if name not in KPI_FIELDS]
        if unknown:
            raise KpiContractError(
                f"{where}: unknown columns {unknown}; the columns are the contract's field "
                f"names: {', '.join(KPI_FIELDS)}"
            )
        repeated = sorted({name for name in header if header.count(name) > 1})
        if repeated:
            raise KpiContractError(f"{where}: repeated columns {repeated}")
        missing = [name for name in _REQUIRED if name not in header]
        if missing:
            raise KpiContractError(f"{where}: missing required columns {missing}")


def _text_lines(handle: BinaryIO, name: str, progress: Progress) -> Iterator[str]:
    """Decoded lines (newline kept, BOM dropped), reporting the bytes read.

    Lines end at \n, \r\n or a bare \r (old Mac files), as csv expects of a file opened
    with newline="".
    """
    line_no = 0
    for raw in handle:
        progress(len(raw))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise KpiContractError(f"{name} line {line_no + 1}: not UTF-8 text") from None
        if line_no == 0:
            text = text.removeprefix("\ufeff")
        for line in _BARE_CR.split(text) if "\r" in text else (text,):
            if line:
                line_no += 1
                yield line


def validate_kpi_file(kpi_file: KpiFile, progress: Progress = _no_progress) -> ImportReport:
    """Read the whole file and report its valid and bad rows; writes nothing."""
    report = ImportReport()
    for _, result in kpi_file.rows(progress):
        report.rows += 1
        if isinstance(result, BadRow):
            report.add_bad(result)
        else:
            report.valid += 1
    return report


def import_kpi_file(
    store: Store,
    kpi_file: KpiFile,
    *,
    redactor: Redactor,
    progress: Progress = _no_progress,
    chunk_rows: int = IMPORT_CHUNK,
) -> ImportReport:
    """Write the file's valid events, sensitive attributes hashed by ``redactor`` (bad rows
    are skipped; validate first to refuse them)."""
    report = ImportReport()
    chunk: list[KpiEvent] = []
    for _, result in kpi_file.rows(progress):
        report.rows += 1
        if isinstance(result, BadRow):
            report.add_bad(result)
            continue
        report.valid += 1
        chunk.append(redactor.event(result))
        if len(chunk) >= chunk_rows:
            report.written += write_kpi_events(store, chunk)
            chunk = []
    if chunk:
        report.written += write_kpi_events(store, chunk)
    logger.info(
        "imported %s: %d new KPI events, %d valid, %d bad",
        kpi_file.path.name,
        report.written,
        report.valid,
        report.bad_count,
    )
    return report
