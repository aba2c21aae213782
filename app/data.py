"""Cached reads for the views: each calls one models (or orchestrator) function on the store.

Every function takes the tenants the reader may see as an argument, so the cache key holds
the tenant scope and one user's cached numbers are never served to another.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from app import actions
from models import (
    baselines,
    correlation,
    costs,
    health,
    kpis,
    overview,
    pricing,
    retention,
    roi_report,
    totals,
)
from models import cost_export as cost_export_module
from models import dimensions as catalog
from models.db import current_store
from models.settings import load_settings
from orchestrator.api import OrchestratorAPI

Tenants = tuple[str, ...] | None

SETTINGS = load_settings()
TTL_SECONDS = SETTINGS.cache_ttl_seconds
SLO_SUCCESS = SETTINGS.slo_success_target
SLO_P95_MS = SETTINGS.slo_p95_ms
POLICY = SETTINGS.cost_allocation_policy
WEIGHTS = dict(SETTINGS.cost_allocation_weights)


@dataclass(frozen=True)
class Freshness:
    """The newest record the reader may see, and when the dashboard read it."""

    latest: datetime | None
    read_at: datetime


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def table_rows() -> pd.DataFrame:
    """Rows and bytes per table."""
    return overview.table_rows(current_store())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def dimensions(tenants: Tenants) -> dict[str, list[str]]:
    """Tenants, product lines and workflows for the sidebar."""
    return catalog.dimension_values(current_store(), tenants)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def freshness(tenants: Tenants) -> Freshness:
    """When the newest visible record happened; read_at is when this was asked."""
    latest = catalog.newest_record(current_store(), tenants)
    return Freshness(latest, datetime.now(UTC).replace(tzinfo=None))


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def store_is_empty() -> bool:
    """True when no table holds a row (the first-run empty state)."""
    rows = overview.table_rows(current_store())
    return rows.empty or int(rows["rows"].sum()) == 0


# --- system health -----------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def health_summary(
    start: datetime, end: datetime, by: str, workflow: str, tenants: Tenants,
    product_line: str = "",
) -> pd.DataFrame:  # fmt: skip
    """Health per workflow / step / service ... with SLO status and error-budget burn."""
    summary = health.health_summary(
        current_store(), start, end, by=by, workflow=workflow, product_line=product_line,
        tenants=tenants,
    )  # fmt: skip
    return health.slo_status(summary, success_target=SLO_SUCCESS, p95_target_ms=SLO_P95_MS)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def health_timeseries(
    start: datetime, end: datetime, bucket_minutes: int, workflow: str, tenants: Tenants,
    product_line: str = "",
) -> pd.DataFrame:  # fmt: skip
    """Runs over time in buckets: spans, errors, retries, dead letters, latency quantiles."""
    return health.health_timeseries(
        current_store(), start, end, bucket_minutes=bucket_minutes, kind="run",
        workflow=workflow, product_line=product_line, tenants=tenants,
    )  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def gauges(start: datetime, end: datetime, tenants: Tenants) -> pd.DataFrame:
    """Latest DLQ depth, queue lag and breaker state per label."""
    return health.gauges(current_store(), start, end, tenants=tenants)


# --- business KPIs -----------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def kpi_series(
    start: datetime, end: datetime, bucket: str, workflow: str, tenants: Tenants
) -> pd.DataFrame:
    """KPI events per hour or day."""
    return kpis.kpi_series(
        current_store(), start, end, bucket=bucket, workflow=workflow, tenants=tenants
    )


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def kpi_summary(start: datetime, end: datetime, workflow: str, tenants: Tenants) -> pd.DataFrame:
    """KPI totals against the previous period of the same length."""
    return kpis.kpi_summary(current_store(), start, end, workflow=workflow, tenants=tenants)


# --- correlation drill-down --------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def drilldown(kind: str, key: str, tenants: Tenants) -> correlation.Drilldown:
    """Spans, logs, KPI events, dead letters and cost for one correlation / trace / entity id."""
    return correlation.drilldown(current_store(), kind, key, tenants=tenants, prices=price_list())


@st.cache_resource(show_spinner=False)
def price_list() -> pricing.PriceList | None:
    """The usage price list (FLOWMETER_PRICING_FILE), or None when none is configured."""
    path = load_settings().pricing_file
    return pricing.load_price_list(path) if path is not None else None


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def search_spans(
    key: str, value: str, start: datetime, end: datetime, limit: int, tenants: Tenants
) -> pd.DataFrame:
    """Spans whose attribute key equals value, newest first."""
    return correlation.search_spans(
        current_store(), key, value, start, end, limit=limit, tenants=tenants
    )


def gauge_totals(gauges_frame: pd.DataFrame) -> totals.GaugeTotals:
    """DLQ depth, queue lag and open breakers from the latest gauges."""
    return totals.gauge_totals(gauges_frame)


def health_totals(summary: pd.DataFrame, start: datetime, end: datetime) -> totals.HealthTotals:
    """Tile figures over a health summary (pure, no cache needed)."""
    return totals.health_totals(summary, start, end)


# --- orchestrator state (not cached: an operator must see a replay take effect at once) -
@st.cache_resource(show_spinner=False)
def engine_api() -> OrchestratorAPI:
    """The orchestrator API on the configured state database (one per process); replays
    send their ``dlq.replayed`` event to the receiver (see audit_telemetry)."""
    from app.telemetry import audit_telemetry

    settings = load_settings()
    return OrchestratorAPI.from_settings(settings, telemetry=audit_telemetry(settings))


def dead_letters(
    tenants: Tenants, workflow: str, reason: str, replayed: bool | None
) -> pd.DataFrame:
    """Dead letters within the reader's tenants, newest first."""
    rows = actions.readable_dead_letters(
        engine_api(), tenants, workflow=workflow, reason=reason, replayed=replayed
    )
    return _epoch_columns(pd.DataFrame(rows), ("quarantined_at", "replayed_at"))


