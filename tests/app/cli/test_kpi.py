"""``flowmeter import kpi`` as an operator runs it: a real subprocess on a temp data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FLOWMETER = [sys.executable, "-m", "app.cli"]
HEADER = "event_id,ts,kpi,value,amount,currency,entity_type,entity_id,tenant_id,attributes\n"
GOOD = (
    HEADER
    + "ord-1,2026-11-25T10:00:00Z,order_advanced,1,,,order,o-1,acme,\n"
    + 'inv-1,2026-11-25T10:05:00Z,invoice_posted,1,1250.00,EUR,invoice,i-1,acme,"{""channel"": ""web""}"\n'
)


def _flowmeter(args: list[str], data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    env["FLOWMETER_DATA_DIR"] = str(data_dir)
    return subprocess.run(
        [*FLOWMETER, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def _stored(data_dir: Path) -> list[str]:
    result = _flowmeter(
        ["sql", "SELECT event_id, amount, attributes FROM business_events ORDER BY event_id",
         "--format", "tsv"],
        data_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()[1:]


def test_good_file_is_imported_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = tmp_path / "kpis.csv"
    path.write_text(GOOD, encoding="utf-8")
    first = _flowmeter(["import", "kpi", str(path)], data)
    assert first.returncode == 0, first.stderr
    assert "kpis.csv: 2 new KPI events imported" in first.stdout
    second = _flowmeter(["import", "kpi", str(path)], data)
    assert second.returncode == 0, second.stderr
    assert "kpis.csv: 0 new KPI events imported; 2 already stored" in second.stdout
    assert _stored(data) == [
        "inv-1\t1250.0000\t{'channel': 'web'}",
        "ord-1\t\t{}",
    ]


def test_bad_file_writes_nothing_and_names_the_lines(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = tmp_path / "kpis.csv"
    path.write_text(
        GOOD
        + "ref-1,2026-11-25T10:09:00Z,refund_prevented,1,30,,,,acme,\n"  # line 4
        + "ref-2,not a time,refund_prevented,1,,,,,acme,\n",  # line 5
        encoding="utf-8",
    )
    result = _flowmeter(["import", "kpi", str(path)], data)
    assert result.returncode == 1
    assert "line 4: currency: required when an amount is set" in result.stderr
    assert "line 5: ts: Input should be a valid datetime" in result.stderr
    assert "2 rows break the KPI contract; nothing was imported" in result.stderr
    assert "Traceback" not in result.stderr

    skipped = _flowmeter(["import", "kpi", str(path), "--skip-bad"], data)
    assert skipped.returncode == 0, skipped.stderr
    assert "line 4: currency" in skipped.stderr
    # both good rows are new: the refused import wrote nothing
    assert "2 new KPI events imported; 0 already stored" in skipped.stdout
    assert "2 rows skipped as bad" in skipped.stdout
    assert [line.split("\t")[0] for line in _stored(data)] == ["inv-1", "ord-1"]


def test_jsonl_file_and_bad_header(tmp_path: Path) -> None:
    data = tmp_path / "data"
    path = tmp_path / "kpis.jsonl"
    path.write_text(
        '{"event_id": "j-1", "ts": "2026-11-25T10:00:00Z", "kpi": "lead_qualified", '
        '"amount": "5.25", "currency": "USD"}\n',
        encoding="utf-8",
    )
    result = _flowmeter(["import", "kpi", str(path)], data)
    assert result.returncode == 0, result.stderr
    assert "kpis.jsonl: 1 new KPI event imported" in result.stdout

    header = tmp_path / "wrong.csv"
    header.write_text("event_id,when,kpi\n", encoding="utf-8")
    refused = _flowmeter(["import", "kpi", str(header)], data)
    assert refused.returncode == 1
    assert "wrong.csv line 1 (header): unknown columns ['when']" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert _stored(data) == ["j-1\t5.2500\t{}"]
