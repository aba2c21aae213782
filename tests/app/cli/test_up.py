"""`flowmeter up` and `flowmeter collect` as an operator runs them: exposure, TLS, masked DSN."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from app.cli.up import _urls, masked_url
from models.settings import load_settings
from tests.conftest import free_port
from tests.tls import issue_certs

FLOWMETER = [sys.executable, "-m", "app.cli"]


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    env.update(
        FLOWMETER_DATA_DIR=str(data_dir),
        FLOWMETER_UI_PORT=str(free_port()),
        FLOWMETER_OTLP_HTTP_PORT=str(free_port()),
        FLOWMETER_OTLP_GRPC_PORT=str(free_port()),
    )
    env.update(extra)
    return env


@pytest.mark.parametrize("command", ["collect", "up"])
def test_open_receivers_beyond_loopback_are_refused(tmp_path: Path, command: str) -> None:
    users = tmp_path / "users.toml"
    users.write_text("")  # the dashboard has users: only the receivers are open
    env = _env(tmp_path / "data", FLOWMETER_BIND="0.0.0.0", FLOWMETER_USERS_FILE=str(users))
    result = subprocess.run(
        [*FLOWMETER, command], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode != 0
    assert "FLOWMETER_BIND='0.0.0.0' exposes the OTLP receivers" in result.stderr
    assert "FLOWMETER_INGEST_TOKENS" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data" / "wal").exists()  # refused before anything started


def test_the_store_password_is_masked() -> None:
    settings = load_settings(
        env={"FLOWMETER_CLICKHOUSE_URL": "https://fm:hunter2@ch.example:8443/flowmeter"}
    )
    lines = "\n".join(_urls(settings))
    assert "Store           https://fm:***@ch.example:8443/flowmeter" in lines
    assert "hunter2" not in lines
    assert masked_url("chdb:///srv/fm/clickhouse") == "chdb:///srv/fm/clickhouse"
    assert masked_url("http://u:p%40ss@h:8123/db?x=1") == "http://u:***@h:8123/db?x=1"


def test_the_dashboard_serves_tls_when_tls_is_configured(tmp_path: Path) -> None:
    certs = issue_certs(tmp_path)
    env = _env(
        tmp_path / "data",
        FLOWMETER_TLS_CERT=str(certs / "server.pem"),
        FLOWMETER_TLS_KEY=str(certs / "server.key"),
    )
    process = subprocess.Popen(
        [*FLOWMETER, "up"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert process.stdout is not None
        printed = []
        for line in process.stdout:  # Streamlit prints its URL once the server listens
            printed.append(line)
            if "URL:" in line:
                break
        else:
            pytest.fail(f"flowmeter up exited with {process.wait()}: {''.join(printed)}")
        assert f"Dashboard       https://127.0.0.1:{env['FLOWMETER_UI_PORT']}" in "".join(printed)
        health = requests.get(
            f"https://127.0.0.1:{env['FLOWMETER_UI_PORT']}/_stcore/health",
            verify=str(certs / "ca.pem"),
            timeout=10,
        )
        assert health.text == "ok"
        with pytest.raises(requests.exceptions.ConnectionError):
            requests.get(f"http://127.0.0.1:{env['FLOWMETER_UI_PORT']}/_stcore/health", timeout=10)
    finally:
        process.kill()
        process.wait()
