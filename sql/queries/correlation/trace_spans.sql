-- Every span of the given traces inside their bounds (from trace_bounds), bloom-filtered on TraceId.
-- returns: timestamp DateTime64(9), trace_id String, span_id String, parent_span_id String, span_name String, span_kind String, service String, duration_ms Float64, status_code String, status_message String, attributes Map(String, String), resource_attributes Map(String, String), event_times Array(DateTime64(9)), event_names Array(String), event_attributes Array(Map(String, String))
-- params: trace_ids Array(String), start DateTime, end DateTime
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
WHERE TraceId IN {trace_ids:Array(String)}
  AND Timestamp >= {start:DateTime} AND Timestamp <= {end:DateTime}
ORDER BY timestamp