def dead_letter(dead_letter_id: int) -> dict[str, Any]:
    """One dead letter with payload and steps."""
    return engine_api().dead_letter(dead_letter_id)


def pending_approvals(tenants: Tenants) -> pd.DataFrame:
    """Approvals waiting for a decision within the reader's tenants."""
    frame = pd.DataFrame(actions.pending_approvals(engine_api(), tenants))
    return _epoch_columns(frame, ("requested_at", "deadline"))


def audit_log(tenants: Tenants, limit: int = 200) -> pd.DataFrame:
    """The newest audit rows (who, when, what, why) about records the reader may see."""
    rows = actions.readable_audit_log(engine_api(), tenants, limit=limit)
    return _epoch_columns(pd.DataFrame(rows), ("at",))


def breakers() -> pd.DataFrame:
    """Last known state of each circuit breaker."""
    return _epoch_columns(pd.DataFrame(engine_api().breakers()), ("changed_at",))


def quarantined_segments() -> pd.DataFrame:
    """Ingest segments ClickHouse kept refusing, set aside under <data dir>/wal/quarantine/."""
    from dataclasses import asdict

    from collectors.wal import quarantined

    rows = [asdict(q) for q in quarantined(load_settings().data_dir / "wal")]
    columns = ["signal", "segment", "bytes", "quarantined_at", "reason"]
    return _epoch_columns(pd.DataFrame(rows, columns=columns), ("quarantined_at",))


@dataclass(frozen=True)
class Storage:
    """What each table keeps and holds, its size per partition, and the disks' free space."""

    tables: pd.DataFrame
    partitions: pd.DataFrame
    disks: pd.DataFrame


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=4)
def storage() -> Storage:
    """Retention and disk usage of every table (every tenant's rows: all-tenant readers only)."""
    store = current_store()
    return Storage(
        tables=pd.DataFrame(retention.retention_report(store, SETTINGS.retention_days)),
        partitions=pd.DataFrame(retention.disk_usage(store)),
        disks=pd.DataFrame(store.query("store/disk_free")),
    )


def _epoch_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for column in columns:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], unit="s", errors="coerce")
    return frame


# --- ROI -------------------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def roi(start: datetime, end: datetime, workflow: str, tenants: Tenants) -> pd.DataFrame:
    """ROI per workflow and baseline version over [start, end)."""
    return roi_report.roi_report(current_store(), start, end, workflow=workflow, policy=POLICY,
                                 weights=WEIGHTS, tenants=tenants)  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def roi_daily(
    start: datetime, end: datetime, workflow: str, tenants: Tenants
) -> tuple[pd.DataFrame, int | None]:
    """Savings and platform cost per day and workflow, and the payback in days."""
    return roi_report.roi_daily(current_store(), start, end, workflow=workflow, policy=POLICY,
                                weights=WEIGHTS, tenants=tenants)  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def before_after(workflow: str, metric: str, tenants: Tenants) -> Any:
    """Before/after go-live comparison of one metric with a bootstrap interval."""
    return roi_report.before_after(current_store(), workflow, metric, policy=POLICY,
                                   tenants=tenants)  # fmt: skip


def roi_totals(report: pd.DataFrame) -> totals.RoiTotals:
    """Headline ROI figures over a report."""
    return totals.roi_totals(report)


def roi_by_day(daily: pd.DataFrame) -> pd.DataFrame:
    """ROI per day over every workflow."""
    return totals.roi_by_day(daily)


def kpi_headlines(
    summary: pd.DataFrame, start: datetime, end: datetime, *, previous: bool = False
) -> totals.KpiHeadlines:
    """Headline KPIs of a period (or of its previous period)."""
    return totals.kpi_headlines(summary, start, end, previous=previous)


# --- baselines ---------------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def baseline_history(workflow: str) -> pd.DataFrame:
    """Every baseline version, newest first per workflow."""
    return baselines.baseline_history(current_store(), workflow)


# --- cost attribution --------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def attributed_costs(
    start: date, end: date, by: str, daily: bool, tenants: Tenants
) -> pd.DataFrame:
    """Cost per group (and day), shared cost allocated by the configured policy."""
    return costs.attributed_costs(current_store(), start, end, by=by, policy=POLICY,
                                  weights=WEIGHTS, daily=daily, tenants=tenants)  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def unit_economics(start: date, end: date, by: str, tenants: Tenants) -> pd.DataFrame:
    """Cost per transaction and per order, per day and group."""
    return costs.unit_economics(current_store(), start, end, by=by, tenants=tenants)


def cost_totals(frame: pd.DataFrame) -> totals.CostTotals:
    """Imported, allocated and unallocated totals of an attributed-costs frame."""
    return totals.cost_totals(frame)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def cost_export(start: date, end: date, by: str, fmt: str, tenants: Tenants) -> bytes:
    """The cost report as CSV / XLSX / Parquet / HTML bytes (the analytics export writer)."""
    frame = attributed_costs(start, end, by, False, tenants)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"costs.{fmt}"
        cost_export_module.write_cost_export(
            frame, path, fmt, by=by, start=start, end=end, policy=POLICY
        )
        return path.read_bytes()
