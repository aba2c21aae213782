"""``flowmeter report`` as an operator runs it: real subprocesses, a real SMTP server."""

from __future__ import annotations

import os
import subprocess
import sys
from io import BytesIO
from pathlib import Path

from openpyxl import load_workbook

from tests.sinks import smtp_server

FLOWMETER = [sys.executable, "-m", "app.cli"]


def _flowmeter(args: list[str], data_dir: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FLOWMETER_")}
    clean.update(FLOWMETER_DATA_DIR=str(data_dir), **env)
    return subprocess.run(
        [*FLOWMETER, *args], env=clean, capture_output=True, text=True, timeout=180, check=False
    )


def test_reports_as_files(tmp_path: Path) -> None:
    data = tmp_path / "data"
    pdf = tmp_path / "digest.pdf"
    made = _flowmeter(["report", "digest", "--from", "2026-11-23", "--to", "2026-11-29",
                       "--format", "pdf", "-o", str(pdf)], data)  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "digest of 2026-11-23 to 2026-11-29 written" in made.stdout
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert "weekly digest, 2026-11-23 to 2026-11-29" in text and "No runs in this period" in text

    xlsx = tmp_path / "roi.xlsx"
    roi = _flowmeter(["report", "roi", "--format", "xlsx", "-o", str(xlsx)], data)
    assert roi.returncode == 0, roi.stderr
    sheet = load_workbook(BytesIO(xlsx.read_bytes()))["roi"]
    assert [c.value for c in sheet[1]][:3] == ["workflow", "baseline_version", "period_start"]

    costs = _flowmeter(["report", "costs", "--from", "2026-11-01", "--to", "2026-11-30",
                        "--format", "pdf", "-o", str(tmp_path / "costs.pdf")], data)  # fmt: skip
    assert costs.returncode == 0, costs.stderr
    assert (tmp_path / "costs.pdf").read_bytes()[:5] == b"%PDF-"


def test_bad_report_arguments_are_named(tmp_path: Path) -> None:
    half = _flowmeter(["report", "roi", "--from", "2026-11-01", "-o", "x.csv"], tmp_path / "d")
    assert half.returncode != 0 and "give both --from and --to" in half.stderr
    bad = _flowmeter(["report", "send", "digest"], tmp_path / "d")
    assert bad.returncode != 0 and "FLOWMETER_SMTP_URL" in bad.stderr
    assert "Traceback" not in half.stderr + bad.stderr


def test_send_now_mails_the_digest_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with smtp_server(tmp_path) as (url, mailbox, cert):
        env = {"FLOWMETER_SMTP_URL": url, "FLOWMETER_DIGEST_TO": "ceo@example.com",
               "SSL_CERT_FILE": str(cert)}  # fmt: skip
        first = _flowmeter(["report", "send", "digest", "--period", "2026-11-23"], data, **env)
        assert first.returncode == 0, first.stderr
        assert "digest:2026-11-23 via email to ceo@example.com: sent" in first.stdout
        [message] = mailbox.wait_for(1)
        assert message["Subject"].startswith("Flowmeter weekly digest")
        second = _flowmeter(["report", "send", "digest", "--period", "2026-11-23"], data, **env)
        assert "ceo@example.com: skipped" in second.stdout
        assert len(mailbox.messages) == 1
        wrong = _flowmeter(["report", "send", "digest", "--period", "2026-11-24"], data, **env)
        assert wrong.returncode != 0 and "is not a Monday" in wrong.stderr
    log = _flowmeter(["report", "deliveries"], data)
    assert "digest:2026-11-23" in log.stdout and "sent" in log.stdout
