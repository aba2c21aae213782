"""Writing KPI events to ``business_events`` exactly once per ``event_id``.

ReplacingMergeTree collapses duplicates only at merge time and only inside one partition,
and a materialized view rolling KPIs up would count every inserted copy. So duplicates are
dropped BEFORE the insert: within the batch, then against the ids the store already holds
(looked up in bounded chunks through a named query). The table engine stays the backstop.

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

__all__ = ["LOOKUP_CHUNK", "write_kpi_events"]

logger = logging.getLogger(__name__)

TABLE = "business_events"
LOOKUP_CHUNK = 10_000  # event ids per existence lookup: bounds the query's size

_write_guard = threading.Lock()


def _existing_ids(store: Store, event_ids: Sequence[str]) -> set[str]:
    """The subset of ``event_ids`` already stored, looked up LOOKUP_CHUNK ids at a time."""
    found: set[str] = set()
    for start in range(0, len(event_ids), LOOKUP_CHUNK):
        chunk = list(event_ids[start : start + LOOKUP_CHUNK])
        rows = store.query("kpi/existing_event_ids", event_ids=chunk)
        found.update(str(row["event_id"]) for row in rows)
    return found


def write_kpi_events(store: Store, events: Iterable[KpiEvent]) -> int:
    """Insert the events not stored yet (first of each event_id wins) in ONE insert; return how many."""
    unique: dict[str, KpiEvent] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    if not unique:
        return 0
    with _write_guard:
        already = _existing_ids(store, list(unique))
        fresh = [event for event_id, event in unique.items() if event_id not in already]
        if fresh:
            columns, rows = kpi_rows(fresh)
            store.insert(TABLE, rows, columns)
    skipped = len(unique) - len(fresh)
    if skipped:
        logger.debug("skipped %d KPI event(s) already stored", skipped)
    return len(fresh)
