-- Which profile or rule recognized each workflow (docs/adr/0009-recognition-rules.md), for
-- `flowmeter workflows` and the Baselines page: one row per (workflow, tenant, source) with
-- the last time a span of it arrived. Native workflows (`run <workflow>` spans) have no row;
-- their source is `flowmeter`.

-- sharding_key: cityHash64(workflow)
CREATE TABLE IF NOT EXISTS workflow_sources (
    workflow String,
    tenant LowCardinality(String),
    source LowCardinality(String),
    last_seen SimpleAggregateFunction(max, DateTime('UTC'))
) ENGINE = AggregatingMergeTree
ORDER BY (workflow, tenant, source);

CREATE MATERIALIZED VIEW IF NOT EXISTS workflow_sources_mv
TO workflow_sources
AS SELECT
    SpanAttributes['workflow.name'] AS workflow,
    if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], SpanAttributes['tenant.id']) AS tenant,
    SpanAttributes['flowmeter.source'] AS source,
    max(toDateTime(Timestamp, 'UTC')) AS last_seen
FROM otel_traces
WHERE SpanAttributes['flowmeter.source'] != '' AND SpanAttributes['workflow.name'] != ''
GROUP BY workflow, tenant, source;
