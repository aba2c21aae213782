-- Bytes and rows on disk per table and partition (a day or a month), newest partition first.
-- returns: table String, partition String, bytes UInt64, rows UInt64, parts UInt64
-- params: none
SELECT
    table,
    partition,
    sum(bytes_on_disk) AS bytes,
    sum(rows) AS rows,
    count() AS parts
FROM system.parts
WHERE database = currentDatabase() AND active
GROUP BY table, partition
ORDER BY partition DESC, bytes DESC
