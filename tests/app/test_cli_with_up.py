"""The CLI's store commands with `flowmeter up` running give the same output and exit codes
as with it stopped: the same scenario runs against a data directory held by a real `up`
process (the CLI goes through its HTTP API) and against one nobody holds (the CLI opens it)."""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from orchestrator.clock import VirtualClock
from orchestrator.engine import Engine
from orchestrator.state import open_store as open_state_store
from tests.app.seed import FOCUS_HEADER
from tests.conftest import free_port
from tests.orchestrator import sample_flows

FLOWMETER = [sys.executable, "-m", "app.cli"]
READY_WITHIN_SECONDS = 180.0


def _env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    env.update(
        FLOWMETER_DATA_DIR=str(data_dir),
        FLOWMETER_UI_PORT=str(free_port()),
        FLOWMETER_OTLP_HTTP_PORT=str(free_port()),
        FLOWMETER_OTLP_GRPC_PORT=str(free_port()),
        FLOWMETER_API_PORT=str(free_port()),
    )
    return env


def _prepare(data_dir: Path) -> dict[str, str]:
    """A dead letter and two runs waiting for approval in the data dir's state database."""
    data_dir.mkdir(parents=True)
    clock = VirtualClock(start=1_800_000_000.0)
    store = open_state_store(f"sqlite:///{(data_dir / 'orchestrator.db').resolve()}")
    engine = Engine(store, clock=clock, seed=3)
    try:
        sample_flows.failures["pay_refund"] = 2
        refund = engine.submit("refund_flow", {"id": "r9", "amount": 7}, tenant_id="acme")
        engine.run_once("w")
        clock.advance(10)
        engine.run_once("w")
        approve_me = engine.submit("approval_flow", {}, tenant_id="acme")
        reject_me = engine.submit("approval_flow", {}, tenant_id="acme")
        engine.run_once("w")
        engine.run_once("w")
    finally:
        sample_flows.failures.clear()
        engine.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    migrated = subprocess.run([*FLOWMETER, "migrate"], env={**env, "FLOWMETER_DATA_DIR": str(data_dir)},
                              capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr
    return {str(refund): "<refund-run>", str(approve_me): "<approve-run>",
            str(reject_me): "<reject-run>"}  # fmt: skip


def _files(folder: Path) -> dict[str, Path]:
    focus = folder / "focus.csv"
    rows = [("12.50", {"tenant": "acme", "workflow": "invoice"}), ("7.50", {})]
    focus.write_text(
        ",".join(FOCUS_HEADER) + "\n" + "".join(
            f"acct,EUR,2026-03-01,2026-04-01,2026-03-02,2026-03-03,{c},{c},{c},{c},Usage,"
            f"Compute,AWS,\"{json.dumps(tags).replace(chr(34), chr(34) * 2)}\"\n"
            for c, tags in rows
        )
    )  # fmt: skip
    bad_focus = folder / "bad.csv"
    bad_focus.write_text(focus.read_text().replace("12.50", "twelve"))
    kpis = folder / "kpi.csv"
    kpis.write_text("event_id,ts,kpi,value,tenant_id\n"
                    "k-1,2026-03-02T10:00:00Z,invoice_posted,1,acme\n"
                    "k-2,2026-03-02T11:00:00Z,invoice_posted,1,globex\n")  # fmt: skip
    bad_kpis = folder / "bad-kpi.csv"
    bad_kpis.write_text("event_id,ts,kpi\nk-9,yesterday,invoice_posted\n")
    return {"focus": focus, "bad_focus": bad_focus, "kpis": kpis, "bad_kpis": bad_kpis}


SCENARIO: list[list[str]] = [
    ["migrate"],
    ["import", "costs", "{focus}"],
    ["import", "costs", "{focus}"],
    ["import", "costs", "{bad_focus}"],
    ["export", "costs", "--from", "2026-03-01", "--to", "2026-03-31", "-o", "{out}/costs.csv"],
    ["export", "costs", "--from", "2026-03-01", "--to", "2026-03-31", "--by", "workflow",
     "--format", "html", "-o", "{out}/costs.html"],
    ["baseline", "set", "invoice", "--manual-minutes", "6", "--hourly-rate", "40",
     "--currency", "EUR", "--reason", "time study", "--by", "ann",
     "--effective-from", "2026-03-01"],
    ["baseline", "set", "invoice", "--manual-minutes", "0", "--hourly-rate", "40",
     "--currency", "EUR", "--reason", "oops"],
    ["baseline", "history", "invoice"],
    ["import", "kpi", "{kpis}", "--tenant", "acme"],
    ["import", "kpi", "{kpis}"],
    ["import", "kpi", "{bad_kpis}"],
    ["sql", "SELECT tenant_id, count() AS n FROM business_events GROUP BY tenant_id ORDER BY 1"],
    ["sql", "SELECT sum(BilledCost) FROM cost_records", "--format", "tsv"],
    ["sql", "INSERT INTO business_events (event_id) VALUES ('x')"],
    ["dlq", "list"],
    ["dlq", "list", "--json"],
    ["dlq", "show", "1"],
    ["dlq", "show", "424242"],
    ["dlq", "replay", "1", "--reason", "payments back", "--actor", "ana"],
    ["dlq", "replay", "1", "--reason", "again"],
    ["approve", "<approve-run>", "--reason", "fine", "--actor", "ana"],
    ["approve", "<reject-run>", "--reject", "--reason", "too much"],
    ["approve", "<approve-run>", "--reason", "twice"],
]  # fmt: skip


def _scenario(data_dir: Path, files: dict[str, Path], runs: dict[str, str],
              env: dict[str, str]) -> list[tuple[str, int, str, str]]:  # fmt: skip
    """Run every command; (command, exit code, stdout, stderr) with ids and paths normalised."""
    out = data_dir.parent / "out"
    out.mkdir(exist_ok=True)
    names = {**{k: str(v) for k, v in files.items()}, "out": str(out)}
    by_placeholder = {v: k for k, v in runs.items()}
    results = []
    for command in SCENARIO:
        args = [by_placeholder.get(a, a.format(**names)) for a in command]
        done = subprocess.run([*FLOWMETER, *args], env=env, capture_output=True, text=True,
                              timeout=300, check=False)  # fmt: skip
        stdout, stderr = done.stdout, done.stderr
        for run_id, placeholder in {**runs, str(out): "<out>"}.items():
            stdout, stderr = (
                stdout.replace(run_id, placeholder),
                stderr.replace(run_id, placeholder),
            )
        if done.returncode == 0 and command[0] == "dlq" and command[1] == "replay":
            stderr = ""  # the dlq.replayed event reaches up's receiver; stopped, nobody listens
        results.append((" ".join(command), done.returncode, stdout, stderr))
    for exported in ("costs.csv", "costs.html"):
        text = (out / exported).read_text(encoding="utf-8-sig")
        table_id = re.search(r'<div id="([a-z]+)"', text)  # great-tables draws a random id
        if table_id:
            text = text.replace(table_id.group(1), "<table-id>")
        results.append((exported, 0, text, ""))
    return results


def _api_answers(runtime: Path) -> bool:
    try:
        url = json.loads(runtime.read_text())["url"]
        with urllib.request.urlopen(f"{url}/api/v1/openapi.json", timeout=5) as response:
            return bool(response.status == 200)
    except (OSError, ValueError, KeyError):
        return False


@contextmanager
def _flowmeter_up(env: dict[str, str], data_dir: Path) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen([*FLOWMETER, "up"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
    runtime = data_dir / "api.json"
    deadline = time.monotonic() + READY_WITHIN_SECONDS
    try:
        while not _api_answers(runtime):  # readiness by polling the API it announces
            if process.poll() is not None:
                assert process.stderr is not None
                pytest.fail(f"flowmeter up exited with {process.returncode}: "
                            f"{process.stderr.read()[-2000:]}")  # fmt: skip
            if time.monotonic() > deadline:
                pytest.fail("flowmeter up did not serve its API in time")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.mark.timeout(900)
def test_store_commands_answer_the_same_with_up_running_and_stopped(tmp_path: Path) -> None:
    files = _files(tmp_path)
    stopped_dir, running_dir = tmp_path / "stopped" / "data", tmp_path / "running" / "data"
    stopped = _scenario(stopped_dir, files, _prepare(stopped_dir), _env(stopped_dir))

    runs = _prepare(running_dir)
    env = _env(running_dir)
    with _flowmeter_up(env, running_dir) as process:
        runtime = running_dir / "api.json"
        assert stat.S_IMODE(runtime.stat().st_mode) == 0o600
        assert json.loads(runtime.read_text())["pid"] == process.pid
        running = _scenario(running_dir, files, runs, env)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
    assert not runtime.exists(), "api.json is removed when up stops"

    differ = [(before, after) for before, after in zip(stopped, running, strict=True)
              if before != after]  # fmt: skip
    assert differ == [], "these commands answer differently with up running"
    codes = {command: code for command, code, _, _ in stopped}
    assert codes["import costs {bad_focus}"] == 1
    assert codes["sql INSERT INTO business_events (event_id) VALUES ('x')"] == 1
    assert codes["baseline set invoice --manual-minutes 0 --hourly-rate 40 --currency EUR "
                 "--reason oops"] == 2  # fmt: skip
    shown: dict[str, str] = {}
    for command, _, out, _ in running:
        shown.setdefault(command, out)  # the first run of a command repeated later
    assert "2 row(s) stored" in shown["import costs {focus}"]
    assert "by ann: time study" in shown["baseline history invoice"]
    assert "acme" in shown["sql SELECT tenant_id, count() AS n FROM business_events GROUP BY "
                           "tenant_id ORDER BY 1"]  # fmt: skip
    assert (
        "approved 'manager' of run <approve-run>"
        in shown["approve <approve-run> --reason fine --actor ana"]
    )
    errors = "".join(err for _, _, _, err in running)
    assert "in use by another Flowmeter process" not in errors and "Traceback" not in errors

    # stopped again, the CLI opens the store itself
    after_stop = subprocess.run([*FLOWMETER, "sql", "SELECT count() FROM cost_records", "--format",
                                 "tsv"], env=env, capture_output=True, text=True, timeout=300,
                                check=False)  # fmt: skip
    assert after_stop.returncode == 0 and after_stop.stdout.splitlines()[1] == "2"
