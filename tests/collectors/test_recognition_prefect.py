"""Prefect 3 end to end: flows run offline on Prefect's temporary local server with its own
run telemetry on, export over OTLP/HTTP to a running receiver; flow runs become runs."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.db import Store
from models.health import health_summary
from models.workflows import workflow_list
from tests.conftest import REPO

pytest.importorskip("prefect", reason="prefect 3 is in the test extras")

APP = "tests.collectors.automations.prefect_invoices"
# The flow run span is named after the run: with flow_run_name set, a rule can name the
# workflow; month-end keeps Prefect's random run names and gets the profile's default.
RULES = """
profiles = ["prefect"]

[[rule]]
name = "invoice intake flow"
span = "invoice-intake-*"
attributes = { "prefect.run.type" = "flow" }
kind = "run"
workflow = "invoice-intake"
correlation = "{attr:prefect.run.id}"
"""


def test_prefect_flow_runs_become_runs(
    make_receivers: Callable[..., tuple[Any, Any, Any]], store: Store, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text(RULES)
    pipeline, http, _ = make_receivers(rules_file=rules)
    start = datetime.now(UTC) - timedelta(minutes=5)
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "PREFECT_HOME": str(tmp_path / "prefect"),
        # the temporary server migrates a fresh database first: slow on a busy machine
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{http.port}",
    }
    done = subprocess.run(
        [sys.executable, "-m", APP, "inv-1,flaky-2,bad-3,inv-4", "2026-01,2026-02"],
        env=env, cwd=REPO, capture_output=True, timeout=280,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    assert pipeline.flush(30)
    end = datetime.now(UTC) + timedelta(minutes=5)

    runs = health_summary(store, start, end, by="workflow").set_index("key")
    assert int(runs.loc["invoice-intake", "spans"]) == 4
    assert int(runs.loc["invoice-intake", "errors"]) == 1  # bad-3 failed validation
    month_end = [k for k in runs.index if str(k).startswith("flow ")]
    assert len(month_end) == 1 and int(runs.loc[month_end[0], "spans"]) == 2

    steps = health_summary(store, start, end, by="step").set_index("key")
    # One task-run span per task run; its Retrying events are its retries.
    assert int(steps.loc["post_to_erp", "spans"]) == 3
    assert int(steps.loc["post_to_erp", "retries"]) == 2
    assert int(steps.loc["validate", "errors"]) == 1

    listed = workflow_list(store, start, end).set_index("workflow")
    intake = listed.loc["invoice-intake"]
    assert (intake["source"], intake["runs"], intake["completed"], intake["failed"]) == (
        "rules",
        4,
        3,
        1,
    )
    assert intake["retries"] == 2
    assert listed.loc[month_end[0], "source"] == "prefect"
