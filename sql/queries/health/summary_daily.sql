-- Health per workflow / step / service / tenant / product line / span over a long range: whole days from the daily rollup plus the edge hours from the hourly one.
-- returns: key String, spans UInt64, errors UInt64, error_rate Float64, retries UInt64, retry_rate Float64, dead_letters UInt64, throughput_per_min Float64, avg_ms Float64, p50_ms Float64, p95_ms Float64, p99_ms Float64
-- params: by String, kind String, workflow String, product_line String, start DateTime, end DateTime, first_day Date, end_day Date, all_tenants UInt8, tenants Array(String)
SELECT
    key,
    sum(s_spans) AS spans,
    sum(s_errors) AS errors,
    if(spans = 0, 0, errors / spans) AS error_rate,
    sum(s_retries) AS retries,
    if(spans = 0, 0, retries / spans) AS retry_rate,
    sum(s_dead_letters) AS dead_letters,
    spans / greatest(dateDiff('minute', {start:DateTime}, {end:DateTime}), 1) AS throughput_per_min,
    if(spans = 0, 0, sum(s_duration) / spans) AS avg_ms,
    quantilesBFloat16Merge(0.5, 0.95, 0.99)(s_q) AS q,
    q[1] AS p50_ms,
    q[2] AS p95_ms,
    q[3] AS p99_ms
FROM (
    SELECT multiIf({by:String} = 'workflow', workflow, {by:String} = 'step', step,
                {by:String} = 'service', service, {by:String} = 'tenant', tenant,
                {by:String} = 'product_line', product_line, span_name) AS key,
           spans AS s_spans, errors AS s_errors, retries AS s_retries,
           dead_letters AS s_dead_letters, duration_ms_sum AS s_duration, duration_ms_q AS s_q
    FROM span_stats_1d
    WHERE day >= {first_day:Date} AND day < {end_day:Date}
      AND ({kind:String} = '' OR kind = {kind:String})
      AND ({workflow:String} = '' OR workflow = {workflow:String})
      AND ({product_line:String} = '' OR product_line = {product_line:String})
      AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
    UNION ALL
    SELECT multiIf({by:String} = 'workflow', workflow, {by:String} = 'step', step,
                {by:String} = 'service', service, {by:String} = 'tenant', tenant,
                {by:String} = 'product_line', product_line, span_name) AS key,
           spans AS s_spans, errors AS s_errors, retries AS s_retries,
           dead_letters AS s_dead_letters, duration_ms_sum AS s_duration, duration_ms_q AS s_q
    FROM span_stats_1h
    WHERE ((hour >= {start:DateTime} AND hour < toDateTime({first_day:Date}))
           OR (hour >= toDateTime({end_day:Date}) AND hour < {end:DateTime}))
      AND ({kind:String} = '' OR kind = {kind:String})
      AND ({workflow:String} = '' OR workflow = {workflow:String})
      AND ({product_line:String} = '' OR product_line = {product_line:String})
      AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
    UNION ALL  -- runs recognized per trace (sql/schema/340, 343)
    SELECT multiIf({by:String} = 'workflow', workflow, {by:String} = 'step', step,
                {by:String} = 'service', service, {by:String} = 'tenant', tenant,
                {by:String} = 'product_line', product_line, span_name) AS key,
           spans AS s_spans, errors AS s_errors, retries AS s_retries,
           dead_letters AS s_dead_letters, duration_ms_sum AS s_duration, duration_ms_q AS s_q
    FROM recognized_run_stats
    WHERE {kind:String} = 'run' AND minute >= {start:DateTime} AND minute < {end:DateTime}
      AND ({workflow:String} = '' OR workflow = {workflow:String})
      AND ({product_line:String} = '' OR product_line = {product_line:String})
      AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
)
GROUP BY key
ORDER BY spans DESC, key
