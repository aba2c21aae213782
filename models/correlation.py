"""Correlation drill-down: everything about one correlation id, trace id or entity id.

Keys resolve through ``lookup_keys`` (filled by materialized views, sql/schema/304) in one
query that also brings the times of the key's correlation ids; spans are read by TraceId
inside the trace's bounds from ``otel_traces_trace_id_ts`` (a scalar subquery of the same
query: date partitions, primary key, bloom filter), so the span table is never scanned. Four
small queries: the span read (which resolves the key itself) runs beside resolve, then KPI
events and logs, each on its own pooled client. Dead letters and replays are the ``dlq.*``
log events; the attributed cost prices the drill-down's spans with the usage price list.
Every read is tenant-filtered row by row (a trace id travels in ``traceparent``: another
tenant can send spans under it) and capped at ``max_rows`` rows (FLOWMETER_DRILLDOWN_MAX_ROWS);
a cut frame is named in ``truncated`` and in the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd

from models.db import Store, concurrently
from models.pricing import PriceList, price_spans
from models.tenancy import tenant_params, utc

__all__ = [
    "LOOKUP_KINDS",
    "Drilldown",
    "drilldown",
    "resolve",
    "search_spans",
    "trace_spans",
]

LOOKUP_KINDS = ("correlation", "trace", "entity")
# Logs and KPI events can trail the last span a little (exporters batch).
_SLACK_SECONDS = 300
# The ends of ClickHouse's DateTime range, for an empty window.
_NEVER_BEFORE, _NEVER_AFTER = datetime(1970, 1, 2), datetime(2106, 1, 1)
DRILLDOWN_MAX_ROWS = 10_000  # the default of FLOWMETER_DRILLDOWN_MAX_ROWS


@dataclass
class Drilldown:
    """Everything known about one key; each frame is empty when nothing matched."""

    kind: str
    key: str
    keys: pd.DataFrame  # correlation_id, trace_id, tenant, first_seen, last_seen
    spans: pd.DataFrame  # see trace_spans
    logs: (
        pd.DataFrame
    )  # timestamp, trace_id, span_id, severity, service, event_name, body, attributes
    kpi_events: (
        pd.DataFrame
    )  # event_id, ts, kpi, value, amount, currency, entity_*, correlation_id, ...
    dead_letters: pd.DataFrame  # timestamp, event_name (dlq.quarantined|dlq.replayed), dlq_id, reason, actor, audit_reason, correlation_id, run_id
    cost: pd.DataFrame  # dependency, calls, compute_seconds, cost, currency
    notes: list[str] = field(default_factory=list)
    truncated: list[str] = field(default_factory=list)  # frames cut at max_rows

    @property
    def found(self) -> bool:
        """True when the key matched anything."""
        return not (self.keys.empty and self.spans.empty)


def resolve(
    store: Store, kind: str, key: str, *, tenants: Sequence[str] | None = None
) -> pd.DataFrame:
    """Columns correlation_id, trace_id, tenant, first_seen, last_seen for a correlation / trace / entity id."""
    _check_kind(kind)
    return store.query_df(
        "correlation/resolve", kind=kind, key=key.strip(), **tenant_params(tenants)
    )


def _check_kind(kind: str) -> None:
    if kind not in LOOKUP_KINDS:
        raise ValueError(f"kind must be one of {', '.join(LOOKUP_KINDS)}, not {kind!r}")


def trace_spans(
    store: Store,
    trace_ids: Sequence[str],
    *,
    tenants: Sequence[str] | None = None,
    max_rows: int = DRILLDOWN_MAX_ROWS,
) -> pd.DataFrame:
    """Columns timestamp, trace_id, span_id, parent_span_id, span_name, span_kind, service, duration_ms, status_code, status_message, attributes, resource_attributes, event_times, event_names, event_attributes."""
    return _spans(store, trace_ids, "", "", tenants, max_rows)


def _spans(
    store: Store,
    trace_ids: Sequence[str],
    kind: str,
    key: str,
    tenants: Sequence[str] | None,
    limit: int,
) -> pd.DataFrame:
    """Spans of ``trace_ids`` and of every trace ``kind``/``key`` resolves to (see trace_spans.sql)."""
    ids = sorted({t for t in trace_ids if t})
    return store.query_df(
        "correlation/trace_spans",
        trace_ids=ids,
        kind=kind,
        key=key,
        limit=limit,
        **tenant_params(tenants),
    )


def _cut(
    frames: dict[str, pd.DataFrame], max_rows: int
) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Each frame to at most ``max_rows`` rows (they were read with one more), and which were cut."""
    cut = [name for name, frame in frames.items() if len(frame) > max_rows]
    return {name: frame.head(max_rows) for name, frame in frames.items()}, cut


