-- Automated runs per day (or whole range) and group key: the basis of proportional allocation.
-- returns: day Date, key String, runs UInt64
-- params: by String, daily UInt8, start Date, end Date, all_tenants UInt8, tenants Array(String)
SELECT
    if({daily:UInt8} = 1, day, {start:Date}) AS day,
    multiIf({by:String} = 'tenant', tenant, {by:String} = 'product_line', product_line,
            {by:String} = 'workflow', workflow, service) AS key,
    sum(spans) AS runs
FROM span_stats_1d
WHERE span_stats_1d.day >= {start:Date} AND span_stats_1d.day < {end:Date}
  AND kind = 'run'
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY day, key
ORDER BY day, key
