-- The channels a notification (by idempotency key) already reached.
-- returns: channel String
-- params: key String
SELECT DISTINCT channel
FROM deliveries
WHERE key = {key:String} AND status = 'sent'
ORDER BY channel
