"""Cached reads for the views: each calls one models (or orchestrator) function on the store.

Every read runs within the dashboard's limits (FLOWMETER_DASHBOARD_QUERY_TIMEOUT_SECONDS,
FLOWMETER_DASHBOARD_MAX_ROWS) and every cache keeps at most FLOWMETER_CACHE_MAX_ENTRIES
results, so neither a slow query nor many distinct URLs can exhaust the dashboard.

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
from app.alerts.rules_file import configured_rules
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
from models import kpi_catalog as kpi_catalog_module
from models import workflows as workflows_module
from models.alerts import history as alert_history_module
from models.alerts import silences as alert_silences_module
from models.alerts.rules import Rule
from models.db import ReadLimits, Store, current_store
from models.rules import Kpi
from models.settings import load_settings
from orchestrator.api import OrchestratorAPI

Tenants = tuple[str, ...] | None

SETTINGS = load_settings()
TTL_SECONDS = SETTINGS.cache_ttl_seconds
CACHE_ENTRIES = SETTINGS.cache_max_entries  # per cached function: memory stays bounded
LIMITS = ReadLimits(
    max_execution_time=SETTINGS.dashboard_query_timeout_seconds,
    max_result_rows=SETTINGS.dashboard_max_rows,
    timeout_setting="FLOWMETER_DASHBOARD_QUERY_TIMEOUT_SECONDS="
    f"{SETTINGS.dashboard_query_timeout_seconds:g}",
    rows_setting=f"FLOWMETER_DASHBOARD_MAX_ROWS={SETTINGS.dashboard_max_rows}",
)
SLO_SUCCESS = SETTINGS.slo_success_target
SLO_P95_MS = SETTINGS.slo_p95_ms
POLICY = SETTINGS.cost_allocation_policy
WEIGHTS = dict(SETTINGS.cost_allocation_weights)


def _store() -> Store:
    """The store, every named read bounded in time and rows (ReadLimits)."""
    return current_store().limited(LIMITS)


@dataclass(frozen=True)
class Freshness:
    """The newest record the reader may see, and when the dashboard read it."""

    latest: datetime | None
    read_at: datetime


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def table_rows() -> pd.DataFrame:
    """Rows and bytes per table."""
    return overview.table_rows(_store())


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def dimensions(tenants: Tenants) -> dict[str, list[str]]:
    """Tenants, product lines and workflows for the sidebar."""
    return catalog.dimension_values(_store(), tenants)


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def freshness(tenants: Tenants) -> Freshness:
    """When the newest visible record happened; read_at is when this was asked."""
    latest = catalog.newest_record(_store(), tenants)
    return Freshness(latest, datetime.now(UTC).replace(tzinfo=None))


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def store_is_empty() -> bool:
    """True when no table holds a row (the first-run empty state)."""
    rows = overview.table_rows(_store())
    return rows.empty or int(rows["rows"].sum()) == 0


# --- system health -----------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def health_summary(
    start: datetime, end: datetime, by: str, workflow: str, tenants: Tenants,
    product_line: str = "",
) -> pd.DataFrame:  # fmt: skip
    """Health per workflow / step / service ... with SLO status and error-budget burn."""
    summary = health.health_summary(
        _store(), start, end, by=by, workflow=workflow, product_line=product_line,
        tenants=tenants,
    )  # fmt: skip
    return health.slo_status(summary, success_target=SLO_SUCCESS, p95_target_ms=SLO_P95_MS)


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def health_timeseries(
    start: datetime, end: datetime, bucket_minutes: int, workflow: str, tenants: Tenants,
    product_line: str = "",
) -> pd.DataFrame:  # fmt: skip
    """Runs over time in buckets: spans, errors, retries, dead letters, latency quantiles."""
    return health.health_timeseries(
        _store(), start, end, bucket_minutes=bucket_minutes, kind="run",
        workflow=workflow, product_line=product_line, tenants=tenants,
    )  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def gauges(start: datetime, end: datetime, tenants: Tenants) -> pd.DataFrame:
    """Latest DLQ depth, queue lag and breaker state per label."""
    return health.gauges(_store(), start, end, tenants=tenants)


# --- business KPIs -----------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def kpi_series(
    start: datetime, end: datetime, bucket: str, workflow: str, tenants: Tenants
) -> pd.DataFrame:
    """KPI events per hour or day."""
    return kpis.kpi_series(_store(), start, end, bucket=bucket, workflow=workflow, tenants=tenants)


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def kpi_summary(start: datetime, end: datetime, workflow: str, tenants: Tenants) -> pd.DataFrame:
    """KPI totals against the previous period of the same length."""
    return kpis.kpi_summary(_store(), start, end, workflow=workflow, tenants=tenants)


def kpi_catalog() -> tuple[Kpi, ...]:
    """The KPI catalog: FLOWMETER_RULES_FILE's [[kpi]] tables, else the one saved in the store."""
    return _kpi_catalog(load_settings().rules_file)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=CACHE_ENTRIES)
