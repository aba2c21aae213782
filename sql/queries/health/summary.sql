-- Health per workflow / step / service / tenant / product line / span over a time range (rollup).
-- returns: key String, spans UInt64, errors UInt64, error_rate Float64, retries UInt64, retry_rate Float64, dead_letters UInt64, throughput_per_min Float64, avg_ms Float64, p50_ms Float64, p95_ms Float64, p99_ms Float64
-- params: by String, kind String, workflow String, product_line String, start DateTime, end DateTime, all_tenants UInt8, tenants Array(String)
SELECT
    multiIf({by:String} = 'workflow', workflow, {by:String} = 'step', step,
            {by:String} = 'service', service, {by:String} = 'tenant', tenant,
            {by:String} = 'product_line', product_line, span_name) AS key,
    sum(spans) AS spans,
    sum(errors) AS errors,
    if(spans = 0, 0, errors / spans) AS error_rate,
    sum(retries) AS retries,
    if(spans = 0, 0, retries / spans) AS retry_rate,
    sum(dead_letters) AS dead_letters,
    spans / greatest(dateDiff('minute', {start:DateTime}, {end:DateTime}), 1) AS throughput_per_min,
    if(spans = 0, 0, sum(duration_ms_sum) / spans) AS avg_ms,
    quantilesBFloat16Merge(0.5, 0.95, 0.99)(duration_ms_q) AS q,
    q[1] AS p50_ms,
    q[2] AS p95_ms,
    q[3] AS p99_ms
FROM (
    SELECT minute, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode, spans, errors, retries, dead_letters, duration_ms_sum, duration_ms_q
    FROM span_stats_1m
    UNION ALL  -- runs recognized per trace (sql/schema/340, 343)
    SELECT minute, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode, spans, errors, retries, dead_letters, duration_ms_sum, duration_ms_q
    FROM recognized_run_stats
    WHERE {kind:String} = 'run'
)
WHERE minute >= {start:DateTime} AND minute < {end:DateTime}
  AND ({kind:String} = '' OR kind = {kind:String})
  AND ({workflow:String} = '' OR workflow = {workflow:String})
  AND ({product_line:String} = '' OR product_line = {product_line:String})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY key
ORDER BY spans DESC, key
