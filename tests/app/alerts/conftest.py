"""A real Alertmanager (Debian's prometheus-alertmanager) on a free port."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import free_port

BINARY = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"


class Alertmanager:
    """What the test asks the running Alertmanager."""

    def __init__(self, url: str) -> None:
        self.url = url

    def alerts(self) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``: what it holds now (active, silenced, inhibited)."""
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as response:
            return list(json.loads(response.read()))

    def wait_for(self, check: Any, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Poll until ``check(alerts)`` holds (Alertmanager ingests asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            alerts = self.alerts()
            if check(alerts) or time.monotonic() > deadline:
                return alerts
            time.sleep(0.2)


@pytest.fixture
def alertmanager(tmp_path: Path) -> Iterator[Alertmanager]:
    if not Path(BINARY).exists():
        pytest.skip("needs Debian's prometheus-alertmanager (installed by .ci/run)")
    config = tmp_path / "alertmanager.yml"
    config.write_text("route: {receiver: r, group_wait: 1s}\nreceivers: [{name: r}]\n")
    port = free_port()
    process = subprocess.Popen(
        [BINARY, f"--config.file={config}", f"--storage.path={tmp_path / 'am'}",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"alertmanager did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.1)
    yield Alertmanager(url)
    process.terminate()
    process.wait(10)