def _kpi_catalog(rules_file: Path | None) -> tuple[Kpi, ...]:
    return kpi_catalog_module.catalog(_store(), rules_file)


def kpi_tiles(
    start: datetime, end: datetime, workflow: str, tenants: Tenants
) -> list[kpi_catalog_module.KpiTile]:
    """The catalog's tile KPIs for a period, with the previous period's figures."""
    return _kpi_tiles(start, end, workflow, tenants, kpi_catalog())


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=CACHE_ENTRIES)
def _kpi_tiles(
    start: datetime, end: datetime, workflow: str, tenants: Tenants, shown: tuple[Kpi, ...]
) -> list[kpi_catalog_module.KpiTile]:
    summary = kpis.kpi_summary(_store(), start, end, workflow=workflow, tenants=tenants)
    return kpi_catalog_module.kpi_tiles(_store(), shown, summary, start, end, tenants=tenants)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=CACHE_ENTRIES)
def workflow_list(start: datetime, end: datetime, tenants: Tenants) -> pd.DataFrame:
    """Every workflow with runs (native or recognized), its source, figures and baseline."""
    return workflows_module.workflow_list(_store(), start, end, tenants=tenants)


# --- correlation drill-down --------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def drilldown(kind: str, key: str, tenants: Tenants) -> correlation.Drilldown:
    """Spans, logs, KPI events, dead letters and cost for one correlation / trace / entity id."""
    return correlation.drilldown(
        _store(),
        kind,
        key,
        tenants=tenants,
        prices=price_list(),
        max_rows=SETTINGS.drilldown_max_rows,
    )


@st.cache_resource(show_spinner=False)
def price_list() -> pricing.PriceList | None:
    """The usage price list (FLOWMETER_PRICING_FILE), or None when none is configured."""
    path = load_settings().pricing_file
    return pricing.load_price_list(path) if path is not None else None


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def search_spans(
    key: str, value: str, start: datetime, end: datetime, limit: int, tenants: Tenants
) -> pd.DataFrame:
    """Spans whose attribute key equals value, newest first."""
    return correlation.search_spans(_store(), key, value, start, end, limit=limit, tenants=tenants)


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
    store = _store()
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
@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def roi(start: datetime, end: datetime, workflow: str, tenants: Tenants) -> pd.DataFrame:
    """ROI per workflow and baseline version over [start, end)."""
    return roi_report.roi_report(_store(), start, end, workflow=workflow, policy=POLICY,
                                 weights=WEIGHTS, tenants=tenants)  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def roi_daily(
    start: datetime, end: datetime, workflow: str, tenants: Tenants
) -> tuple[pd.DataFrame, int | None]:
    """Savings and platform cost per day and workflow, and the payback in days."""
    return roi_report.roi_daily(_store(), start, end, workflow=workflow, policy=POLICY,
                                weights=WEIGHTS, tenants=tenants)  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def before_after(workflow: str, metric: str, tenants: Tenants) -> Any:
    """Before/after go-live comparison of one metric with a bootstrap interval."""
    return roi_report.before_after(_store(), workflow, metric, policy=POLICY,
                                   tenants=tenants)  # fmt: skip


def roi_totals(report: pd.DataFrame) -> totals.RoiTotals:
    """Headline ROI figures over a report."""
    return totals.roi_totals(report)


def roi_by_day(daily: pd.DataFrame) -> pd.DataFrame:
    """ROI per day over every workflow."""
    return totals.roi_by_day(daily)


# --- baselines ---------------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def baseline_history(workflow: str) -> pd.DataFrame:
    """Every baseline version, newest first per workflow."""
    return baselines.baseline_history(_store(), workflow)


# --- cost attribution --------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def attributed_costs(
    start: date, end: date, by: str, daily: bool, tenants: Tenants
) -> pd.DataFrame:
    """Cost per group (and day), shared cost allocated by the configured policy."""
    return costs.attributed_costs(_store(), start, end, by=by, policy=POLICY,
                                  weights=WEIGHTS, daily=daily, tenants=tenants)  # fmt: skip


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def unit_economics(start: date, end: date, by: str, tenants: Tenants) -> pd.DataFrame:
    """Cost per transaction and per order, per day and group."""
    return costs.unit_economics(_store(), start, end, by=by, tenants=tenants)


def cost_totals(frame: pd.DataFrame) -> totals.CostTotals:
    """Imported, allocated and unallocated totals of an attributed-costs frame."""
    return totals.cost_totals(frame)


