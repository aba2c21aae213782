-- Baseline for the benchmark: health per step (retries from span events) from the raw span table.
-- returns: key String, spans UInt64, retries UInt64, p95_ms Float64
-- params: start DateTime, end DateTime
SELECT SpanAttributes['step.name'] AS key, count() AS spans,
       sum(countEqual(Events.Name, 'retry')) AS retries,
       quantileTDigest(0.95)(Duration / 1e6) AS p95_ms
FROM otel_traces
WHERE Timestamp >= {start:DateTime} AND Timestamp < {end:DateTime} AND startsWith(SpanName, 'step ')
GROUP BY key
