"""Retention: how many days each table keeps its rows, applied to the store as TTLs.

``FLOWMETER_RETENTION_DAYS`` names a number of days per group of tables (``traces``,
``logs``, ``metrics``, ``rollups``, ``business``, ``costs``) or per table (a table's own entry
wins over its group's); 0 keeps rows forever. ``apply_retention`` compares what the store holds
(its tables' ``TTL`` clauses) with the settings and alters only the tables that differ, so it
runs at every start and after every change of the setting, on a running store: ``ALTER ...
MODIFY TTL`` changes metadata and lets ClickHouse drop expired parts in the background (the
daily-partitioned raw tables have ``ttl_only_drop_parts``: whole days go at once, nothing is
rewritten).

The statements are DDL built from the fixed table list below and a validated whole number,
like the migrations' cluster rendering; on a cluster they alter every shard's ``<table>_local``
(the ``Distributed`` table holds no rows).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # settings.py parses FLOWMETER_RETENTION_DAYS with this module's table list
    from models.db import Store

__all__ = [
    "DEFAULT_RETENTION",
    "RETAINED_TABLES",
    "RETENTION_KEYS",
    "RetainedTable",
    "TableRetention",
    "apply_retention",
    "current_ttl_days",
    "disk_usage",
    "parse_retention",
    "plan_retention",
    "retention_report",
    "ttl_statement",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetainedTable:
    """A table whose rows can expire: its group and the time column the TTL reads."""

    table: str
    group: str
    time_column: str


RETAINED_TABLES: tuple[RetainedTable, ...] = (
    RetainedTable("otel_traces", "traces", "Timestamp"),
    RetainedTable("otel_traces_trace_id_ts", "traces", "Start"),
    RetainedTable("lookup_keys", "traces", "last_seen"),
    RetainedTable("otel_logs", "logs", "Timestamp"),
    *(
        RetainedTable(f"otel_metrics_{kind}", "metrics", "TimeUnix")
        for kind in ("sum", "gauge", "histogram", "exponential_histogram", "summary")
    ),
    RetainedTable("span_stats_1m", "rollups", "minute"),
    RetainedTable("span_stats_1h", "rollups", "hour"),
    RetainedTable("span_stats_1d", "rollups", "day"),
    RetainedTable("kpi_hourly", "rollups", "hour"),
    RetainedTable("business_events", "business", "ts"),
    RetainedTable("cost_records", "costs", "ChargePeriodStart"),
    RetainedTable("cost_daily", "costs", "day"),
)

GROUPS = ("traces", "logs", "metrics", "rollups", "business", "costs")
RETENTION_KEYS = frozenset(GROUPS) | {t.table for t in RETAINED_TABLES}

# Raw telemetry expires; the minute rollup (one row per minute and series) follows the raw
# spans it summarizes. Hourly and daily rollups are small and carry ROI and KPI history, and
# business events and cost records are the books: they are kept unless a user says otherwise.
DEFAULT_RETENTION: Mapping[str, int] = {
    "traces": 30,
    "logs": 30,
    "metrics": 90,
    "span_stats_1m": 30,
}


def parse_retention(raw: str) -> dict[str, int]:
    """``traces=30,logs=7,otel_logs=3`` -> {key: days}; ValueError naming a bad key or value."""
    retention: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        key, sep, value = item.partition("=")
        key = key.strip()
        if not sep or key not in RETENTION_KEYS:
            raise ValueError(
                f"{item!r}: expected KEY=DAYS with KEY one of {', '.join(GROUPS)} or a table "
                f"({', '.join(t.table for t in RETAINED_TABLES)})"
            )
        try:
            days = int(value.strip().removesuffix("d"))
        except ValueError:
            raise ValueError(f"{key}: {value.strip()!r} is not a whole number of days") from None
        if days < 0 or days > 36500:
            raise ValueError(f"{key}: {days} days is outside 0..36500 (0 keeps forever)")
        retention[key] = days
    return retention


_TTL_DAYS = re.compile(r"\bTTL\b.*?toIntervalDay\((?:_CAST\()?(\d+)", re.IGNORECASE | re.DOTALL)


@dataclass(frozen=True)
class TableRetention:
    """One table's wanted retention against what the store holds (0 = kept forever)."""

    table: str
    group: str
    days: int
    current_days: int | None  # None: the table does not exist (yet) in this store

    @property
    def changed(self) -> bool:
        """True when the store must be altered to match the setting."""
        return self.current_days is not None and self.current_days != self.days


