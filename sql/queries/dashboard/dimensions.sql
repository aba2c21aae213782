-- Tenants, product lines and workflows seen in the daily span, hourly KPI and daily cost rollups or baselines (sidebar choices).
-- returns: dimension String, value String
-- params: all_tenants UInt8, tenants Array(String)
SELECT dimension, value
FROM
(
    SELECT arrayJoin([('tenant', toString(tenant)), ('product_line', toString(product_line)),
                      ('workflow', toString(workflow))]) AS pair,
           pair.1 AS dimension, pair.2 AS value
    FROM
    (
        SELECT tenant, product_line, workflow FROM span_stats_1d
        WHERE {all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant))
        GROUP BY tenant, product_line, workflow
        UNION ALL
        SELECT tenant, product_line, workflow FROM kpi_hourly
        WHERE {all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant))
        GROUP BY tenant, product_line, workflow
        UNION ALL
        SELECT tenant, product_line, workflow FROM cost_daily_current
        WHERE {all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant))
        GROUP BY tenant, product_line, workflow
    )
    UNION ALL
    SELECT ('workflow', toString(workflow)) AS pair, pair.1, pair.2 FROM roi_baselines GROUP BY workflow
)
WHERE value != ''
GROUP BY dimension, value
ORDER BY dimension, value
