-- Automated runs per hour/day and workflow split into completed / failed+dead-lettered / other.
-- returns: bucket DateTime, workflow String, completed UInt64, failed UInt64, other UInt64
-- params: bucket String, workflow String, start DateTime, end DateTime, all_tenants UInt8, tenants Array(String)
SELECT
    if({bucket:String} = 'day', toStartOfDay(hour), hour) AS bucket,
    workflow,
    sumIf(spans, outcome = 'completed') AS completed,
    sumIf(spans, outcome IN ('failed', 'dead_lettered')) AS failed,
    sumIf(spans, outcome NOT IN ('completed', 'failed', 'dead_lettered')) AS other
FROM (
    SELECT hour, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode, spans, errors, retries, dead_letters, duration_ms_sum, duration_ms_q
    FROM span_stats_1h
    UNION ALL  -- runs recognized per trace (sql/schema/340, 343)
    SELECT hour, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode, spans, errors, retries, dead_letters, duration_ms_sum, duration_ms_q
    FROM recognized_run_stats
)
WHERE hour >= {start:DateTime} AND hour < {end:DateTime}
  AND kind = 'run' AND mode = 'automated'
  AND ({workflow:String} = '' OR workflow = {workflow:String})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY bucket, workflow
ORDER BY bucket, workflow
