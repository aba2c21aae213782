-- Trace-level recognized runs (340) in the shape of span_stats_1m / _1h / _1d rows, one row
-- per run, so health and ROI reads add them with one UNION ALL branch and aggregate both
-- alike (docs/adr/0009-recognition-rules.md): kind 'run', span_name = the workflow, mode
-- 'automated', spans 1, errors 1 when it failed, its duration as a one-value quantile state.
CREATE VIEW IF NOT EXISTS recognized_run_stats AS
SELECT
    minute,
    toStartOfHour(minute) AS hour,
    toDate(minute) AS day,
    CAST(service AS LowCardinality(String)) AS service,
    CAST(workflow AS LowCardinality(String)) AS span_name,
    CAST('run' AS LowCardinality(String)) AS kind,
    CAST(workflow AS LowCardinality(String)) AS workflow,
    CAST('' AS LowCardinality(String)) AS step,
    CAST('' AS LowCardinality(String)) AS dependency,
    CAST(tenant AS LowCardinality(String)) AS tenant,
    CAST(product_line AS LowCardinality(String)) AS product_line,
    CAST(outcome AS LowCardinality(String)) AS outcome,
    CAST('automated' AS LowCardinality(String)) AS mode,
    CAST(source AS LowCardinality(String)) AS source,
    CAST(1 AS SimpleAggregateFunction(sum, UInt64)) AS spans,
    CAST(errors AS SimpleAggregateFunction(sum, UInt64)) AS errors,
    CAST(retries AS SimpleAggregateFunction(sum, UInt64)) AS retries,
    CAST(0 AS SimpleAggregateFunction(sum, UInt64)) AS dead_letters,
    CAST(duration_ms AS SimpleAggregateFunction(sum, Float64)) AS duration_ms_sum,
    arrayReduce('quantilesBFloat16State(0.5, 0.95, 0.99)', [duration_ms]) AS duration_ms_q
FROM recognized_run_list;
