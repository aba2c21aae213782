-- Baseline for the benchmark: find a correlation id's spans by scanning the raw span table.
-- returns: trace_id String, spans UInt64
-- params: correlation_id String
SELECT TraceId AS trace_id, count() AS spans
FROM otel_traces
WHERE SpanAttributes['correlation.id'] = {correlation_id:String}
GROUP BY trace_id
