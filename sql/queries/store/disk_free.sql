-- Free and total bytes of the disks the store writes to.
-- returns: disk String, free_bytes UInt64, total_bytes UInt64
-- params: none
SELECT name AS disk, free_space AS free_bytes, total_space AS total_bytes
FROM system.disks
ORDER BY name
