-- Correlation ids and trace ids known for a correlation id, entity id or trace id (lookup table),
-- with the times of everything under those correlation ids (logs such as replays come later).
-- returns: correlation_id String, trace_id String, tenant String, first_seen DateTime, last_seen DateTime
-- params: kind String, key String, all_tenants UInt8, tenants Array(String)
SELECT
    correlation_id,
    trace_id,
    tenant,
    min(first_seen) AS first_seen,
    max(last_seen) AS last_seen
FROM lookup_keys
WHERE (kind, key) IN (
        SELECT {kind:String}, {key:String}
        UNION ALL
        SELECT 'correlation', correlation_id FROM lookup_keys
        WHERE kind = {kind:String} AND key = {key:String} AND correlation_id != '')
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
GROUP BY correlation_id, trace_id, tenant
ORDER BY first_seen
