"""``flowmeter alerts`` as an operator runs it: real subprocesses on a temp data dir."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FLOWMETER = [sys.executable, "-m", "app.cli"]
RULES = """[[rule]]
name = "quiet invoices"
measure = "runs"
window = "30m"
condition = "< 1"
filters = { workflow = "invoice" }

[[rule]]
name = "budget"
measure = "budget_burn"
window = "1d"
condition = "> 0.8"
group_by = ["tenant"]
budget = "100"
currency = "EUR"
"""


def _flowmeter(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    clean.update(FLOWMETER_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [*FLOWMETER, *args], env=clean, capture_output=True, text=True, timeout=120, check=False
    )


def test_check_validates_and_evaluates_once(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES, encoding="utf-8")
    result = _flowmeter(["alerts", "check", str(rules)], tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert f"{rules}: 2 rule(s) valid" in result.stdout
    quiet = next(line for line in result.stdout.splitlines() if line.startswith("quiet invoices"))
    assert "(all)" in quiet and " 0 " in quiet and "breaching (< 1)" in quiet
    budget = next(line for line in result.stdout.splitlines() if line.startswith("budget"))
    assert "no data" in budget  # no cost yet: no tenant to group


def test_a_bad_file_names_its_line_and_nothing_else(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES.replace('condition = "> 0.8"', 'condition = "over 0.8"'), "utf-8")
    result = _flowmeter(["alerts", "check", "--no-store", str(rules)], tmp_path / "data")
    assert result.returncode != 0
    assert f"{rules}:12: rule 2: condition: 'over 0.8'" in result.stderr
    assert "Traceback" not in result.stderr
    started = _flowmeter(["alerts", "run"], tmp_path / "data",
                         FLOWMETER_ALERT_RULES_FILE=str(rules))  # fmt: skip
    assert started.returncode != 0 and f"{rules}:12:" in started.stderr


def test_list_shows_nothing_firing_on_a_new_store(tmp_path: Path) -> None:
    result = _flowmeter(["alerts", "list"], tmp_path / "data")
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("(0 rows)") == 2
