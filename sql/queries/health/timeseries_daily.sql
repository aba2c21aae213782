-- Health over time in buckets of whole days for one slice (empty filter = all), from the daily rollup.
-- returns: bucket DateTime, spans UInt64, errors UInt64, retries UInt64, dead_letters UInt64, avg_ms Float64, p50_ms Float64, p95_ms Float64, p99_ms Float64
-- params: bucket_minutes UInt32, kind String, workflow String, product_line String, step String, service String, start Date, end Date, all_tenants UInt8, tenants Array(String)
SELECT
    toDateTime(toStartOfInterval(day, toIntervalDay(intDiv({bucket_minutes:UInt32}, 1440)))) AS bucket,
    sum(spans) AS spans,
    sum(errors) AS errors,
    sum(retries) AS retries,
    sum(dead_letters) AS dead_letters,
    if(spans = 0, 0, sum(duration_ms_sum) / spans) AS avg_ms,
    quantilesBFloat16Merge(0.5, 0.95, 0.99)(duration_ms_q) AS q,
    q[1] AS p50_ms,
    q[2] AS p95_ms,
    q[3] AS p99_ms
FROM (
    SELECT day, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode, spans, errors, retries, dead_letters, duration_ms_sum, duration_ms_q
    FROM span_stats_1d
    UNION ALL  -- runs recognized per trace (sql/schema/340, 343)
    SELECT day, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode, spans, errors, retries, dead_letters, duration_ms_sum, duration_ms_q
    FROM recognized_run_stats
    WHERE {kind:String} = 'run'
)
WHERE day >= {start:Date} AND day < {end:Date}
  AND ({kind:String} = '' OR kind = {kind:String})
  AND ({workflow:String} = '' OR workflow = {workflow:String})
  AND ({product_line:String} = '' OR product_line = {product_line:String})
  AND ({step:String} = '' OR step = {step:String})
  AND ({service:String} = '' OR service = {service:String})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY bucket
ORDER BY bucket
