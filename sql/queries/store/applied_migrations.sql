-- Schema migrations already applied to this store.
-- returns: version UInt32, name String, checksum String
-- params: none
SELECT version, argMax(name, applied_at) AS name, argMax(checksum, applied_at) AS checksum
FROM flowmeter_migrations
GROUP BY version
ORDER BY version
