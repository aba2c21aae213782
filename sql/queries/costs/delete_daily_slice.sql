-- Drop one billing slice from the daily cost rollup (it is rebuilt right after).
-- returns: nothing
-- params: account String, period_start DateTime64(3)
ALTER TABLE cost_daily DELETE
WHERE account = {account:String} AND billing_period_start = {period_start:DateTime64(3)}
SETTINGS mutations_sync = 2
