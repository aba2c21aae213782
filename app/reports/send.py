"""Compose the scheduled reports and hand them to the delivery layer."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from app.delivery import (
    Attachment,
    Channel,
    DeliveryLog,
    Notification,
    Outcome,
    SmtpChannel,
    WebhookChannel,
    deliver,
)
from app.reports import render
from app.reports.schedule import Period
from models.costs import attributed_costs
from models.db import Store
from models.digest import Digest, build_digest
from models.settings import Settings
from orchestrator.api import OrchestratorAPI

__all__ = ["chargeback_frames", "digest_for", "send_chargeback", "send_digest"]

logger = logging.getLogger(__name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def channels(settings: Settings, recipients: Sequence[str]) -> list[Channel]:
    """E-mail to ``recipients`` when SMTP is configured, and the report webhook when set."""
    found: list[Channel] = []
    if settings.smtp_url and recipients:
        found.append(SmtpChannel(settings.smtp_url, settings.smtp_from, tuple(recipients)))
    if settings.report_webhook_url:
        found.append(WebhookChannel(settings.report_webhook_url))
    return found


def digest_for(
    store: Store,
    settings: Settings,
    start: datetime,
    end: datetime,
    engine: OrchestratorAPI | None = None,
    tenants: Sequence[str] | None = None,
) -> Digest:
    """The digest of [start, end) with the period's dead letters when the engine is at hand."""
    digest = build_digest(
        store,
        start,
        end,
        policy=settings.cost_allocation_policy,
        weights=dict(settings.cost_allocation_weights),
        slo_success_target=settings.slo_success_target,
        slo_p95_ms=settings.slo_p95_ms,
        tenants=tenants,
    )
    if engine is None:
        return digest
    letters = [
        letter
        for letter in engine.dead_letters(limit=1000)
        if start.timestamp() <= float(letter["quarantined_at"]) < end.timestamp()
        and (tenants is None or letter["tenant_id"] in tenants)
    ]
    return digest.with_dead_letters(letters)


def send_digest(
    store: Store, settings: Settings, period: Period, engine: OrchestratorAPI | None = None
) -> list[Outcome]:
    """E-mail the digest of ``period`` (HTML body, PDF attached); once per period."""
    digest = digest_for(store, settings, period.start, period.end, engine)
    html = render.digest_html(digest, dashboard_url=settings.dashboard_url)
    name = f"flowmeter-digest-{period.start.date().isoformat()}.pdf"
    notification = Notification(
        key=period.key,
        subject=f"Flowmeter weekly digest: net savings "
        f"{render.money(digest.roi.net_savings, digest.roi.currency)}",
        text=render.digest_text(digest),
        html=html,
        attachments=(Attachment(name, render.pdf(html), "application/pdf"),),
        payload={"kind": "digest", "key": period.key, **json.loads(render.digest_json(digest))},
    )
    targets = channels(settings, settings.digest_to)
    return deliver(notification, targets, kind="digest", log=DeliveryLog(store))


def chargeback_frames(
    store: Store, settings: Settings, start: datetime, end: datetime
) -> dict[str, pd.DataFrame]:
    """Sheet name -> rows: every tenant's cost, then each tenant's cost by workflow."""
    scope = {
        "policy": settings.cost_allocation_policy,
        "weights": dict(settings.cost_allocation_weights),
    }
    by_tenant = attributed_costs(store, start.date(), end.date(), by="tenant", **scope)  # type: ignore[arg-type]
    sheets = {"by tenant": by_tenant}
    for tenant in sorted({str(t) for t in by_tenant["tenant"]} - {""}):
        sheets[tenant[:31]] = attributed_costs(
            store,
            start.date(),
            end.date(),
            by="workflow",
            tenants=(tenant,),
            **scope,  # type: ignore[arg-type]
        )
    return sheets


def send_chargeback(store: Store, settings: Settings, period: Period) -> list[Outcome]:
    """E-mail finance the chargeback of ``period`` (XLSX: one sheet overall, one per tenant)."""
    sheets = chargeback_frames(store, settings, period.start, period.end)
    totals = sheets["by tenant"].groupby("currency")["effective_cost"].sum()
    summary = "; ".join(f"{currency} {total:,.2f}" for currency, total in totals.items())
    month = period.start.strftime("%Y-%m")
    text = (
        f"Flowmeter chargeback for {month}: effective cost {summary or 'none'}, "
        f"{len(sheets) - 1} tenant(s).\nThe workbook attached has one sheet with every "
        "tenant and one sheet per tenant by workflow.\n"
    )
    notification = Notification(
        key=period.key,
        subject=f"Flowmeter chargeback {month}",
        text=text,
        attachments=(
            Attachment(f"flowmeter-chargeback-{month}.xlsx", render.workbook(sheets), XLSX),
        ),
        payload={
            "kind": "chargeback",
            "key": period.key,
            "rows": json.loads(render.table_bytes(sheets["by tenant"], "json"))["rows"],
        },
    )
    targets = channels(settings, settings.chargeback_to)
    return deliver(notification, targets, kind="chargeback", log=DeliveryLog(store))
