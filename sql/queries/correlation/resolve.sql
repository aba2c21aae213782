-- Correlation ids and trace ids known for a correlation id, entity id or trace id (lookup table),
-- with the times of everything under those correlation ids (logs such as replays come later).
-- The key's correlation ids come from a scalar subquery (an array constant by the time the
-- primary key is analysed), so both hops are primary-key point lookups.
-- returns: correlation_id String, trace_id String, tenant String, first_seen DateTime, last_seen DateTime
-- params: kind String, key String, all_tenants UInt8, tenants Array(String)
WITH (
    SELECT groupUniqArray(correlation_id) FROM lookup_keys
    WHERE kind = {kind:String} AND key = {key:String} AND correlation_id != ''
) AS correlation_ids
SELECT
    correlation_id,
    trace_id,
    tenant,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen
FROM lookup_keys
WHERE ((kind = {kind:String} AND key = {key:String})
       OR (kind = 'correlation' AND has(correlation_ids, key)))
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY correlation_id, trace_id, tenant
ORDER BY first_seen
