-- Baseline for the benchmark: health per workflow computed from the raw span table.
-- returns: key String, spans UInt64, errors UInt64, p50_ms Float64, p95_ms Float64, p99_ms Float64
-- params: start DateTime, end DateTime
SELECT SpanAttributes['workflow.name'] AS key, count() AS spans,
       countIf(StatusCode = 'Error') AS errors,
       quantilesTDigest(0.5, 0.95, 0.99)(Duration / 1e6) AS q, q[1] AS p50_ms, q[2] AS p95_ms, q[3] AS p99_ms
FROM otel_traces
WHERE Timestamp >= {start:DateTime} AND Timestamp < {end:DateTime} AND startsWith(SpanName, 'run ')
GROUP BY key
