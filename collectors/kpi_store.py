"""Writing KPI events to ``business_events`` exactly once per ``(tenant_id, event_id)``.

ReplacingMergeTree collapses duplicates only at merge time and only inside one partition,
and a materialized view rolling KPIs up would count every inserted copy. So duplicates are
dropped BEFORE the insert: within the batch, then against the ids the tenant already stored
(looked up in bounded chunks through a named query). The table engine stays the backstop.

Deduplication is per tenant (sql/schema/310): an event id is often predictable, and one
tenant must neither drop another's events by sending their ids first nor learn from the
duplicates count which ids another tenant has. Events without a tenant share the tenant "".

Check-then-insert is serialised inside this process (the embedded mode runs every writer
here). Separate writer processes against one ClickHouse server should route a given
event_id to one writer, or rely on the ReplacingMergeTree backstop for the rare race.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence

from models.db import Store
from models.kpi import KpiEvent, kpi_rows

__all__ = ["LOOKUP_CHUNK", "event_key", "write_kpi_events"]

logger = logging.getLogger(__name__)

TABLE = "business_events"
LOOKUP_CHUNK = 10_000  # event ids per existence lookup: bounds the query's size

_write_guard = threading.Lock()


def event_key(event: KpiEvent) -> tuple[str, str]:
    """The deduplication key of a KPI event: (tenant, event id)."""
    return event.tenant_id or "", event.event_id


def _existing_ids(store: Store, tenant: str, event_ids: Sequence[str]) -> set[str]:
    """The subset of ``event_ids`` that ``tenant`` already stored, LOOKUP_CHUNK ids at a time."""
    found: set[str] = set()
    for start in range(0, len(event_ids), LOOKUP_CHUNK):
        chunk = list(event_ids[start : start + LOOKUP_CHUNK])
        rows = store.query("kpi/existing_event_ids", tenant=tenant, event_ids=chunk)
        found.update(str(row["event_id"]) for row in rows)
    return found


def write_kpi_events(store: Store, events: Iterable[KpiEvent]) -> int:
    """Insert the events not stored yet (first of each (tenant, event_id) wins) in ONE insert; return how many."""
    unique: dict[tuple[str, str], KpiEvent] = {}
    for event in events:
        unique.setdefault(event_key(event), event)
    if not unique:
        return 0
    by_tenant: dict[str, list[str]] = {}
    for tenant, event_id in unique:
        by_tenant.setdefault(tenant, []).append(event_id)
    with _write_guard:
        already = {
            (tenant, event_id)
            for tenant, ids in by_tenant.items()
            for event_id in _existing_ids(store, tenant, ids)
        }
        fresh = [event for key, event in unique.items() if key not in already]
        if fresh:
            columns, rows = kpi_rows(fresh)
            store.insert(TABLE, rows, columns)
    skipped = len(unique) - len(fresh)
    if skipped:
        logger.debug("skipped %d KPI event(s) already stored", skipped)
    return len(fresh)
