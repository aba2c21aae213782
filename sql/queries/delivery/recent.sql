-- The latest delivery attempts, newest first.
-- returns: at DateTime64(3), key String, kind String, channel String, target String, tenant String, status String, attempts UInt16, error String
-- params: limit UInt32
SELECT at, key, kind, channel, target, tenant, status, attempts, error
FROM deliveries
ORDER BY at DESC
LIMIT {limit:UInt32}
