-- Every span of the given traces plus, with kind/key, of every trace a correlation / entity /
-- trace id resolves to (the two lookup_keys hops of resolve.sql, tenant-restricted, as scalar
-- subqueries: a drill-down starts this read while it resolves the key). Spans are read inside
-- the traces' bounds from otel_traces_trace_id_ts, also a scalar subquery, so ClickHouse
-- prunes partitions and granules with constants; the bloom filter then picks the granules.
-- The bounds lookup skips the bloom filter of otel_traces_trace_id_ts: its primary key
-- (TraceId, Start) already narrows every part to one granule, and reading the filter of
-- every daily part cost more than it saved (bench: 11.5 -> 5.1 ms at 2M traces).
-- A trace id is no secret (it travels in traceparent), so every span is tenant-filtered itself:
-- its tenant is the resource's tenant.id (the ingest token's stamp), else the span's own.
-- At most {limit} spans come back (the caller asks one more than it shows to tell a cut).
-- returns: timestamp DateTime64(9), trace_id String, span_id String, parent_span_id String, span_name String, span_kind String, service String, duration_ms Float64, status_code String, status_message String, attributes Map(String, String), resource_attributes Map(String, String), event_times Array(DateTime64(9)), event_names Array(String), event_attributes Array(Map(String, String))
-- params: trace_ids Array(String), kind String, key String, all_tenants UInt8, tenants Array(String), limit UInt32
WITH
    (
        SELECT groupUniqArray(correlation_id) FROM lookup_keys
        WHERE kind = {kind:String} AND key = {key:String} AND correlation_id != ''
    ) AS correlation_ids,
    arrayDistinct(arrayConcat({trace_ids:Array(String)}, (
        SELECT groupUniqArray(trace_id) FROM lookup_keys
        WHERE ((kind = {kind:String} AND key = {key:String})
               OR (kind = 'correlation' AND has(correlation_ids, key)))
          AND trace_id != ''
          AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
    ))) AS ids,
    (
        SELECT (minOrNull(Start) - 1, maxOrNull(End) + 1)
        FROM otel_traces_trace_id_ts
        WHERE has(ids, TraceId)
        SETTINGS use_skip_indexes = 0
    ) AS bounds
SELECT
    Timestamp AS timestamp,
    TraceId AS trace_id,
    SpanId AS span_id,
    ParentSpanId AS parent_span_id,
    SpanName AS span_name,
    SpanKind AS span_kind,
    ServiceName AS service,
    Duration / 1e6 AS duration_ms,
    StatusCode AS status_code,
    StatusMessage AS status_message,
    SpanAttributes AS attributes,
    ResourceAttributes AS resource_attributes,
    Events.Timestamp AS event_times,
    Events.Name AS event_names,
    Events.Attributes AS event_attributes
FROM otel_traces
WHERE has(ids, TraceId)
  AND Timestamp >= bounds.1 AND Timestamp <= bounds.2
  AND ({all_tenants:UInt8} = 1
       OR has({tenants:Array(String)}, if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], SpanAttributes['tenant.id'])))
ORDER BY timestamp
LIMIT {limit:UInt32}
