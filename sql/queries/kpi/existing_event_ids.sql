-- Which of these KPI event ids one tenant already stored (the write path's idempotency check).
-- Per tenant: another tenant's ids are neither matched nor revealed. (tenant_id, event_id) is
-- the table's primary key, so this is a point lookup.
-- returns: event_id String
-- params: tenant String, event_ids Array(String)
SELECT DISTINCT event_id
FROM business_events
WHERE tenant_id = {tenant:String} AND event_id IN {event_ids:Array(String)}
