-- Per-minute span statistics, maintained by a materialized view over otel_traces.
-- Dashboards read this rollup (never the raw span table) for throughput, error rate,
-- latency quantiles, retries and dead letters by service / span / workflow / step /
-- tenant / product line / outcome / mode. `kind` is 'run' for `run <workflow>` spans,
-- 'step' for `step <step>` spans, 'other' for everything else (external calls).
-- dependency = peer.service on external calls, step.dependency on steps.
-- outcome = run.outcome on run spans, step.outcome on step spans, '' otherwise.
-- Latency quantiles are quantilesBFloat16 states (ADR 0004): at 10M spans merging 30k hourly
-- states took ~26 ms against ~103 ms for t-digest, and bfloat16 keeps 8 significant bits, so
-- a quantile is within ~0.4% of a sample value (exact p50/p95/p99 1001.4/1180.2/1196.1 ms;
-- bfloat16 1000/1176/1192; t-digest 1000.1/1180.0/1196.0).

-- sharding_key: cityHash64(workflow, tenant)
CREATE TABLE IF NOT EXISTS span_stats_1m (
    minute DateTime('UTC') CODEC(Delta, ZSTD(1)),
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
PARTITION BY toYYYYMM(minute)
ORDER BY (minute, kind, workflow, tenant, service, span_name, step, dependency, product_line, outcome, mode);

CREATE MATERIALIZED VIEW IF NOT EXISTS span_stats_1m_mv
TO span_stats_1m
AS SELECT
    toStartOfMinute(toDateTime(Timestamp, 'UTC')) AS minute,
    ServiceName AS service,
    SpanName AS span_name,
    multiIf(startsWith(SpanName, 'run '), 'run', startsWith(SpanName, 'step '), 'step', 'other') AS kind,
    SpanAttributes['workflow.name'] AS workflow,
    SpanAttributes['step.name'] AS step,
    if(SpanAttributes['peer.service'] != '', SpanAttributes['peer.service'], SpanAttributes['step.dependency']) AS dependency,
    if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], SpanAttributes['tenant.id']) AS tenant,
    SpanAttributes['product.line'] AS product_line,
    multiIf(startsWith(SpanName, 'run '), SpanAttributes['run.outcome'], startsWith(SpanName, 'step '), SpanAttributes['step.outcome'], '') AS outcome,
    if(startsWith(SpanName, 'run '), if(SpanAttributes['run.mode'] = '', 'automated', SpanAttributes['run.mode']), '') AS mode,
    toUInt64(count()) AS spans,
    toUInt64(countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR'))) AS errors,
    toUInt64(sum(countEqual(Events.Name, 'retry'))) AS retries,
    toUInt64(sum(countEqual(Events.Name, 'dead_letter'))) AS dead_letters,
    sum(Duration / 1e6) AS duration_ms_sum,
    quantilesBFloat16State(0.5, 0.95, 0.99)(toFloat64(Duration / 1e6)) AS duration_ms_q
FROM otel_traces
GROUP BY minute, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode;
