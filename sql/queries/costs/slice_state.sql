-- One billing slice's committed generation and how many stored rows belong to older ones.
-- returns: committed UInt64, stale UInt64
-- params: account String, period_start DateTime64(3)
WITH (
    SELECT max(generation) FROM cost_slice_commits
    WHERE account = {account:String} AND billing_period_start = {period_start:DateTime64(3)}
) AS committed_generation
SELECT
    committed_generation AS committed,
    countIf(x_generation < committed_generation) AS stale
FROM cost_records
WHERE BillingAccountId = {account:String} AND BillingPeriodStart = {period_start:DateTime64(3)}
