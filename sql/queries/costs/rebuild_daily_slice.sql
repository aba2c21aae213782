-- Refill one billing slice of the daily cost rollup from cost_records (deduplicated).
-- returns: nothing
-- params: account String, period_start DateTime64(3)
INSERT INTO cost_daily
SELECT
    toDate(ChargePeriodStart) AS day,
    BillingAccountId AS account,
    BillingPeriodStart AS billing_period_start,
    x_tenant AS tenant,
    x_product_line AS product_line,
    x_workflow AS workflow,
    x_allocation_method AS allocation_method,
    ServiceName AS service,
    BillingCurrency AS currency,
    toUInt64(count()) AS rows,
    toDecimal128(sum(BilledCost), 10) AS billed_cost,
    toDecimal128(sum(EffectiveCost), 10) AS effective_cost,
    toDecimal128(sum(ListCost), 10) AS list_cost
FROM cost_records FINAL
WHERE BillingAccountId = {account:String} AND BillingPeriodStart = {period_start:DateTime64(3)}
GROUP BY day, account, billing_period_start, tenant, product_line, workflow, allocation_method, service, currency
