"""Retention: FLOWMETER_RETENTION_DAYS becomes TTLs on the real store, and rows expire."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from models.db import Store
from models.errors import SettingsError
from models.migrations import migrate
from models.retention import (
    DEFAULT_RETENTION,
    RETAINED_TABLES,
    apply_retention,
    current_ttl_days,
    parse_retention,
    plan_retention,
    retention_report,
    ttl_statement,
)
from models.settings import load_settings
from tests.builders import Span, insert_spans, kpi_event


@pytest.fixture
def fresh(engine_dsn: str) -> Iterator[Store]:
    """A database of its own: altering TTLs must not touch the shared test store."""
    handle = Store(engine_dsn, database=f"t_{uuid.uuid4().hex[:12]}")
    migrate(handle)
    yield handle
    handle.close()


def test_the_setting_reads_groups_and_tables() -> None:
    assert parse_retention("traces=7, otel_logs=3d ,costs=0") == {
        "traces": 7,
        "otel_logs": 3,
        "costs": 0,
    }
    assert load_settings({}).retention_days == DEFAULT_RETENTION


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ("spans=7", "'spans=7'"),
        ("traces=seven", "traces: 'seven' is not a whole number"),
        ("traces=-1", "outside 0..36500"),
        ("traces", "expected KEY=DAYS"),
    ],
)
def test_a_bad_setting_names_the_variable_and_the_entry(raw: str, named: str) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings({"FLOWMETER_RETENTION_DAYS": raw})
    assert "FLOWMETER_RETENTION_DAYS" in str(caught.value)
    assert named in str(caught.value)


def test_a_fresh_store_keeps_everything_until_retention_is_applied(fresh: Store) -> None:
    assert set(current_ttl_days(fresh).values()) == {0}
    plan = {item.table: item for item in plan_retention(fresh, DEFAULT_RETENTION)}
    assert plan["otel_traces"].days == 30 and plan["otel_traces"].changed
    assert plan["otel_metrics_gauge"].days == 90
    assert plan["span_stats_1m"].days == 30
    assert plan["span_stats_1h"].days == 0 and not plan["span_stats_1h"].changed
    assert plan["business_events"].days == 0 and plan["cost_records"].days == 0


def test_apply_alters_only_what_differs_and_is_idempotent(fresh: Store) -> None:
    altered = {item.table for item in apply_retention(fresh, DEFAULT_RETENTION)}
    assert altered == {
        t.table for t in RETAINED_TABLES if t.group in ("traces", "logs", "metrics")
    } | {"span_stats_1m"}
    ttl = current_ttl_days(fresh)
    assert ttl["otel_traces"] == 30 and ttl["lookup_keys"] == 30
    assert ttl["otel_metrics_sum"] == 90 and ttl["business_events"] == 0
    assert apply_retention(fresh, DEFAULT_RETENTION) == []

    # A table's own entry wins over its group's; 0 removes the TTL again.
    changed = apply_retention(fresh, {**DEFAULT_RETENTION, "otel_logs": 7, "span_stats_1m": 0})
    assert {(item.table, item.current_days, item.days) for item in changed} == {
        ("otel_logs", 30, 7),
        ("span_stats_1m", 30, 0),
    }
    ttl = current_ttl_days(fresh)
    assert ttl["otel_logs"] == 7 and ttl["span_stats_1m"] == 0 and ttl["otel_traces"] == 30


def test_expired_rows_go_and_the_books_stay(fresh: Store) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    old, recent = now - timedelta(days=40), now - timedelta(days=1)
    insert_spans(fresh, [Span(old, "old span"), Span(recent, "recent span")])
    kpi_event(fresh, old, "invoice_posted")
    kpi_event(fresh, recent, "invoice_posted")
    apply_retention(fresh, {"traces": 30})
    fresh.ddl("OPTIMIZE TABLE otel_traces FINAL")
    fresh.ddl("OPTIMIZE TABLE business_events FINAL")
    _, spans = fresh.read_only("SELECT SpanName FROM otel_traces ORDER BY SpanName")
    assert spans == [("recent span",)]
    _, events = fresh.read_only("SELECT count() FROM business_events")
    assert events == [(2,)]


def test_the_report_sizes_each_table(fresh: Store) -> None:
    now = datetime.now(UTC)
    insert_spans(fresh, [Span(now, f"span {i}") for i in range(50)])
    apply_retention(fresh, DEFAULT_RETENTION)
    report = {row["table"]: row for row in retention_report(fresh, DEFAULT_RETENTION)}
    assert report["otel_traces"]["rows"] == 50
    assert int(report["otel_traces"]["bytes"]) > 0  # type: ignore[call-overload]
    assert report["otel_traces"]["keeps"] == "30 days" and report["otel_traces"]["applied"]
    assert report["otel_traces"]["oldest_partition"] == now.strftime("%Y-%m-%d")
    assert report["business_events"]["keeps"] == "forever"
    unapplied = retention_report(fresh, {**DEFAULT_RETENTION, "logs": 5})
    assert [row["table"] for row in unapplied if not row["applied"]] == ["otel_logs"]


def test_on_a_cluster_every_shard_s_local_table_is_altered() -> None:
    traces = next(t for t in RETAINED_TABLES if t.table == "otel_traces")
    assert ttl_statement(traces, 14, "main") == (
        "ALTER TABLE otel_traces_local ON CLUSTER 'main' MODIFY TTL toDateTime(Timestamp) "
        "+ toIntervalDay(14)"
    )
    assert ttl_statement(traces, 0, "main") == (
        "ALTER TABLE otel_traces_local ON CLUSTER 'main' REMOVE TTL"
    )
    with pytest.raises(ValueError, match="0 or more days"):
        ttl_statement(traces, -1)
