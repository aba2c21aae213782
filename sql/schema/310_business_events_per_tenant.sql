-- KPI events deduplicate per (tenant_id, event_id), not per event_id across tenants: an
-- event id is often predictable (invoice numbers), and with one key for every tenant, tenant A
-- could pre-send tenant B's ids so B's events were dropped as duplicates (and the duplicates
-- count told A which ids B had). A ReplacingMergeTree cannot change its sorting key in place,
-- so the table is rebuilt under its own name and the data moved: copy to
-- business_events_310, drop, recreate with the new key, copy back (FINAL: one row per key),
-- drop the copy. The two views reading business_events are dropped first (the copies must not
-- feed kpi_hourly or lookup_keys again) and recreated last; their tables keep their rows.
-- Every step is re-runnable: a crash anywhere leaves the events in one of the two tables
-- (the first statement recreates business_events if the crash came between drop and create),
-- and running the file again finishes the move. On a cluster the copies go through the
-- cluster's tables synchronously (insert_distributed_sync), so a copy has landed on every
-- shard before its source is dropped. Events inserted while this runs wait: the
-- migration runs before the receivers start.

-- sharding_key: cityHash64(tenant_id, event_id)
CREATE TABLE IF NOT EXISTS business_events (
    event_id String,
    ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    kpi LowCardinality(String),
    value Float64,
    amount Nullable(Decimal(18, 4)),
    currency LowCardinality(String),
    entity_type LowCardinality(String),
    entity_id String,
    correlation_id String,
    trace_id String,
    workflow LowCardinality(String),
    tenant_id LowCardinality(String),
    product_line LowCardinality(String),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    schema_version UInt16,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_correlation correlation_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_entity entity_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant_id, event_id);

-- sharding_key: cityHash64(tenant_id, event_id)
CREATE TABLE IF NOT EXISTS business_events_310 (
    event_id String,
    ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    kpi LowCardinality(String),
    value Float64,
    amount Nullable(Decimal(18, 4)),
    currency LowCardinality(String),
    entity_type LowCardinality(String),
    entity_id String,
    correlation_id String,
    trace_id String,
    workflow LowCardinality(String),
    tenant_id LowCardinality(String),
    product_line LowCardinality(String),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    schema_version UInt16,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant_id, event_id);

DROP VIEW IF EXISTS kpi_hourly_mv;

DROP VIEW IF EXISTS lookup_keys_events_mv;

INSERT INTO business_events_310 (event_id, ts, kpi, value, amount, currency, entity_type,
    entity_id, correlation_id, trace_id, workflow, tenant_id, product_line, attributes,
    schema_version, ingested_at)
SELECT event_id, ts, kpi, value, amount, currency, entity_type, entity_id, correlation_id,
    trace_id, workflow, tenant_id, product_line, attributes, schema_version, ingested_at
FROM business_events
SETTINGS insert_distributed_sync = 1;

DROP TABLE IF EXISTS business_events;

-- sharding_key: cityHash64(tenant_id, event_id)
CREATE TABLE IF NOT EXISTS business_events (
    event_id String,
    ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    kpi LowCardinality(String),
    value Float64,
    amount Nullable(Decimal(18, 4)),
    currency LowCardinality(String),
    entity_type LowCardinality(String),
    entity_id String,
    correlation_id String,
    trace_id String,
    workflow LowCardinality(String),
    tenant_id LowCardinality(String),
    product_line LowCardinality(String),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    schema_version UInt16,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_correlation correlation_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_entity entity_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(ts)
ORDER BY (tenant_id, event_id);

INSERT INTO business_events (event_id, ts, kpi, value, amount, currency, entity_type,
    entity_id, correlation_id, trace_id, workflow, tenant_id, product_line, attributes,
    schema_version, ingested_at)
SELECT event_id, ts, kpi, value, amount, currency, entity_type, entity_id, correlation_id,
    trace_id, workflow, tenant_id, product_line, attributes, schema_version, ingested_at
FROM business_events_310 FINAL
SETTINGS insert_distributed_sync = 1;

DROP TABLE IF EXISTS business_events_310;

-- As sql/schema/302_kpi_hourly.sql.
CREATE MATERIALIZED VIEW IF NOT EXISTS kpi_hourly_mv
TO kpi_hourly
AS SELECT
    toStartOfHour(toDateTime(ts, 'UTC')) AS hour,
    kpi,
    workflow,
    tenant_id AS tenant,
    product_line,
    currency,
    toUInt64(count()) AS events,
    sum(value) AS value_sum,
    toDecimal128(sum(ifNull(amount, toDecimal64(0, 4))), 4) AS amount_sum
FROM business_events
GROUP BY hour, kpi, workflow, tenant, product_line, currency;

-- As sql/schema/304_lookup_keys.sql.
CREATE MATERIALIZED VIEW IF NOT EXISTS lookup_keys_events_mv
TO lookup_keys
AS SELECT
    kind, key, correlation_id, trace_id, tenant,
    min(ts) AS first_seen, max(ts) AS last_seen
FROM (
    SELECT toDateTime(ts, 'UTC') AS ts, entity_id, correlation_id, trace_id, tenant_id AS tenant
    FROM business_events
    WHERE entity_id != '' OR correlation_id != ''
)
ARRAY JOIN
    ['correlation', 'entity'] AS kind,
    [correlation_id, entity_id] AS key
WHERE key != ''
GROUP BY kind, key, correlation_id, trace_id, tenant;
