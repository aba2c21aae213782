"""`flowmeter export costs` never hands a spreadsheet a formula (OWASP "CSV injection")."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from openpyxl import load_workbook

FLOWMETER = [sys.executable, "-m", "app.cli"]
HEADER = [
    "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListCost",
    "ContractedCost", "ChargeCategory", "ServiceName", "ProviderName", "Tags",
]  # fmt: skip
HOSTILE = [
    '=HYPERLINK("http://x","y")',
    "@SUM(1+1)",
    "+cmd|' /C calc'!A0",
    "-2+3",
    "\tTAB=1",
    "\rCR=1",
]


def _row(cost: str, tags: dict[str, str]) -> list[str]:
    return ["acct", "EUR", "2026-03-01", "2026-04-01", "2026-03-02", "2026-03-03",
            cost, cost, cost, cost, "Usage", "Compute", "AWS", json.dumps(tags)]  # fmt: skip


def _flowmeter(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    env["FLOWMETER_DATA_DIR"] = str(data_dir)
    return subprocess.run([*FLOWMETER, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A FOCUS file with hostile tenant tags (and a credit), imported and exported as every format."""
    folder = tmp_path_factory.mktemp("inert")
    focus = folder / "focus.csv"
    with focus.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows(_row("10.00", {"tenant": tenant}) for tenant in HOSTILE)
        writer.writerow(_row("-4.25", {"tenant": "<script>alert(1)</script>"}))  # a credit
    done = _flowmeter(["import", "costs", str(focus)], folder / "data")
    assert done.returncode == 0, done.stderr
    paths = {fmt: folder / f"costs.{fmt}" for fmt in ("csv", "xlsx", "html")}
    for fmt, path in paths.items():
        done = _flowmeter(["export", "costs", "--from", "2026-03-01", "--to", "2026-03-31",
                           "--by", "tenant", "--format", fmt, "-o", str(path)], folder / "data")  # fmt: skip
        assert done.returncode == 0, done.stderr
    return paths


def test_csv_cells_that_a_spreadsheet_would_run_start_with_a_quote(
    exports: dict[str, Path],
) -> None:
    with exports["csv"].open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    tenants = {row["tenant"] for row in rows}
    assert tenants == {f"'{t}" for t in HOSTILE} | {"<script>alert(1)</script>"}
    for row in rows:
        for column, value in row.items():
            assert value[:1] not in ("=", "+", "@", "\t", "\r") or column.endswith("_cost"), row
    credit = next(r for r in rows if r["tenant"].startswith("<script>"))
    assert float(credit["billed_cost"]) == -4.25  # a negative number stays a number
    assert float(next(r for r in rows if r["tenant"] == "'@SUM(1+1)")["billed_cost"]) == 10.0


def test_xlsx_cells_are_strings_and_costs_numbers(exports: dict[str, Path]) -> None:
    sheet = load_workbook(exports["xlsx"]).active
    assert sheet is not None
    header = [cell.value for cell in sheet[1]]
    tenant_col, cost_col = header.index("tenant"), header.index("billed_cost")
    tenants: dict[str, object] = {}
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", f"{cell.coordinate} holds a formula: {cell.value!r}"
        assert row[tenant_col].data_type == "s"
        tenants[str(row[tenant_col].value)] = row[cost_col].value
    as_typed = {t.replace("\r", "\n") for t in HOSTILE}  # XML reads a bare CR back as LF
    assert set(tenants) == as_typed | {"<script>alert(1)</script>"}  # the text, no quote added
    credit = tenants["<script>alert(1)</script>"]
    assert isinstance(credit, float) and credit == -4.25  # numbers stay numbers
    assert tenants["-2+3"] == 10


def test_html_report_escapes_every_value(exports: dict[str, Path]) -> None:
    html = exports["html"].read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
