-- KPI events per hour or day (bucket 'hour' | 'day') from the hourly rollup.
-- returns: bucket DateTime, kpi String, currency String, events UInt64, value_sum Float64, amount_sum Decimal(38, 4)
-- params: bucket String, workflow String, start DateTime, end DateTime, all_tenants UInt8, tenants Array(String)
SELECT
    if({bucket:String} = 'day', toStartOfDay(hour), hour) AS bucket,
    kpi,
    currency,
    sum(events) AS events,
    sum(value_sum) AS value_sum,
    sum(amount_sum) AS amount_sum
FROM kpi_hourly
WHERE hour >= {start:DateTime} AND hour < {end:DateTime}
  AND ({workflow:String} = '' OR workflow = {workflow:String})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY bucket, kpi, currency
ORDER BY bucket, kpi, currency
