-- Every baseline version of one workflow (or all with ''), oldest first.
-- returns: workflow String, version UInt32, effective_from DateTime64(3), manual_minutes Decimal(12, 4), hourly_rate Decimal(18, 4), currency String, manual_error_rate Decimal(9, 6), cost_per_error Decimal(18, 4), go_live_at Nullable(DateTime64(3)), changed_by String, changed_at DateTime64(3), reason String
-- params: workflow String
SELECT workflow, version, effective_from, manual_minutes, hourly_rate, currency,
       manual_error_rate, cost_per_error, go_live_at, changed_by, changed_at, reason
FROM roi_baselines FINAL
WHERE {workflow:String} = '' OR workflow = {workflow:String}
ORDER BY workflow, version
