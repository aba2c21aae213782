-- Log records (incl. kpi.* and dlq.* events) of the given traces or correlation ids in a window.
-- returns: timestamp DateTime64(9), trace_id String, span_id String, severity String, service String, event_name String, body String, attributes Map(String, String)
-- params: trace_ids Array(String), correlation_ids Array(String), start DateTime, end DateTime
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
WHERE Timestamp >= {start:DateTime} AND Timestamp <= {end:DateTime}
  AND (TraceId IN {trace_ids:Array(String)}
       OR LogAttributes['correlation.id'] IN {correlation_ids:Array(String)})
ORDER BY timestamp
