-- When the newest span and the newest KPI event happened (the "last updated" caption); spans only for unrestricted readers.
-- returns: last_span Nullable(DateTime64(9)), last_kpi Nullable(DateTime64(3))
-- params: all_tenants UInt8, tenants Array(String)
SELECT
    (SELECT max(Timestamp) FROM otel_traces WHERE {all_tenants:UInt8} = 1) AS last_span,
    (
        SELECT max(ts) FROM business_events
        WHERE {all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant_id))
    ) AS last_kpi
