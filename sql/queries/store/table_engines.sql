-- The engine clause (with its TTL) of every table in the current database.
-- returns: table String, engine_full String
-- params: none
SELECT name AS table, engine_full
FROM system.tables
WHERE database = currentDatabase() AND engine LIKE '%MergeTree'
ORDER BY name
