-- The newest minute with spans and the newest hour with KPI events the reader may see (the "last updated" caption).
-- returns: last_span Nullable(DateTime), last_kpi Nullable(DateTime)
-- params: all_tenants UInt8, tenants Array(String)
SELECT
    (
        SELECT if(count() = 0, NULL, max(minute)) FROM span_stats_1m
        WHERE {all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant))
    ) AS last_span,
    (
        SELECT if(count() = 0, NULL, max(hour)) FROM kpi_hourly
        WHERE {all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, toString(tenant))
    ) AS last_kpi
