-- What readers see of one billing slice: committed rows and cost in the raw table and the rollup.
-- returns: raw_rows UInt64, raw_billed Decimal(38, 10), daily_rows UInt64, daily_billed Decimal(38, 10)
-- params: account String, period_start DateTime64(3)
SELECT
    (SELECT count() FROM cost_records_current
     WHERE BillingAccountId = {account:String} AND BillingPeriodStart = {period_start:DateTime64(3)}) AS raw_rows,
    (SELECT toDecimal128(sum(BilledCost), 10) FROM cost_records_current
     WHERE BillingAccountId = {account:String} AND BillingPeriodStart = {period_start:DateTime64(3)}) AS raw_billed,
    (SELECT toUInt64(sum(rows)) FROM cost_daily_current
     WHERE account = {account:String} AND billing_period_start = {period_start:DateTime64(3)}) AS daily_rows,
    (SELECT toDecimal128(sum(billed_cost), 10) FROM cost_daily_current
     WHERE account = {account:String} AND billing_period_start = {period_start:DateTime64(3)}) AS daily_billed
