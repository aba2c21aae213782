"""Schema: every table, the exporter's exact columns, idempotent migrations, cluster DDL."""

from __future__ import annotations

import datetime as dt

import pytest

from models.db import Store
from models.migrations import load_migrations, migrate, render

MAP = "Map(LowCardinality(String), String)"
LC = "LowCardinality(String)"
EXEMPLARS = {
    "Exemplars.FilteredAttributes": f"Array({MAP})",
    "Exemplars.TimeUnix": "Array(DateTime)",
    "Exemplars.Value": "Array(Float64)",
    "Exemplars.SpanId": "Array(String)",
    "Exemplars.TraceId": "Array(String)",
}
METRIC_COMMON = {
    "ResourceAttributes": MAP,
    "ResourceSchemaUrl": "String",
    "ScopeName": "String",
    "ScopeVersion": "String",
    "ScopeAttributes": MAP,
    "ScopeDroppedAttrCount": "UInt32",
    "ScopeSchemaUrl": "String",
    "ServiceName": LC,
    "MetricName": LC,
    "MetricDescription": "String",
    "MetricUnit": "String",
    "Attributes": MAP,
    "StartTimeUnix": "DateTime",
    "TimeUnix": "DateTime",
}
# Column for column shared/reference/otel-clickhouse-schema.md.
EXPORTER_COLUMNS: dict[str, dict[str, str]] = {
    "otel_traces": {
        "Timestamp": "DateTime64(9)",
        "TraceId": "String",
        "SpanId": "String",
        "ParentSpanId": "String",
        "TraceState": "String",
        "SpanName": LC,
        "SpanKind": LC,
        "ServiceName": LC,
        "ResourceAttributes": MAP,
        "SpanAttributes": MAP,
        "ScopeName": "String",
        "ScopeVersion": "String",
        "Duration": "UInt64",
        "StatusCode": LC,
        "StatusMessage": "String",
        "Events.Timestamp": "Array(DateTime64(9))",
        "Events.Name": f"Array({LC})",
        "Events.Attributes": f"Array({MAP})",
        "Links.TraceId": "Array(String)",
        "Links.SpanId": "Array(String)",
        "Links.TraceState": "Array(String)",
        "Links.Attributes": f"Array({MAP})",
    },
    "otel_traces_trace_id_ts": {"TraceId": "String", "Start": "DateTime", "End": "DateTime"},
    "otel_logs": {
        "Timestamp": "DateTime64(9)",
        "TraceId": "String",
        "SpanId": "String",
        "TraceFlags": "UInt8",
        "SeverityText": LC,
        "SeverityNumber": "UInt8",
        "ServiceName": LC,
        "Body": "String",
        "ResourceSchemaUrl": LC,
        "ResourceAttributes": MAP,
        "ScopeSchemaUrl": LC,
        "ScopeName": "String",
        "ScopeVersion": LC,
        "ScopeAttributes": MAP,
        "LogAttributes": MAP,
        "EventName": "String",
    },
    "otel_metrics_sum": {
        **METRIC_COMMON,
        "Value": "Float64",
        "Flags": "UInt32",
        **EXEMPLARS,
        "AggregationTemporality": "Int32",
        "IsMonotonic": "Bool",
    },
    "otel_metrics_gauge": {**METRIC_COMMON, "Value": "Float64", "Flags": "UInt32", **EXEMPLARS},
    "otel_metrics_histogram": {
        **METRIC_COMMON,
        "Count": "UInt64",
        "Sum": "Float64",
        "BucketCounts": "Array(UInt64)",
        "ExplicitBounds": "Array(Float64)",
        **EXEMPLARS,
        "Flags": "UInt32",
        "Min": "Float64",
        "Max": "Float64",
        "AggregationTemporality": "Int32",
    },
    "otel_metrics_exponential_histogram": {
        **METRIC_COMMON,
        "Count": "UInt64",
        "Sum": "Float64",
        "Scale": "Int32",
        "ZeroCount": "UInt64",
        "PositiveOffset": "Int32",
        "PositiveBucketCounts": "Array(UInt64)",
        "NegativeOffset": "Int32",
        "NegativeBucketCounts": "Array(UInt64)",
        **EXEMPLARS,
        "Flags": "UInt32",
        "Min": "Float64",
        "Max": "Float64",
        "AggregationTemporality": "Int32",
    },
    "otel_metrics_summary": {
        **METRIC_COMMON,
        "Count": "UInt64",
        "Sum": "Float64",
        "ValueAtQuantiles.Quantile": "Array(Float64)",
        "ValueAtQuantiles.Value": "Array(Float64)",
        "Flags": "UInt32",
    },
}
FOCUS_MANDATORY = [
    "BillingPeriodStart", "BillingPeriodEnd", "ChargePeriodStart", "ChargePeriodEnd",
    "BilledCost", "EffectiveCost", "ListCost", "ContractedCost", "PricingQuantity",
    "BillingAccountId", "BillingAccountName", "BillingCurrency", "ChargeCategory", "ChargeClass",
    "ChargeDescription", "InvoiceIssuerName", "ProviderName", "PublisherName", "ServiceCategory",
    "ServiceName", "PricingUnit", "ResourceId", "ResourceName", "ResourceType", "Tags",
    "SubAccountId", "RegionId", "ConsumedQuantity", "ListUnitPrice",
    "x_tenant", "x_product_line", "x_workflow", "x_allocation_method",
]  # fmt: skip
BUSINESS_EVENT_COLUMNS = [
    "event_id", "ts", "kpi", "value", "amount", "currency", "entity_type", "entity_id",
    "correlation_id", "trace_id", "workflow", "tenant_id", "product_line", "attributes",
    "schema_version", "ingested_at",
]  # fmt: skip


