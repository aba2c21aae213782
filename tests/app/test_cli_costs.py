"""`flowmeter import costs`, `export costs`, `baseline set|history` as an operator runs them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from html import unescape
from pathlib import Path

import pandas as pd
from openpyxl import load_workbook

FLOWMETER = [sys.executable, "-m", "app.cli"]
HEADER = [
    "BillingAccountId", "BillingCurrency", "BillingPeriodStart", "BillingPeriodEnd",
    "ChargePeriodStart", "ChargePeriodEnd", "BilledCost", "EffectiveCost", "ListCost",
    "ContractedCost", "ChargeCategory", "ServiceName", "ProviderName", "Tags",
]  # fmt: skip


def _row(cost: str, tags: dict[str, str]) -> list[str]:
    return ["acct", "EUR", "2026-03-01", "2026-04-01", "2026-03-02", "2026-03-03",
            cost, cost, cost, cost, "Usage", "Compute", "AWS", json.dumps(tags)]  # fmt: skip


def _flowmeter(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    env["FLOWMETER_DATA_DIR"] = str(data_dir)
    return subprocess.run([*FLOWMETER, *args], env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip


def test_import_export_and_baselines(tmp_path: Path) -> None:
    data = tmp_path / "data"
    focus = tmp_path / "focus.csv"
    with focus.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        writer.writerows([_row("12.50", {"tenant": "acme"}), _row("7.50", {})])
    done = _flowmeter(["import", "costs", str(focus)], data)
    assert done.returncode == 0, done.stderr
    assert "2 row(s) stored" in done.stdout and "1 row(s) without" in done.stdout

    bad = tmp_path / "bad.csv"
    bad.write_text(focus.read_text().replace("12.50", "twelve"))
    failed = _flowmeter(["import", "costs", str(bad)], data)
    assert failed.returncode == 1
    assert "line 2: BilledCost 'twelve' is not a number" in failed.stderr
    assert "Traceback" not in failed.stderr

    outputs = {fmt: tmp_path / f"costs.{fmt}" for fmt in ("csv", "xlsx", "parquet", "html")}
    for fmt, path in outputs.items():
        done = _flowmeter(["export", "costs", "--from", "2026-03-01", "--to", "2026-03-31",
                           "--by", "tenant", "--format", fmt, "-o", str(path)], data)  # fmt: skip
        assert done.returncode == 0, done.stderr
    raw = outputs["csv"].read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    frame = pd.read_csv(outputs["csv"], encoding="utf-8-sig")
    required = {"period_start", "period_end", "tenant", "effective_cost", "billed_cost",
                "currency", "allocation_method"}  # fmt: skip
    assert required <= set(frame.columns)
    assert frame["billed_cost"].sum() == 20.0
    assert set(frame["tenant"]) == {"acme", "(unallocated)"}
    sheet = load_workbook(outputs["xlsx"]).active
    assert sheet is not None
    assert isinstance(sheet["F2"].value, int | float)  # billed_cost typed as a number
    assert pd.read_parquet(outputs["parquet"])["effective_cost"].sum() == 20
    html = unescape(outputs["html"].read_text())
    assert "Cost by tenant" in html and "€12.50" in html and "proportional" in html

    done = _flowmeter(["baseline", "set", "invoice", "--manual-minutes", "6", "--hourly-rate",
                       "40", "--currency", "EUR", "--reason", "time study", "--by", "ann"], data)  # fmt: skip
    assert done.returncode == 0, done.stderr
    history = _flowmeter(["baseline", "history", "invoice"], data)
    assert "v1" in history.stdout and "by ann: time study" in history.stdout


def test_import_the_fixture_sample_then_a_bad_file_with_skip_bad(tmp_path: Path) -> None:
    data = tmp_path / "data"
    sample = Path(__file__).resolve().parents[1] / "fixtures" / "focus" / "focus_1.0_sample.csv"
    done = _flowmeter(["import", "costs", str(sample)], data)
    assert done.returncode == 0, done.stderr
    assert "FOCUS version detected: 1.0 (1 file(s))" in done.stdout
    assert "columns ignored: Id" in done.stdout
    assert "rows read: 1000; valid: 1000; bad: 0" in done.stdout
    assert "warning: ContractedCost: 7 null value(s), stored as null" in done.stdout
    assert "1000 row(s) stored in 4 billing slice(s)" in done.stdout
    assert "validating focus_1.0_sample.csv" in done.stdout + done.stderr  # the progress bar

    parts = tmp_path / "parts"
    parts.mkdir()
    for name, cost in (("part-1.csv", "1.50"), ("part-2.csv", "oops")):
        with (parts / name).open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(HEADER)
            writer.writerows([_row(cost, {"tenant": "acme"}), _row("2.00", {})])
    refused = _flowmeter(["import", "costs", str(parts)], data)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "part-2.csv line 2: BilledCost 'oops' is not a number" in refused.stderr
    assert "skip the bad rows: --skip-bad" in refused.stderr

    skipped = _flowmeter(["import", "costs", str(parts), "--skip-bad"], data)
    assert skipped.returncode == 0, skipped.stderr
    assert "rows read: 4; valid: 3; bad: 1" in skipped.stdout
    assert "first bad rows: part-2.csv line 2" in skipped.stdout
    assert "skipped part-2.csv line 2: BilledCost 'oops' is not a number" in skipped.stderr
    assert "3 row(s) stored in 1 billing slice(s)" in skipped.stdout
    again = _flowmeter(["import", "costs", str(parts), "--skip-bad"], data)
    assert "0 row(s) stored in 0 billing slice(s); 1 slice(s) already imported unchanged" in (
        again.stdout
    )
