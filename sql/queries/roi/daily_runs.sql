-- Runs per day of one workflow (both modes): the samples of before/after comparisons.
-- returns: day Date, runs UInt64, completed UInt64, failed UInt64, avg_cycle_ms Float64
-- params: workflow String, start DateTime, end DateTime, all_tenants UInt8, tenants Array(String)
SELECT
    toDate(hour) AS day,
    sum(spans) AS runs,
    sumIf(spans, outcome = 'completed') AS completed,
    sumIf(spans, outcome IN ('failed', 'dead_lettered')) AS failed,
    if(completed = 0, nan, sumIf(duration_ms_sum, outcome = 'completed') / completed) AS avg_cycle_ms
FROM (
    SELECT hour, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode, spans, errors, retries, dead_letters, duration_ms_sum, duration_ms_q
    FROM span_stats_1h
    UNION ALL  -- runs recognized per trace (sql/schema/340, 343)
    SELECT hour, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode, spans, errors, retries, dead_letters, duration_ms_sum, duration_ms_q
    FROM recognized_run_stats
)
WHERE hour >= {start:DateTime} AND hour < {end:DateTime}
  AND kind = 'run' AND workflow = {workflow:String}
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY day
ORDER BY day
