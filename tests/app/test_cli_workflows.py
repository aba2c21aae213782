"""`flowmeter workflows` and `flowmeter rules check` as an operator runs them (subprocesses)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.app.test_cli import _env, _run

# Ingests one Celery-shaped trace (two task attempts, one RETRY) through the real pipeline,
# with the default profiles (FLOWMETER_RULES_FILE unset), into the data dir of the env.
INGEST = """
import os, time
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from collectors.pipeline import Pipeline
from models.db import Store
from models.migrations import migrate
from models.settings import load_settings

settings = load_settings()
store = Store(settings.clickhouse_dsn)
migrate(store)
request = ExportTraceServiceRequest()
spans = request.resource_spans.add()
service = spans.resource.attributes.add(key="service.name")
service.value.string_value = "billing-worker"
scope = spans.scope_spans.add()
now = time.time_ns()
for n, state in enumerate(["RETRY", "SUCCESS"]):
    span = scope.spans.add(trace_id=b"\\x01" * 16, span_id=bytes([n + 1]) * 8, name="run/billing.charge",
                           start_time_unix_nano=now + n * 10**8, end_time_unix_nano=now + n * 10**8 + 10**7)
    for key, value in {"celery.action": "run", "celery.task_name": "billing.charge",
                       "celery.state": state}.items():
        attribute = span.attributes.add(key=key)
        attribute.value.string_value = value
pipeline = Pipeline(settings, store)
pipeline.start()
pipeline.submit_message("traces", request)
assert pipeline.flush(30)
pipeline.stop(5)
store.close()
"""


def test_workflows_lists_a_recognized_workflow(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    ingest = subprocess.run([sys.executable, "-c", INGEST], env=env, capture_output=True,
                            text=True, timeout=120, check=False)  # fmt: skip
    assert ingest.returncode == 0, ingest.stderr
    listed = _run(["workflows", "--json"], env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)
    assert [
        (r["workflow"], r["source"], r["runs"], r["completed"], r["retries"]) for r in rows
    ] == [("billing.charge", "celery", 1, 1, 1)]
    assert rows[0]["baseline_version"] is None
    table = _run(["workflows"], env)
    assert "billing.charge" in table.stdout and "no baseline" in table.stdout

    rules = tmp_path / "rules.toml"
    rules.write_text('profiles = ["celery"]\n[[rule]]\nname = "billing"\nspan = "run/billing.*"\n'
                     'workflow = "billing"\nstep = "{attr:celery.task_name}"\n')  # fmt: skip
    check = _run(["rules", "check", str(rules)], env)
    assert check.returncode == 0, check.stderr
    assert "matches 2 of 2 spans in 1 traces as 1 workflows" in check.stdout
    assert "billing  (rules): 2 spans" in check.stdout


def test_rules_check_names_the_line_of_a_mistake(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text('profiles = []\n\n[[rule]]\nname = "x"\nspan = "run/*"\nkind = "job"\n'
                     'workflow = "x"\n')  # fmt: skip
    result = _run(["rules", "check", str(rules)], _env(tmp_path / "data"))
    assert result.returncode != 0
    assert f"{rules}:6: rule 1 ('x'): kind is" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_bad_rules_file_stops_the_collector_with_its_line(tmp_path: Path) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[[rule]]\nname = 'x'\nspan = 'a'\nworkflow = '{attr}'\nstep = 'a'\n")
    result = _run(["collect"], _env(tmp_path / "data", FLOWMETER_RULES_FILE=str(rules)))
    assert result.returncode != 0
    assert f"{rules}:4: rule 1 ('x'): placeholder {{attr}} needs a key" in result.stderr
    assert "Traceback" not in result.stderr
