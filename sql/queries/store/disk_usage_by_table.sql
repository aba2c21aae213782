-- Bytes and rows on disk per table, with its oldest partition.
-- returns: table String, bytes UInt64, rows UInt64, oldest_partition String
-- params: none
SELECT
    table,
    sum(bytes_on_disk) AS bytes,
    sum(rows) AS rows,
    min(partition) AS oldest_partition
FROM system.parts
WHERE database = currentDatabase() AND active
GROUP BY table
ORDER BY bytes DESC
