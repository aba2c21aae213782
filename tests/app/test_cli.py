"""The flowmeter command as an operator runs it: real subprocesses, real chDB."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import free_port

FLOWMETER = [sys.executable, "-m", "app.cli"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    env.update(
        FLOWMETER_DATA_DIR=str(data_dir),
        FLOWMETER_UI_PORT=str(free_port()),
        FLOWMETER_OTLP_HTTP_PORT=str(free_port()),
        FLOWMETER_OTLP_GRPC_PORT=str(free_port()),
        FLOWMETER_API_PORT=str(free_port()),
    )
    env.update(extra)
    return env


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*FLOWMETER, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


@pytest.fixture
def running_up(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], dict[str, str]]]:
    env = _env(tmp_path / "data")
    process = subprocess.Popen(
        [*FLOWMETER, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    for line in process.stdout:  # Streamlit prints its URL once the server listens
        if "URL:" in line:
            break
    else:
        pytest.fail(f"flowmeter up exited with {process.wait()} before printing its URLs")
    yield process, env
    if process.poll() is None:
        process.kill()
        process.wait()


def _health(port: str) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=10) as r:
        return r.read().decode()


def test_up_serves_health_and_stops_cleanly_on_sigterm(
    running_up: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, env = running_up
    assert _health(env["FLOWMETER_UI_PORT"]) == "ok"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=10) == 0


def test_second_up_on_the_same_data_dir_refuses(
    running_up: tuple[subprocess.Popen[str], dict[str, str]],
) -> None:
    process, env = running_up
    second = _run(["up"], {**env, "FLOWMETER_UI_PORT": str(free_port())})
    assert second.returncode != 0
    assert "in use by another Flowmeter process" in second.stderr
    assert f"pid {process.pid}" in second.stderr
    assert "Traceback" not in second.stderr


def test_sql_reads_and_refuses_writes(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    read = _run(["sql", "SELECT name FROM system.tables WHERE name = 'otel_traces'"], env)
    assert read.returncode == 0, read.stderr
    assert "otel_traces" in read.stdout
    assert "(1 row)" in read.stdout
    write = _run(["sql", "INSERT INTO business_events (event_id) VALUES ('x')"], env)
    assert write.returncode != 0
    assert "read-only" in write.stderr
    assert "Traceback" not in write.stderr
    count = _run(["sql", "SELECT count() FROM business_events", "--format", "tsv"], env)
    assert count.stdout.splitlines()[1] == "0"


def test_bad_setting_stops_with_the_variable_name(tmp_path: Path) -> None:
    result = _run(["migrate"], _env(tmp_path / "data", FLOWMETER_UI_PORT="eighty"))
    assert result.returncode != 0
    assert "FLOWMETER_UI_PORT" in result.stderr
    assert "Traceback" not in result.stderr


def test_migrate_twice(tmp_path: Path) -> None:
    env = _env(tmp_path / "data")
    first = _run(["migrate"], env)
    assert "applying 001_otel" in first.stdout
    second = _run(["migrate"], env)
    assert second.returncode == 0
    assert "0 migration(s) applied" in second.stdout


def test_demo_without_a_price_list_uses_the_demo_prices(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`up --demo` prices drill-downs: the dashboard reads FLOWMETER_PRICING_FILE."""
    from app.cli.up import with_demo_prices
    from models.pricing import load_price_list
    from models.settings import load_settings

    monkeypatch.setenv("FLOWMETER_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("FLOWMETER_PRICING_FILE", raising=False)
    settings = with_demo_prices(load_settings())
    assert settings.pricing_file == (tmp_path / "data" / "demo-pricing.toml").resolve()
    assert os.environ["FLOWMETER_PRICING_FILE"] == str(settings.pricing_file)
    assert "payments-api" in load_price_list(settings.pricing_file).prices
