-- Row ids of the committed generation of one billing account and billing period (idempotency check).
-- returns: x_row_id String
-- params: account String, period_start DateTime64(3)
SELECT DISTINCT x_row_id
FROM cost_records_current
WHERE BillingAccountId = {account:String} AND BillingPeriodStart = {period_start:DateTime64(3)}