def drilldown(
    store: Store,
    kind: str,
    key: str,
    *,
    tenants: Sequence[str] | None = None,
    prices: PriceList | None = None,
    max_rows: int = DRILLDOWN_MAX_ROWS,
) -> Drilldown:
    """Spans, logs, KPI events, dead letters/replays and attributed cost for one key (each at
    most ``max_rows`` rows; ``truncated`` names the frames that had more)."""
    _check_kind(kind)
    if max_rows < 1:
        raise ValueError("max_rows must be at least 1")
    key = key.strip()
    limit = max_rows + 1  # one more than shown: tells a cut from an exact fit
    # A trace id is its own trace even without correlation ids (any OTel SDK).
    own_trace = [key] if kind == "trace" and tenants is None else []

    def keys_logs_events() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        keys = resolve(store, kind, key, tenants=tenants)
        trace_ids = sorted(set(keys["trace_id"]) - {""}) or own_trace
        correlation_ids = sorted(set(keys["correlation_id"]) - {""})
        times = [pd.Timestamp(t).to_pydatetime() for t in (*keys["first_seen"], *keys["last_seen"])]
        # No keys: an empty window (start after end) that the traces' own bounds widen in SQL.
        start, end = (min(times), max(times)) if times else (_NEVER_AFTER, _NEVER_BEFORE)
        kpi_events, logs = concurrently(
            lambda: store.query_df(
                "correlation/kpi_events",
                trace_ids=trace_ids,
                correlation_ids=correlation_ids,
                limit=limit,
                **tenant_params(tenants),
            ),
            lambda: store.query_df(
                "correlation/logs",
                trace_ids=trace_ids,
                correlation_ids=correlation_ids,
                start=utc(start),
                end=utc(end),
                slack_seconds=_SLACK_SECONDS,
                limit=limit,
                **tenant_params(tenants),
            ),
        )
        return keys, logs, kpi_events

    # The span read resolves the key itself, so it runs beside resolve -> (KPI events | logs):
    # the longest read no longer waits for the resolve round trip.
    spans, (keys, logs, kpi_events) = concurrently(
        lambda: _spans(store, own_trace, kind, key, tenants, limit),
        keys_logs_events,
    )
    frames, truncated = _cut({"spans": spans, "logs": logs, "kpi_events": kpi_events}, max_rows)
    spans, logs, kpi_events = frames["spans"], frames["logs"], frames["kpi_events"]
    notes: list[str] = [
        f"showing the first {max_rows} {name.replace('_', ' ')}: there are more "
        "(FLOWMETER_DRILLDOWN_MAX_ROWS)"
        for name in truncated
    ]
    if keys.empty and spans.empty:
        notes.append(f"no {kind} id {key!r} is known" + (" for your tenants" if tenants else ""))
    cost = price_spans(spans, prices) if prices is not None else _no_cost()
    if prices is None:
        notes.append("no usage price list configured (FLOWMETER_PRICING_FILE): cost not attributed")
    return Drilldown(
        kind, key, keys, spans, logs, kpi_events, dead_letter_events(logs), cost, notes, truncated
    )


def dead_letter_events(logs: pd.DataFrame) -> pd.DataFrame:
    """Columns timestamp, event_name, dlq_id, reason, actor, audit_reason, correlation_id, run_id from dlq.* logs."""
    columns = ["timestamp", "event_name", "dlq_id", "reason", "actor", "audit_reason",
               "correlation_id", "run_id"]  # fmt: skip
    if logs.empty:
        return pd.DataFrame(columns=columns)
    dlq = logs[logs["event_name"].astype(str).str.startswith("dlq.")]
    rows = []
    for record in dlq.itertuples(index=False):
        attrs: dict[str, str] = dict(record.attributes)  # type: ignore[arg-type]
        rows.append(
            {
                "timestamp": record.timestamp,
                "event_name": record.event_name,
                "dlq_id": attrs.get("dlq.id", ""),
                "reason": attrs.get("dlq.reason", ""),
                "actor": attrs.get("audit.actor", ""),
                "audit_reason": attrs.get("audit.reason", ""),
                "correlation_id": attrs.get("correlation.id", ""),
                "run_id": attrs.get("workflow.run_id", ""),
            }
        )
    return pd.DataFrame(rows, columns=columns)


def _no_cost() -> pd.DataFrame:
    return pd.DataFrame(columns=["dependency", "calls", "compute_seconds", "cost", "currency"])


def search_spans(
    store: Store,
    key: str,
    value: str,
    start: datetime,
    end: datetime,
    *,
    limit: int = 100,
    tenants: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Columns timestamp, trace_id, span_id, span_name, service, duration_ms, status_code, correlation_id, workflow, tenant (newest first)."""
    if not key.strip():
        raise ValueError("search needs an attribute key, e.g. entity.id")
    if not 1 <= limit <= 10_000:
        raise ValueError("limit must be between 1 and 10000")
    return store.query_df(
        "correlation/search_spans",
        key=key.strip(),
        value=value,
        start=utc(start),
        end=utc(end),
        limit=limit,
        **tenant_params(tenants),
    )
