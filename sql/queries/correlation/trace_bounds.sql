-- Start and end of each trace, from the trace-id index table (no span-table scan).
-- returns: trace_id String, start DateTime, end DateTime
-- params: trace_ids Array(String)
SELECT TraceId AS trace_id, min(Start) AS start, max(End) AS end
FROM otel_traces_trace_id_ts
WHERE TraceId IN {trace_ids:Array(String)}
GROUP BY TraceId
