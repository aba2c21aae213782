-- Log records (incl. kpi.* and dlq.* events) of the given traces or correlation ids, inside
-- the keys' window [start, end] (from resolve) widened to the traces' bounds
-- (otel_traces_trace_id_ts, see trace_spans) and by slack_seconds either side: logs can trail
-- the last span a little. No keys and no known trace: pass start > end, nothing is read.
-- Tenant-filtered on each record (resource tenant.id, the ingest token's stamp, else the
-- record's own), at most {limit} records.
-- returns: timestamp DateTime64(9), trace_id String, span_id String, severity String, service String, event_name String, body String, attributes Map(String, String)
-- params: trace_ids Array(String), correlation_ids Array(String), start DateTime, end DateTime, slack_seconds UInt32, all_tenants UInt8, tenants Array(String), limit UInt32
WITH (
    SELECT (minOrNull(Start), maxOrNull(End))
    FROM otel_traces_trace_id_ts
    WHERE TraceId IN {trace_ids:Array(String)}
    SETTINGS use_skip_indexes = 0
) AS bounds
SELECT
    Timestamp AS timestamp,
    TraceId AS trace_id,
    SpanId AS span_id,
    SeverityText AS severity,
    ServiceName AS service,
    if(EventName != '', EventName, LogAttributes['event.name']) AS event_name,
    Body AS body,
    LogAttributes AS attributes
FROM otel_logs
WHERE Timestamp >= least({start:DateTime}, ifNull(bounds.1, {start:DateTime})) - {slack_seconds:UInt32}
  AND Timestamp <= greatest({end:DateTime}, ifNull(bounds.2, {end:DateTime})) + {slack_seconds:UInt32}
  AND (TraceId IN {trace_ids:Array(String)}
       OR LogAttributes['correlation.id'] IN {correlation_ids:Array(String)})
  AND ({all_tenants:UInt8} = 1
       OR has({tenants:Array(String)}, if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], LogAttributes['tenant.id'])))
ORDER BY timestamp
LIMIT {limit:UInt32}