def _columns(store: Store, table: str) -> dict[str, str]:
    _, rows = store.read_only(f"DESCRIBE TABLE {table}")
    return {row[0]: row[1] for row in rows}


@pytest.mark.parametrize("table", sorted(EXPORTER_COLUMNS))
def test_otel_tables_match_the_exporter(store: Store, table: str) -> None:
    actual = _columns(store, table)
    expected = EXPORTER_COLUMNS[table]
    assert {name: actual.get(name) for name in expected} == expected


def _sample(type_name: str) -> object:
    samples: dict[str, object] = {
        "String": "x",
        LC: "x",
        "UInt8": 1,
        "UInt32": 1,
        "UInt64": 1,
        "Int32": 1,
        "Float64": 1.5,
        "Bool": True,
        MAP: {"k": "v"},
        "DateTime": dt.datetime(2026, 1, 2, 3, 4, 5),
        "DateTime64(9)": dt.datetime(2026, 1, 2, 3, 4, 5, 123456),
    }
    if type_name.startswith("Array("):
        return [_sample(type_name[6:-1])]
    return samples[type_name]


@pytest.mark.parametrize("table", sorted(EXPORTER_COLUMNS))
def test_insert_of_exactly_the_exporter_columns_succeeds(store: Store, table: str) -> None:
    columns = EXPORTER_COLUMNS[table]
    store.insert(table, [[_sample(t) for t in columns.values()]], list(columns))
    _, rows = store.read_only(f"SELECT count() FROM {table}")
    # otel_traces feeds otel_traces_trace_id_ts through its materialized view
    assert rows[0][0] >= 1


def test_trace_id_view_records_start_and_end(store: Store) -> None:
    names = ["Timestamp", "TraceId", "SpanId", "SpanName", "ServiceName", "Duration"]
    start = dt.datetime(2026, 3, 1, 10, 0, 0)
    store.insert(
        "otel_traces",
        [
            [start, "abc", "s1", "a", "svc", 5],
            [start + dt.timedelta(seconds=7), "abc", "s2", "b", "svc", 5],
            [start, "", "s3", "c", "svc", 5],
        ],
        names,
    )
    _, rows = store.read_only("SELECT TraceId, Start, End FROM otel_traces_trace_id_ts")
    assert rows == [("abc", start, start + dt.timedelta(seconds=7))]


