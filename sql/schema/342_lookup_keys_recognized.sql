-- Drill-down keys of recognized spans (docs/adr/0009-recognition-rules.md): a Celery task or
-- Prefect task run carries the entity / correlation id a rule extracted, but is neither a root
-- span nor named `run ...`, so lookup_keys_spans_mv (304) skips it. Same rows as that view;
-- a span both views take merges into one lookup_keys row (AggregatingMergeTree key).

CREATE MATERIALIZED VIEW IF NOT EXISTS lookup_keys_recognized_mv
TO lookup_keys
AS SELECT
    kind, key, correlation_id, trace_id, tenant,
    min(ts) AS first_seen, max(ts) AS last_seen
FROM (
    SELECT
        toDateTime(Timestamp, 'UTC') AS ts,
        SpanAttributes['correlation.id'] AS correlation_id,
        SpanAttributes['entity.id'] AS entity_id,
        TraceId AS trace_id,
        if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], SpanAttributes['tenant.id']) AS tenant
    FROM otel_traces
    WHERE SpanAttributes['flowmeter.kind'] != ''
      AND (SpanAttributes['correlation.id'] != '' OR SpanAttributes['entity.id'] != '')
)
ARRAY JOIN
    ['correlation', 'entity', 'trace'] AS kind,
    [correlation_id, entity_id, trace_id] AS key
WHERE key != ''
GROUP BY kind, key, correlation_id, trace_id, tenant;
