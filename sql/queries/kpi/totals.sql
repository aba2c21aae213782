-- KPI totals over a time range from the hourly rollup.
-- returns: kpi String, currency String, events UInt64, value_sum Float64, amount_sum Decimal(38, 4)
-- params: workflow String, start DateTime, end DateTime, all_tenants UInt8, tenants Array(String)
SELECT
    kpi,
    currency,
    sum(events) AS events,
    sum(value_sum) AS value_sum,
    sum(amount_sum) AS amount_sum
FROM kpi_hourly
WHERE hour >= {start:DateTime} AND hour < {end:DateTime}
  AND ({workflow:String} = '' OR workflow = {workflow:String})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY kpi, currency
ORDER BY kpi, currency
