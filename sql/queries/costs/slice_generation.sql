-- The highest generation written or committed for one billing slice (a new import goes above it).
-- returns: generation UInt64
-- params: account String, period_start DateTime64(3)
SELECT greatest(
    (SELECT max(generation) FROM cost_slice_commits
     WHERE account = {account:String} AND billing_period_start = {period_start:DateTime64(3)}),
    (SELECT max(x_generation) FROM cost_records
     WHERE BillingAccountId = {account:String} AND BillingPeriodStart = {period_start:DateTime64(3)})
) AS generation
