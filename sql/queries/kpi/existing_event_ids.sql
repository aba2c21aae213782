-- Which of these KPI event ids are already stored (the write path's idempotency check).
-- returns: event_id String
-- params: event_ids Array(String)
SELECT DISTINCT event_id
FROM business_events
WHERE event_id IN {event_ids:Array(String)}
