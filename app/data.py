"""Cached reads for the views: each calls one models (or orchestrator) function on the store.

Every function takes the tenants the reader may see as an argument, so the cache key holds
the tenant scope and one user's cached numbers are never served to another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import streamlit as st

from app import actions
from models import correlation, health, kpis, overview, totals
from models import dimensions as catalog
from models.db import current_store
from models.settings import load_settings
from orchestrator.api import OrchestratorAPI

Tenants = tuple[str, ...] | None

TTL_SECONDS = load_settings().cache_ttl_seconds
SLO_SUCCESS = 0.99  # share of runs that must succeed
SLO_P95_MS = 5000.0  # p95 run latency target


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
    start: datetime, end: datetime, by: str, workflow: str, tenants: Tenants
) -> pd.DataFrame:
    """Health per workflow / step / service ... with SLO status and error-budget burn."""
    summary = health.health_summary(
        current_store(), start, end, by=by, workflow=workflow, tenants=tenants
    )
    return health.slo_status(summary, success_target=SLO_SUCCESS, p95_target_ms=SLO_P95_MS)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def health_timeseries(
    start: datetime, end: datetime, bucket_minutes: int, workflow: str, tenants: Tenants
) -> pd.DataFrame:
    """Runs over time in buckets: spans, errors, retries, dead letters, latency quantiles."""
    return health.health_timeseries(
        current_store(), start, end, bucket_minutes=bucket_minutes, kind="run",
        workflow=workflow, tenants=tenants,
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
    return correlation.drilldown(current_store(), kind, key, tenants=tenants)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False)
def search_spans(
    key: str, value: str, start: datetime, end: datetime, limit: int, tenants: Tenants
) -> pd.DataFrame:
    """Spans whose attribute key equals value, newest first."""
    return correlation.search_spans(
        current_store(), key, value, start, end, limit=limit, tenants=tenants
    )


def health_totals(summary: pd.DataFrame, start: datetime, end: datetime) -> totals.HealthTotals:
    """Tile figures over a health summary (pure, no cache needed)."""
    return totals.health_totals(summary, start, end)


# --- orchestrator state (not cached: an operator must see a replay take effect at once) -
@st.cache_resource(show_spinner=False)
def engine_api() -> OrchestratorAPI:
    """The orchestrator API on the configured state database (one per process)."""
    return OrchestratorAPI.from_settings(load_settings())


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


def audit_log(limit: int = 200) -> pd.DataFrame:
    """The newest audit rows (who, when, what, why)."""
    return _epoch_columns(pd.DataFrame(engine_api().audit_log(limit=limit)), ("at",))


def breakers() -> pd.DataFrame:
    """Last known state of each circuit breaker."""
    return _epoch_columns(pd.DataFrame(engine_api().breakers()), ("changed_at",))


def _epoch_columns(frame: pd.DataFrame, columns: tuple[str, ...]) -> pd.DataFrame:
    for column in columns:
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], unit="s", errors="coerce")
    return frame
