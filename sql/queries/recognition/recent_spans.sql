-- The latest spans (newest first) for `flowmeter rules check`: what a rules file would see.
-- returns: trace_id String, service String, name String, error UInt8, attributes Map(String, String), resource Map(String, String), events Array(String)
-- params: since DateTime, max_spans UInt32
SELECT
    TraceId AS trace_id,
    ServiceName AS service,
    SpanName AS name,
    toUInt8(StatusCode IN ('Error', 'STATUS_CODE_ERROR')) AS error,
    SpanAttributes AS attributes,
    ResourceAttributes AS resource,
    Events.Name AS events
FROM otel_traces
WHERE Timestamp >= {since:DateTime}
ORDER BY Timestamp DESC
LIMIT {max_spans:UInt32}
