-- Cost import atomic per billing slice (docs/adr/0008-cost-import-atomicity.md). An import
-- writes a slice's rows under a new generation number, then commits that generation with one
-- row in cost_slice_commits. Readers see only each slice's latest committed generation (the
-- *_current views), so a crash between the steps never doubles nor drops cost: before the
-- commit the new rows are invisible, after it the old ones are. Old generations are swept
-- afterwards. Rows written before this migration are generation 0, committed below.
-- Columns Flowmeter does not compute with may be null (FOCUS 1.0 files leave them empty), and
-- x_columns keeps provider x_ columns and FOCUS columns without a column of their own.

ALTER TABLE cost_records ADD COLUMN x_generation UInt64,
    MODIFY ORDER BY (BillingAccountId, BillingPeriodStart, x_row_id, x_generation);

ALTER TABLE cost_records MODIFY COLUMN ListCost Nullable(Decimal(28, 10)),
    MODIFY COLUMN ContractedCost Nullable(Decimal(28, 10)),
    ADD COLUMN IF NOT EXISTS x_columns Map(LowCardinality(String), String),
    ADD COLUMN IF NOT EXISTS x_focus_version LowCardinality(String);

ALTER TABLE cost_daily ADD COLUMN generation UInt64,
    MODIFY ORDER BY (day, account, billing_period_start, tenant, product_line, workflow, allocation_method, service, currency, generation);

DROP VIEW IF EXISTS cost_daily_mv;

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
    toDecimal128(sum(ifNull(ListCost, toDecimal128(0, 10))), 10) AS list_cost,
    x_generation AS generation
FROM cost_records
GROUP BY day, account, billing_period_start, tenant, product_line, workflow, allocation_method, service, currency, generation;

-- One row per committed import of a slice; the highest generation of a slice is the current one.
-- sharding_key: cityHash64(account)
CREATE TABLE IF NOT EXISTS cost_slice_commits (
    account String,
    billing_period_start DateTime64(3, 'UTC'),
    generation UInt64,
    source String,
    rows UInt64,
    committed_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree
ORDER BY (account, billing_period_start, generation);

INSERT INTO cost_slice_commits (account, billing_period_start, generation, source, rows)
SELECT BillingAccountId, BillingPeriodStart, 0, any(x_source), count()
FROM cost_records
GROUP BY BillingAccountId, BillingPeriodStart;

CREATE VIEW IF NOT EXISTS cost_daily_current AS
SELECT *
FROM cost_daily
WHERE (account, billing_period_start, generation) GLOBAL IN (
    SELECT account, billing_period_start, max(generation)
    FROM cost_slice_commits
    GROUP BY account, billing_period_start
);

CREATE VIEW IF NOT EXISTS cost_records_current AS
SELECT *
FROM cost_records
WHERE (BillingAccountId, BillingPeriodStart, x_generation) GLOBAL IN (
    SELECT account, billing_period_start, max(generation)
    FROM cost_slice_commits
    GROUP BY account, billing_period_start
);
