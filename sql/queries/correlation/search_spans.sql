-- Spans whose attribute key = value (span or resource attribute) in a time range, newest first.
-- returns: timestamp DateTime64(9), trace_id String, span_id String, span_name String, service String, duration_ms Float64, status_code String, correlation_id String, workflow String, tenant String
-- params: key String, value String, start DateTime, end DateTime, limit UInt32, all_tenants UInt8, tenants Array(String)
SELECT
    Timestamp AS timestamp,
    TraceId AS trace_id,
    SpanId AS span_id,
    SpanName AS span_name,
    ServiceName AS service,
    Duration / 1e6 AS duration_ms,
    StatusCode AS status_code,
    SpanAttributes['correlation.id'] AS correlation_id,
    SpanAttributes['workflow.name'] AS workflow,
    if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], SpanAttributes['tenant.id']) AS tenant
FROM otel_traces
WHERE Timestamp >= {start:DateTime} AND Timestamp < {end:DateTime}
  AND (SpanAttributes[{key:String}] = {value:String} OR ResourceAttributes[{key:String}] = {value:String})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
ORDER BY timestamp DESC
LIMIT {limit:UInt32}
