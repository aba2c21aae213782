-- KPI events (deduplicated) of the given correlation ids or traces, at most {limit}.
-- returns: event_id String, ts DateTime64(3), kpi String, value Float64, amount Nullable(Decimal(18, 4)), currency String, entity_type String, entity_id String, correlation_id String, trace_id String, workflow String, tenant_id String
-- params: trace_ids Array(String), correlation_ids Array(String), all_tenants UInt8, tenants Array(String), limit UInt32
SELECT event_id, ts, kpi, value, amount, currency, entity_type, entity_id,
       correlation_id, trace_id, workflow, tenant_id
FROM business_events FINAL
WHERE (correlation_id IN {correlation_ids:Array(String)} OR trace_id IN {trace_ids:Array(String)})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant_id))
ORDER BY ts
LIMIT {limit:UInt32}
