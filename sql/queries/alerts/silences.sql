-- Silences and acknowledgements the reader may see: recent or still in force, newest first.
-- returns: at DateTime64(3), rule String, fingerprint String, tenant String, kind String, until DateTime64(3), actor String, reason String
-- params: start DateTime64(3), now DateTime64(3), limit UInt32, all_tenants UInt8, tenants Array(String)
SELECT at, rule, fingerprint, tenant, kind, until, actor, reason
FROM alert_silences
WHERE (at >= {start:DateTime64(3)} OR until > {now:DateTime64(3)})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
ORDER BY at DESC
LIMIT {limit:UInt32}