@st.cache_data(ttl=TTL_SECONDS, max_entries=CACHE_ENTRIES, show_spinner=False)
def cost_export(start: date, end: date, by: str, fmt: str, tenants: Tenants) -> bytes:
    """The cost report as CSV / XLSX / Parquet / HTML bytes (the analytics export writer)."""
    frame = attributed_costs(start, end, by, False, tenants)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"costs.{fmt}"
        cost_export_module.write_cost_export(
            frame, path, fmt, by=by, start=start, end=end, policy=POLICY
        )
        return path.read_bytes()


# --- alerts --------------------------------------------------------------------------------
@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=2)
def alert_rules() -> list[Rule]:
    """The configured alert rules (FLOWMETER_ALERT_RULES_FILE); RulesError names a bad line."""
    return configured_rules(load_settings())


def _group_text(group: dict[str, str]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(group.items())) or "(every group)"


def _rule_visible(rule: Rule, tenants: Tenants) -> bool:
    """A rule filtered on a tenant is that tenant's; one grouped by tenant has alerts of each
    tenant; any other is platform-wide, for readers of every tenant only."""
    if tenants is None:
        return True
    own = rule.filters.get("tenant", "")
    return own in tenants if own else "tenant" in rule.group_by


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=16)
def alert_states(tenants: Tenants) -> pd.DataFrame:
    """The latest state of every alert the reader may see, one row per rule and group."""
    rules = {rule.name: rule for rule in alert_rules()}
    states = alert_history_module.load_states(_store())
    rows = [
        {
            "rule": s.rule, "group": _group_text(dict(s.group)),
            "tenant": alert_silences_module.state_tenant(s, rules) or "(platform-wide)",
            "state": s.state, "value": s.value, "since": s.since, "fired_at": s.fired_at,
            "evaluated_at": s.evaluated_at, "error": s.error, "fingerprint": s.fingerprint,
        }
        for s in alert_silences_module.readable(states, rules, tenants)
    ]  # fmt: skip
    columns = ["rule", "group", "tenant", "state", "value", "since", "fired_at", "evaluated_at",
               "error", "fingerprint"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


def alert_rule_table(states: pd.DataFrame, tenants: Tenants) -> pd.DataFrame:
    """Each configured rule the reader may see, with every group's last evaluation and value."""
    rows: list[dict[str, Any]] = []
    for rule in alert_rules():
        if not _rule_visible(rule, tenants):
            continue
        base = {"rule": rule.name, "measure": rule.measure, "condition": str(rule.condition),
                "severity": rule.severity, "every": str(rule.interval)}  # fmt: skip
        own = states[states["rule"] == rule.name] if not states.empty else states
        if own.empty:
            rows.append({**base, "group": "", "state": "not evaluated yet", "value": None,
                         "evaluated_at": None})  # fmt: skip
        for _, state in own.iterrows():
            rows.append({**base, "group": state["group"], "state": state["state"],
                         "value": state["value"], "evaluated_at": state["evaluated_at"]})  # fmt: skip
    columns = ["rule", "measure", "condition", "severity", "every", "group", "state", "value",
               "evaluated_at"]  # fmt: skip
    return pd.DataFrame(rows, columns=columns)


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=32)
def alert_history(rule: str, start: datetime, tenants: Tenants) -> pd.DataFrame:
    """State changes of the alerts the reader may see since ``start``, newest first."""
    rows = alert_history_module.history(_store(), start=start, rule=rule, tenants=tenants)
    frame = pd.DataFrame(rows)
    if not frame.empty:
        frame["group"] = [_group_text(dict(g)) for g in frame["group_labels"]]
        frame["tenant"] = frame["tenant"].replace("", "(platform-wide)")
        frame = frame[["at", "rule", "group", "tenant", "before", "after", "value", "error",
                       "rule_version"]]  # fmt: skip
    return frame


@st.cache_data(ttl=TTL_SECONDS, show_spinner=False, max_entries=16)
def alert_silences(start: datetime, tenants: Tenants) -> pd.DataFrame:
    """Silences and acknowledgements the reader may see: set since ``start`` or still in force."""
    now = datetime.now(UTC)
    rows = alert_silences_module.silences(_store(), start=start, now=now, tenants=tenants)
    columns = ["at", "kind", "rule", "tenant", "actor", "reason", "until", "in_force",
               "fingerprint"]  # fmt: skip
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=columns)
    until = pd.to_datetime(frame["until"])
    until = until.dt.tz_localize("UTC") if until.dt.tz is None else until.dt.tz_convert("UTC")
    frame["in_force"] = until > pd.Timestamp(now)
    frame["tenant"] = frame["tenant"].replace("", "(platform-wide)")
    return frame[columns]
