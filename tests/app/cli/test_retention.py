"""``flowmeter retention`` as an operator runs it: a real subprocess on a temp data dir."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

FLOWMETER = [sys.executable, "-m", "app.cli"]


def _flowmeter(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    clean.update(FLOWMETER_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [*FLOWMETER, *args], env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def test_migrate_applies_retention_and_the_report_shows_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    migrated = _flowmeter(["migrate"], data)
    assert migrated.returncode == 0, migrated.stderr
    assert "retention of otel_traces: 30 days" in migrated.stdout
    assert "retention of span_stats_1h" not in migrated.stdout  # kept forever: nothing to do

    report = _flowmeter(["retention", "--json"], data)
    assert report.returncode == 0, report.stderr
    rows = {row["table"]: row for row in map(json.loads, report.stdout.splitlines())}
    assert rows["otel_traces"]["keeps"] == "30 days" and rows["otel_traces"]["applied"]
    assert rows["otel_metrics_sum"]["keeps"] == "90 days"
    assert rows["cost_records"]["keeps"] == "forever"

    table = _flowmeter(["retention"], data)
    assert "otel_logs" in table.stdout and "disk " in table.stdout and " free of " in table.stdout


def test_a_changed_setting_shows_as_pending_until_applied(tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert _flowmeter(["migrate"], data).returncode == 0
    shorter = {"FLOWMETER_RETENTION_DAYS": "traces=7,logs=30,metrics=90,span_stats_1m=30"}
    pending = _flowmeter(["retention"], data, **shorter)
    line = next(row for row in pending.stdout.splitlines() if row.startswith("otel_traces "))
    assert "7 days" in line and "retention apply" in line

    applied = _flowmeter(["retention", "apply"], data, **shorter)
    assert applied.returncode == 0, applied.stderr
    assert "otel_traces: 30 days -> 7 days" in applied.stdout
    assert "lookup_keys: 30 days -> 7 days" in applied.stdout
    assert "3 table(s) changed" in applied.stdout
    again = _flowmeter(["retention", "apply"], data, **shorter)
    assert "0 table(s) changed" in again.stdout


def test_a_bad_retention_names_the_variable(tmp_path: Path) -> None:
    result = _flowmeter(["retention"], tmp_path / "data", FLOWMETER_RETENTION_DAYS="spans=3")
    assert result.returncode != 0
    assert "FLOWMETER_RETENTION_DAYS" in result.stderr and "'spans=3'" in result.stderr
    assert "Traceback" not in result.stderr
