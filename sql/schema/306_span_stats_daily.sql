-- Daily span statistics, rolled up from span_stats_1h by a chained materialized view. Health
-- summaries over more than two days read whole days here and only the partial edge hours
-- from span_stats_1h: merging a few thousand quantile states instead of ~100k.

-- sharding_key: cityHash64(workflow, tenant)
CREATE TABLE IF NOT EXISTS span_stats_1d (
    day Date,
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
PARTITION BY toYYYYMM(day)
ORDER BY (kind, day, workflow, tenant, service, span_name, step, dependency, product_line, outcome, mode);

CREATE MATERIALIZED VIEW IF NOT EXISTS span_stats_1d_mv
TO span_stats_1d
AS SELECT
    toDate(hour) AS day,
    service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode,
    sum(spans) AS spans,
    sum(errors) AS errors,
    sum(retries) AS retries,
    sum(dead_letters) AS dead_letters,
    sum(duration_ms_sum) AS duration_ms_sum,
    quantilesBFloat16MergeState(0.5, 0.95, 0.99)(duration_ms_q) AS duration_ms_q
FROM span_stats_1h
GROUP BY day, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode;
