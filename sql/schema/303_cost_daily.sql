-- Daily cost rollup over cost_records, keyed by billing account and billing period too so a
-- corrected FOCUS file can replace exactly its own slice (the importer deletes that slice here
-- and in cost_records, then inserts; the view refills it).

-- sharding_key: cityHash64(account)
CREATE TABLE IF NOT EXISTS cost_daily (
    day Date,
    account String,
    billing_period_start DateTime64(3, 'UTC'),
    tenant LowCardinality(String),
    product_line LowCardinality(String),
    workflow LowCardinality(String),
    allocation_method LowCardinality(String),
    service LowCardinality(String),
    currency LowCardinality(String),
    rows SimpleAggregateFunction(sum, UInt64),
    billed_cost SimpleAggregateFunction(sum, Decimal(38, 10)),
    effective_cost SimpleAggregateFunction(sum, Decimal(38, 10)),
    list_cost SimpleAggregateFunction(sum, Decimal(38, 10))
) ENGINE = AggregatingMergeTree
PARTITION BY toYYYYMM(day)
ORDER BY (day, account, billing_period_start, tenant, product_line, workflow, allocation_method, service, currency);

CREATE MATERIALIZED VIEW IF NOT EXISTS cost_daily_mv
TO cost_daily
AS SELECT
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
FROM cost_records
GROUP BY day, account, billing_period_start, tenant, product_line, workflow, allocation_method, service, currency;
