-- Cost, completed runs and orders per day and group key: unit cost per transaction / order.
-- returns: day Date, key String, currency String, effective_cost Decimal(38, 10), transactions UInt64, orders UInt64
-- params: by String, start Date, end Date, all_tenants UInt8, tenants Array(String)
WITH
    cost AS (
        SELECT day,
               multiIf({by:String} = 'tenant', tenant, {by:String} = 'product_line', product_line, workflow) AS key,
               currency, sum(effective_cost) AS effective_cost
        FROM cost_daily_current
        WHERE day >= {start:Date} AND day < {end:Date}
          AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
        GROUP BY day, key, currency
    ),
    runs AS (
        SELECT day,
               multiIf({by:String} = 'tenant', tenant, {by:String} = 'product_line', product_line, workflow) AS key,
               sum(spans) AS transactions
        FROM span_stats_1d
        WHERE day >= {start:Date} AND day < {end:Date}
          AND kind = 'run' AND outcome = 'completed'
          AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
        GROUP BY day, key
    ),
    orders AS (
        SELECT toDate(hour) AS day,
               multiIf({by:String} = 'tenant', tenant, {by:String} = 'product_line', product_line, workflow) AS key,
               sum(events) AS orders
        FROM kpi_hourly
        WHERE hour >= toDateTime({start:Date}) AND hour < toDateTime({end:Date})
          AND kpi = 'order_advanced'
          AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
        GROUP BY day, key
    )
SELECT cost.day AS day, cost.key AS key, cost.currency AS currency, cost.effective_cost AS effective_cost,
       ifNull(runs.transactions, 0) AS transactions, ifNull(orders.orders, 0) AS orders
FROM cost
LEFT JOIN runs ON runs.day = cost.day AND runs.key = cost.key
LEFT JOIN orders ON orders.day = cost.day AND orders.key = cost.key
ORDER BY day, key, currency
SETTINGS join_use_nulls = 1
