-- Delete one billing slice's rows except those of the import that replaces them.
-- returns: nothing
-- params: account String, period_start DateTime64(3), keep_source String
ALTER TABLE cost_records DELETE
WHERE BillingAccountId = {account:String} AND BillingPeriodStart = {period_start:DateTime64(3)}
  AND x_source != {keep_source:String}
SETTINGS mutations_sync = 2
