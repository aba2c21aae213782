-- Tenants, product lines and workflows that have KPI events, cost records or baselines (sidebar choices).
-- returns: dimension String, value String
-- params: all_tenants UInt8, tenants Array(String)
SELECT dimension, value
FROM
(
    SELECT 'tenant' AS dimension, toString(tenant_id) AS value
    FROM business_events
    WHERE ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant_id)))
    GROUP BY tenant_id
    UNION ALL
    SELECT 'product_line', toString(product_line)
    FROM business_events
    WHERE ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant_id)))
    GROUP BY product_line
    UNION ALL
    SELECT 'workflow', toString(workflow)
    FROM business_events
    WHERE ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant_id)))
    GROUP BY workflow
    UNION ALL
    SELECT 'tenant', toString(x_tenant)
    FROM cost_records
    WHERE ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(x_tenant)))
    GROUP BY x_tenant
    UNION ALL
    SELECT 'product_line', toString(x_product_line)
    FROM cost_records
    WHERE ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(x_tenant)))
    GROUP BY x_product_line
    UNION ALL
    SELECT 'workflow', toString(workflow) FROM roi_baselines GROUP BY workflow
)
WHERE value != ''
GROUP BY dimension, value
ORDER BY dimension, value
