-- Cost per day (or whole range), group key and allocation method from the daily rollup.
-- (WHERE names cost_daily_current.day: the bare name would be the alias below, always in range.)
-- returns: day Date, key String, allocation_method String, currency String, rows UInt64, billed_cost Decimal(38, 10), effective_cost Decimal(38, 10), list_cost Decimal(38, 10)
-- params: by String, daily UInt8, start Date, end Date, all_tenants UInt8, tenants Array(String)
SELECT
    if({daily:UInt8} = 1, day, {start:Date}) AS day,
    multiIf({by:String} = 'tenant', tenant, {by:String} = 'product_line', product_line,
            {by:String} = 'workflow', workflow, service) AS key,
    allocation_method,
    currency,
    sum(rows) AS rows,
    sum(billed_cost) AS billed_cost,
    sum(effective_cost) AS effective_cost,
    sum(list_cost) AS list_cost
FROM cost_daily_current
WHERE cost_daily_current.day >= {start:Date} AND cost_daily_current.day < {end:Date}
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY day, key, allocation_method, currency
ORDER BY day, key, allocation_method, currency
