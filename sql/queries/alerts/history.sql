-- State changes of alerts the reader may see, newest first (a tenant's, or every one).
-- returns: at DateTime64(3), rule String, rule_version String, fingerprint String, tenant String, group_labels Map(String, String), labels Map(String, String), before String, after String, value Nullable(Float64), error String
-- params: rule String, start DateTime64(3), limit UInt32, all_tenants UInt8, tenants Array(String)
SELECT at, rule, rule_version, fingerprint, tenant, group_labels, labels, before, after, value,
       error
FROM alert_history
WHERE at >= {start:DateTime64(3)}
  AND ({rule:String} = '' OR rule = {rule:String})
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
ORDER BY at DESC
LIMIT {limit:UInt32}
