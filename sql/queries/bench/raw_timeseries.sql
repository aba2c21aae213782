-- Baseline for the benchmark: hourly run counts, errors and p95 from the raw span table.
-- returns: bucket DateTime, spans UInt64, errors UInt64, p95_ms Float64
-- params: start DateTime, end DateTime
SELECT toStartOfHour(Timestamp) AS bucket, count() AS spans, countIf(StatusCode = 'Error') AS errors,
       quantileTDigest(0.95)(Duration / 1e6) AS p95_ms
FROM otel_traces
WHERE Timestamp >= {start:DateTime} AND Timestamp < {end:DateTime} AND startsWith(SpanName, 'run ')
GROUP BY bucket ORDER BY bucket
