-- Rows and on-disk size of every table in the current database.
-- returns: table String, rows UInt64, bytes UInt64
-- params: none
SELECT name AS table, ifNull(total_rows, 0) AS rows, ifNull(total_bytes, 0) AS bytes
FROM system.tables
WHERE database = currentDatabase() AND engine NOT IN ('MaterializedView', 'View', 'Null')
ORDER BY name
