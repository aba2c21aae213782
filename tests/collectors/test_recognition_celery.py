"""Celery end to end: a real worker on the local Redis, instrumented the standard way, sends
its spans to a running Flowmeter receiver; recognition makes its chains runs and tasks steps."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from models.baselines import set_baseline
from models.db import Store
from models.health import health_summary
from models.workflows import workflow_list
from tests.collectors.conftest import rows
from tests.conftest import REPO

APP = "tests.collectors.automations.celery_invoices"
RULES = """
profiles = ["celery"]

[defaults]
entities = { "invoice.id" = "invoice" }
"""


def _redis_up() -> bool:
    try:
        import redis
    except ImportError:
        return False
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_timeout=2).ping())
    except redis.RedisError:
        return False


pytestmark = pytest.mark.skipif(not _redis_up(), reason="needs Redis at 127.0.0.1:6379")


@pytest.fixture
def celery_run(
    make_receivers: Callable[..., tuple[Any, Any, Any]], tmp_path: Any
) -> Iterator[Callable[[list[str], list[str]], Any]]:
    """Start a receiver and a Celery worker on a queue of its own; run chains through them."""
    workers: list[subprocess.Popen[bytes]] = []

    def run(invoices: list[str], refunds: list[str]) -> Any:
        rules = tmp_path / "rules.toml"
        rules.write_text(RULES)
        pipeline, http, _ = make_receivers(rules_file=rules)
        env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "CELERY_QUEUE": f"flowmeter-test-{uuid.uuid4().hex[:8]}",
            "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{http.port}",
            "OTEL_BSP_SCHEDULE_DELAY": "200",
        }
        celery = shutil.which("celery", path=os.path.dirname(sys.executable))
        assert celery is not None, "celery is in the test extras"
        log = (tmp_path / "worker.log").open("wb")
        worker = subprocess.Popen(
            [celery, "-A", APP, "worker", "-P", "solo", "-Q", env["CELERY_QUEUE"],
             "--without-heartbeat", "--without-mingle", "--without-gossip", "-l", "WARNING"],
            env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        workers.append(worker)
        subprocess.run(
            [sys.executable, "-m", APP, ",".join(invoices), ",".join(refunds)],
            env=env, cwd=REPO, check=True, timeout=240,
        )  # fmt: skip
        worker.send_signal(signal.SIGTERM)  # warm shutdown: the worker flushes its spans
        assert worker.wait(timeout=60) == 0, (tmp_path / "worker.log").read_text()
        assert pipeline.flush(30)
        return pipeline

    yield run
    for worker in workers:
        if worker.poll() is None:
            worker.kill()
            worker.wait()


def test_celery_chains_become_runs_with_failures_and_retries(
    celery_run: Callable[[list[str], list[str]], Any], store: Store
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    invoices = ["inv-1", "inv-2", "flaky-3", "flaky-4", "bad-5", "down-6"]
    refunds = ["ref-1", "ref-2", "fail-3"]
    celery_run(invoices, refunds)

    runs = rows(
        store,
        "SELECT workflow, outcome, retries, steps, source FROM recognized_run_list ORDER BY workflow, outcome",
    )
    by_workflow: dict[str, dict[str, int]] = {}
    for run in runs:
        counts = by_workflow.setdefault(
            str(run["workflow"]), {"runs": 0, "failed": 0, "retries": 0}
        )
        counts["runs"] += 1
        counts["failed"] += run["outcome"] == "failed"
        counts["retries"] += int(run["retries"])
        assert run["source"] == "celery"
    # One run per chain (not per task), named after its first task; a run fails when a task's
    # last attempt failed (bad-5 at validation, down-6 after 2 retries); flaky ones retried twice.
    assert by_workflow == {
        "invoices.validate": {"runs": 6, "failed": 2, "retries": 6},
        "refunds.check": {"runs": 3, "failed": 1, "retries": 0},
    }

    end = datetime.now(UTC) + timedelta(minutes=5)
    steps = health_summary(store, start, end, by="step").set_index("key")
    # Every attempt is a step span: post_to_erp ran for 5 valid invoices, +2+2 retries, +2 for down-6.
    assert int(steps.loc["invoices.post_to_erp", "spans"]) == 5 + 2 + 2 + 2
    assert int(steps.loc["invoices.post_to_erp", "retries"]) == 6
    assert int(steps.loc["invoices.notify", "spans"]) == 4  # the completed runs
    # System Health's runs table: recognized runs next to native ones, same reads.
    health = health_summary(store, start, end, by="workflow").set_index("key")
    assert int(health.loc["invoices.validate", "spans"]) == 6
    assert int(health.loc["invoices.validate", "errors"]) == 2
    assert int(health.loc["invoices.validate", "retries"]) == 6
    assert int(health.loc["refunds.check", "errors"]) == 1
    # `flowmeter workflows`: the same figures, with the source; a baseline gives ROI.
    set_baseline(
        store, "invoices.validate", manual_minutes=Decimal(6), hourly_rate=Decimal(60),
        manual_error_rate=Decimal(0), cost_per_error=Decimal(0), currency="EUR",
        reason="test", changed_by="test", effective_from=start - timedelta(days=1),
    )  # fmt: skip
    listed = workflow_list(store, start, end).set_index("workflow")
    invoices = listed.loc["invoices.validate"]
    assert (invoices["source"], invoices["runs"], invoices["completed"], invoices["failed"]) == (
        "celery",
        6,
        4,
        2,
    )
    assert invoices["retries"] == 6
    # 4 completed runs x 6 min x 60 EUR/h = 24 EUR (no platform cost imported)
    assert (invoices["baseline_version"], invoices["currency"]) == (1, "EUR")
    assert Decimal(str(invoices["net_savings"])) == Decimal(24)
    assert listed.loc["refunds.check", "baseline_version"] is None
    # The invoice id a task set is a drill-down key.
    keys = rows(store, "SELECT key FROM lookup_keys WHERE kind = 'entity' ORDER BY key")
    assert {k["key"] for k in keys} >= {"inv-1", "flaky-3", "bad-5"}
