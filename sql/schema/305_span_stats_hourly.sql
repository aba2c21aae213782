-- Hourly span statistics, rolled up from span_stats_1m by a chained materialized view (it
-- fires on every block the per-minute view writes). Same columns with `hour` for `minute`:
-- ranges longer than a few hours, ROI volumes and cost weights read this table, which is
-- ~60x smaller than the per-minute one.

-- sharding_key: cityHash64(workflow, tenant)
CREATE TABLE IF NOT EXISTS span_stats_1h (
    hour DateTime('UTC') CODEC(Delta, ZSTD(1)),
    service LowCardinality(String),
    span_name LowCardinality(String),
    kind LowCardinality(String),
    workflow LowCardinality(String),
    step LowCardinality(String),
    dependency LowCardinality(String),
    tenant LowCardinality(String),
    product_line LowCardinality(String),
    outcome LowCardinality(String),
    mode LowCardinality(String),
    spans SimpleAggregateFunction(sum, UInt64),
    errors SimpleAggregateFunction(sum, UInt64),
    retries SimpleAggregateFunction(sum, UInt64),
    dead_letters SimpleAggregateFunction(sum, UInt64),
    duration_ms_sum SimpleAggregateFunction(sum, Float64),
    duration_ms_q AggregateFunction(quantilesBFloat16(0.5, 0.95, 0.99), Float64)
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(hour)
ORDER BY (kind, hour, workflow, tenant, service, span_name, step, dependency, product_line, outcome, mode);

CREATE MATERIALIZED VIEW IF NOT EXISTS span_stats_1h_mv
TO span_stats_1h
AS SELECT
    toStartOfHour(minute) AS hour,
    service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode,
    sum(spans) AS spans,
    sum(errors) AS errors,
    sum(retries) AS retries,
    sum(dead_letters) AS dead_letters,
    sum(duration_ms_sum) AS duration_ms_sum,
    quantilesBFloat16MergeState(0.5, 0.95, 0.99)(duration_ms_q) AS duration_ms_q
FROM span_stats_1m
GROUP BY hour, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode;