def days_for(table: RetainedTable, retention: Mapping[str, int]) -> int:
    """The table's own entry, else its group's, else 0 (keep)."""
    if table.table in retention:
        return retention[table.table]
    return retention.get(table.group, 0)


def current_ttl_days(store: Store) -> dict[str, int]:
    """Table -> the days its TTL keeps (0 without a TTL), for the tables this store has."""
    found: dict[str, int] = {}
    local = "_local" if store.cluster else ""
    names = {t.table + local: t.table for t in RETAINED_TABLES}
    for row in store.query("store/table_engines"):
        name = names.get(str(row["table"]))
        if name is None:
            continue
        match = _TTL_DAYS.search(str(row["engine_full"]))
        found[name] = int(match.group(1)) if match else 0
    return found


def plan_retention(store: Store, retention: Mapping[str, int]) -> list[TableRetention]:
    """Every retained table with the days wanted and the days the store keeps now."""
    current = current_ttl_days(store)
    return [
        TableRetention(t.table, t.group, days_for(t, retention), current.get(t.table))
        for t in RETAINED_TABLES
    ]


def ttl_statement(table: RetainedTable, days: int, cluster: str = "") -> str:
    """The ALTER that makes ``table`` keep ``days`` days (0: remove the TTL)."""
    if days < 0:
        raise ValueError(f"retention of {table.table} must be 0 or more days, not {days}")
    target = f"{table.table}_local ON CLUSTER '{cluster}'" if cluster else table.table
    if days == 0:
        return f"ALTER TABLE {target} REMOVE TTL"
    return (
        f"ALTER TABLE {target} MODIFY TTL toDateTime({table.time_column}) "
        f"+ toIntervalDay({int(days)})"
    )


def apply_retention(store: Store, retention: Mapping[str, int]) -> list[TableRetention]:
    """Alter every table whose TTL differs from the setting; return the ones altered."""
    by_name = {t.table: t for t in RETAINED_TABLES}
    altered: list[TableRetention] = []
    for item in plan_retention(store, retention):
        if not item.changed:
            continue
        store.ddl(ttl_statement(by_name[item.table], item.days, store.cluster))
        logger.info(
            "retention of %s: %s -> %s",
            item.table,
            _shown(item.current_days or 0),
            _shown(item.days),
        )
        altered.append(item)
    return altered


def disk_usage(store: Store) -> list[dict[str, object]]:
    """Bytes and rows on disk per table and partition (a day or a month), newest first."""
    return store.query("store/disk_usage")


def retention_report(store: Store, retention: Mapping[str, int]) -> list[dict[str, object]]:
    """One row per retained table: days kept, bytes and rows on disk, oldest partition."""
    usage: dict[str, dict[str, object]] = {}
    for row in store.query("store/disk_usage_by_table"):
        usage[str(row["table"]).removesuffix("_local")] = row
    report: list[dict[str, object]] = []
    for item in plan_retention(store, retention):
        if item.current_days is None:
            continue
        row = usage.get(item.table, {})
        report.append(
            {
                "table": item.table,
                "group": item.group,
                "keeps": _shown(item.days),
                "applied": item.current_days == item.days,
                "bytes": int(row.get("bytes", 0) or 0),  # type: ignore[call-overload]
                "rows": int(row.get("rows", 0) or 0),  # type: ignore[call-overload]
                "oldest_partition": str(row.get("oldest_partition", "") or ""),
            }
        )
    return report


def _shown(days: int) -> str:
    return "forever" if days == 0 else f"{days} days"
