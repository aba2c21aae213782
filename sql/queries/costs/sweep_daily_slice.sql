-- Delete one billing slice's daily rollup rows of generations older than the committed one.
-- returns: nothing
-- params: account String, period_start DateTime64(3), generation UInt64
ALTER TABLE cost_daily DELETE
WHERE account = {account:String} AND billing_period_start = {period_start:DateTime64(3)}
  AND generation < {generation:UInt64}
SETTINGS mutations_sync = 2
