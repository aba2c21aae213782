-- Delete one billing slice's rows of generations older than the committed one (already invisible).
-- returns: nothing
-- params: account String, period_start DateTime64(3), generation UInt64
ALTER TABLE cost_records DELETE
WHERE BillingAccountId = {account:String} AND BillingPeriodStart = {period_start:DateTime64(3)}
  AND x_generation < {generation:UInt64}
SETTINGS mutations_sync = 2