def test_business_tables_have_their_contract_columns(store: Store) -> None:
    assert list(_columns(store, "business_events")) == BUSINESS_EVENT_COLUMNS
    cost = _columns(store, "cost_records")
    assert [c for c in FOCUS_MANDATORY if c not in cost] == []
    assert cost["BilledCost"].startswith("Decimal")
    assert cost["EffectiveCost"].startswith("Decimal")
    baselines = _columns(store, "roi_baselines")
    assert {"workflow", "version", "effective_from", "changed_by", "reason"} <= set(baselines)
    assert baselines["hourly_rate"].startswith("Decimal")


def test_migrations_are_idempotent(store: Store) -> None:
    assert migrate(store) == []
    _, rows = store.read_only("SELECT count() FROM flowmeter_migrations")
    assert rows[0][0] == len(load_migrations())


def test_business_events_collapse_on_event_id(store: Store) -> None:
    names = ["event_id", "ts", "kpi", "value", "schema_version"]
    row = ["ev-1", dt.datetime(2026, 3, 1, 10, 0), "order.advanced", 1.0, 1]
    store.insert("business_events", [row], names)
    store.insert("business_events", [row], names)
    _, rows = store.read_only("SELECT count() FROM business_events FINAL")
    assert rows[0][0] == 1


def test_single_node_rendering_is_untouched() -> None:
    for migration in load_migrations():
        rendered = "\n".join(render(migration.statements, ""))
        assert "ON CLUSTER" not in rendered
        assert "Replicated" not in rendered
        assert "Distributed" not in rendered


def test_cluster_rendering_replicates_and_distributes() -> None:
    statements = [s for m in load_migrations() for s in m.statements]
    rendered = render(statements, "prod")
    text = "\n".join(rendered)
    assert "CREATE TABLE IF NOT EXISTS otel_traces_local ON CLUSTER 'prod'" in text
    assert (
        "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/otel_traces_local'"
        in text
    )
    assert (
        "CREATE TABLE IF NOT EXISTS otel_traces ON CLUSTER 'prod' AS otel_traces_local "
        "ENGINE = Distributed('prod', currentDatabase(), 'otel_traces_local', rand())"
    ) in text
    # dedup tables keep their version column and shard by their idempotency key
    assert (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/business_events_local', '{replica}', ingested_at)"
        in text
    )
    assert "'business_events_local', cityHash64(event_id))" in text
    # the materialized view fires on the local table of each shard and writes locally
    view = next(s for s in rendered if "otel_traces_trace_id_ts_mv" in s)
    assert "ON CLUSTER 'prod'" in view
    assert "TO otel_traces_trace_id_ts_local" in view
    assert "FROM otel_traces_local" in view
    # every CREATE runs on the whole cluster
    creates = [s for s in rendered if "CREATE" in s]
    assert all("ON CLUSTER 'prod'" in s for s in creates)


def test_cluster_rendering_drops_local_and_distributed_tables() -> None:
    rendered = render(
        ["-- why\nDROP TABLE IF EXISTS span_stats_1m", "DROP VIEW IF EXISTS x_mv"], "prod"
    )
    assert rendered == [
        "DROP TABLE IF EXISTS span_stats_1m_local ON CLUSTER 'prod' SYNC",
        "DROP TABLE IF EXISTS span_stats_1m ON CLUSTER 'prod' SYNC",
        "DROP VIEW IF EXISTS x_mv ON CLUSTER 'prod' SYNC",
    ]


def test_span_rollup_chain_counts_each_span_once_with_bfloat16_quantiles(store: Store) -> None:
    """Raw spans -> 1m -> 1h -> 1d: every resolution counts each span once; quantiles merge."""
    now = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
    columns = ["Timestamp", "TraceId", "SpanId", "SpanName", "ServiceName", "Duration"]
    store.insert("otel_traces", [[now, "t1", "s1", "run invoice", "svc", 2_000_000]], columns)
    store.insert("otel_traces", [[now, "t2", "s2", "run invoice", "svc", 4_000_000]], columns)
    for table in ("span_stats_1m", "span_stats_1h", "span_stats_1d"):
        assert store.read_only(f"SELECT sum(spans) FROM {table}")[1] == [(2,)], table
    p99 = store.read_only(
        "SELECT quantilesBFloat16Merge(0.5, 0.95, 0.99)(duration_ms_q)[3] FROM span_stats_1d"
    )[1][0][0]
    assert p99 == pytest.approx(4.0, rel=0.01)
