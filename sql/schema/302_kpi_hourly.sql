-- Hourly KPI rollup over business_events. Collectors deduplicate KPI events before they
-- insert, so summing at insert time does not double count.

-- sharding_key: cityHash64(kpi, tenant)
CREATE TABLE IF NOT EXISTS kpi_hourly (
    hour DateTime('UTC') CODEC(Delta, ZSTD(1)),
    kpi LowCardinality(String),
    workflow LowCardinality(String),
    tenant LowCardinality(String),
    product_line LowCardinality(String),
    currency LowCardinality(String),
    events SimpleAggregateFunction(sum, UInt64),
    value_sum SimpleAggregateFunction(sum, Float64),
    amount_sum SimpleAggregateFunction(sum, Decimal(38, 4))
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (hour, kpi, workflow, tenant, product_line, currency);

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
