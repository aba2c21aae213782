"""The digest and chargeback: figures equal models/, the PDF renders, e-mail arrives once."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from openpyxl import load_workbook

from app.delivery import DeliveryLog
from app.reports import render
from app.reports.schedule import Period
from app.reports.send import chargeback_frames, send_chargeback
from app.reports.service import ReportService
from models.baselines import set_baseline
from models.db import Store
from models.digest import build_digest
from models.roi_report import roi_report
from models.settings import load_settings
from models.totals import roi_totals
from tests.app.seed import seed_costs
from tests.builders import kpi_event, run
from tests.sinks import smtp_server

WEEK = Period("digest", datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 30, tzinfo=UTC))
MONTH = Period("chargeback", datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 12, 1, tzinfo=UTC))


def _seed(store: Store) -> None:
    """Two weeks of invoice runs (more in the later one), a baseline, KPI events and a bill."""
    set_baseline(
        store, "invoice", manual_minutes=Decimal("15"), hourly_rate=Decimal("48"),
        manual_error_rate=Decimal("0"), cost_per_error=Decimal("0"), currency="EUR",
        reason="time study", changed_by="test", effective_from=datetime(2026, 10, 1),
    )  # fmt: skip
    for week_start, count in ((datetime(2026, 11, 16, 9), 4), (datetime(2026, 11, 23, 9), 10)):
        for i in range(count):
            run(store, week_start + timedelta(hours=i), "invoice", tenant="acme",
                steps=[("post", "ok", 200.0)])  # fmt: skip
            kpi_event(store, week_start + timedelta(hours=i), "invoice_posted",
                      amount=Decimal("250.00"), currency="EUR", workflow="invoice")  # fmt: skip
    run(store, datetime(2026, 11, 25, 12), "invoice", tenant="acme", outcome="failed",
        steps=[("post", "failed", 900.0)])  # fmt: skip
    seed_costs(store, datetime(2026, 11, 24).date())


@pytest.fixture
def seeded(store: Store) -> Store:
    _seed(store)
    return store


def test_the_digest_s_figures_are_the_dashboard_s(seeded: Store) -> None:
    digest = build_digest(seeded, WEEK.start, WEEK.end)
    expected = roi_totals(roi_report(seeded, WEEK.start, WEEK.end))
    before = roi_totals(roi_report(seeded, WEEK.start - timedelta(days=7), WEEK.start))
    assert digest.roi == expected and digest.previous_roi == before
    assert digest.roi.volume == 10 and digest.previous_roi.volume == 4
    # 10 invoices x 15 min x EUR 48/h = EUR 120 of manual work avoided.
    assert digest.roi.manual_cost_avoided == Decimal("120")
    posted = next(k for k in digest.kpis if k["kpi"] == "invoice_posted")
    assert (posted["events"], posted["previous_events"]) == (10, 4)
    assert posted["events_change_pct"] == pytest.approx(150.0)
    assert digest.slo.runs > 0 and digest.slo.success_rate is not None
    assert digest.slo.success_rate < 1.0  # the failed run counts
    figures = json.loads(render.digest_json(digest))
    assert Decimal(figures["roi"]["manual_cost_avoided"]) == Decimal("120")
    assert figures["start"] == "2026-11-23T00:00:00+00:00"


def test_the_pdf_renders_and_says_what_the_html_says(seeded: Store, tmp_path: Path) -> None:
    digest = build_digest(seeded, WEEK.start, WEEK.end)
    html = render.digest_html(digest, dashboard_url="https://fm.example.com")
    path = tmp_path / "digest.pdf"
    path.write_bytes(render.pdf(html))
    subprocess.run(["pdftoppm", "-r", "50", "-png", str(path), str(tmp_path / "page")], check=True)
    assert sorted(p.name for p in tmp_path.glob("page*.png"))[0].startswith("page-1")
    text = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True,
                          check=True).stdout  # fmt: skip
    assert "2026-11-23 to 2026-11-29" in text
    assert render.money(digest.roi.net_savings, "EUR") in text
    assert "invoice_posted" in text and "Objectives" in text


def test_html_escapes_what_telemetry_wrote(seeded: Store) -> None:
    run(seeded, datetime(2026, 11, 24, 3), "<script>alert(1)</script>", tenant="acme")
    html = render.digest_html(build_digest(seeded, WEEK.start, WEEK.end))
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_the_chargeback_workbook_has_every_tenant_and_each_tenant_s_sheet(seeded: Store) -> None:
    settings = load_settings({})
    sheets = chargeback_frames(seeded, settings, MONTH.start, MONTH.end)
    # acme ran the invoices: the shared platform line is allocated to it by runs.
    assert list(sheets) == ["by tenant", "acme", "tenant-a", "tenant-b"]
    book = load_workbook(BytesIO(render.workbook(sheets)))
    assert book.sheetnames == ["by tenant", "acme", "tenant-a", "tenant-b"]
    header = [c.value for c in book["by tenant"][1]]
    rows = [dict(zip(header, (c.value for c in row), strict=True))
            for row in book["by tenant"].iter_rows(min_row=2)]  # fmt: skip
    total = sum(Decimal(str(r["effective_cost"])) for r in rows)
    assert total == Decimal("40.00") + Decimal("1234.56") + Decimal("50.00")


@pytest.fixture
def mail(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[str, object]]:
    with smtp_server(tmp_path) as (url, mailbox, cert):
        monkeypatch.setenv("SSL_CERT_FILE", str(cert))
        yield url, mailbox


def test_the_service_sends_each_due_report_once(seeded: Store, mail: tuple[str, object]) -> None:
    url, mailbox = mail
    settings = load_settings({
        "FLOWMETER_SMTP_URL": url, "FLOWMETER_DIGEST_TO": "ceo@example.com",
        "FLOWMETER_CHARGEBACK_TO": "finance@example.com",
    })  # fmt: skip
    service = ReportService(settings, seeded)
    now = datetime(2026, 12, 2, 10, tzinfo=UTC)
    assert [p.key for p in service.due(now)] == ["digest:2026-11-23", "chargeback:2026-11"]
    sent = service.run_due(now)
    assert {key: [o.status for o in outcomes] for key, outcomes in sent.items()} == {
        "digest:2026-11-23": ["sent"], "chargeback:2026-11": ["sent"],
    }  # fmt: skip
    messages = mailbox.wait_for(2)  # type: ignore[attr-defined]
    digest = next(m for m in messages if m["To"] == "ceo@example.com")
    [pdf] = list(digest.iter_attachments())
    assert pdf.get_content_type() == "application/pdf" and pdf.get_content()[:5] == b"%PDF-"
    chargeback = next(m for m in messages if m["To"] == "finance@example.com")
    [xlsx] = list(chargeback.iter_attachments())
    assert xlsx.get_filename() == "flowmeter-chargeback-2026-11.xlsx"
    # A restart (a new service on the same store) neither re-sends nor forgets.
    again = ReportService(settings, seeded)
    assert again.due(now) == [] and again.run_due(now) == {}
    assert len(mailbox.messages) == 2  # type: ignore[attr-defined]
    assert send_chargeback(seeded, settings, MONTH)[0].status == "skipped"
    assert len(DeliveryLog(seeded).recent()) == 2  # a skipped send is not an attempt
