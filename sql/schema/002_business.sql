-- Business tables: KPI events, FOCUS cost records, versioned ROI baselines.
-- Money is Decimal, never Float. Idempotent writes land in ReplacingMergeTree tables
-- keyed on their idempotency key; readers use FINAL (or argMax) where duplicates matter.

-- sharding_key: cityHash64(event_id)
CREATE TABLE IF NOT EXISTS business_events (
    event_id String,
    ts DateTime64(3, 'UTC') CODEC(Delta, ZSTD(1)),
    kpi LowCardinality(String),
    value Float64,
    amount Nullable(Decimal(18, 4)),
    currency LowCardinality(String),
    entity_type LowCardinality(String),
    entity_id String,
    correlation_id String,
    trace_id String,
    workflow LowCardinality(String),
    tenant_id LowCardinality(String),
    product_line LowCardinality(String),
    attributes Map(LowCardinality(String), String) CODEC(ZSTD(1)),
    schema_version UInt16,
    ingested_at DateTime64(3, 'UTC') DEFAULT now64(3),
    INDEX idx_correlation correlation_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_entity entity_id TYPE bloom_filter(0.001) GRANULARITY 1,
    INDEX idx_trace trace_id TYPE bloom_filter(0.001) GRANULARITY 1
) ENGINE = ReplacingMergeTree(ingested_at)
PARTITION BY toYYYYMM(ts)
ORDER BY event_id;

-- FOCUS 1.2 columns as the spec spells them (plus the 1.3 provider names), and our x_ columns.
-- x_row_id is a hash of the source row: importing the same file twice changes nothing.
-- sharding_key: cityHash64(BillingAccountId)
CREATE TABLE IF NOT EXISTS cost_records (
    BillingPeriodStart DateTime64(3, 'UTC'),
    BillingPeriodEnd DateTime64(3, 'UTC'),
    ChargePeriodStart DateTime64(3, 'UTC'),
    ChargePeriodEnd DateTime64(3, 'UTC'),
    BilledCost Decimal(28, 10),
    EffectiveCost Decimal(28, 10),
    ListCost Decimal(28, 10),
    ContractedCost Decimal(28, 10),
    PricingQuantity Nullable(Decimal(28, 10)),
    PricingUnit Nullable(String),
    ConsumedQuantity Nullable(Decimal(28, 10)),
    ConsumedUnit Nullable(String),
    ListUnitPrice Nullable(Decimal(28, 10)),
    BillingAccountId String,
    BillingAccountName Nullable(String),
    BillingCurrency LowCardinality(String),
    ChargeCategory LowCardinality(String),
    ChargeClass Nullable(String),
    ChargeDescription Nullable(String),
    InvoiceIssuerName String,
    ProviderName String,
    PublisherName String,
    ServiceProviderName Nullable(String),
    HostProviderName Nullable(String),
    ServiceCategory LowCardinality(String),
    ServiceName LowCardinality(String),
    ResourceId Nullable(String),
    ResourceName Nullable(String),
    ResourceType Nullable(String),
    RegionId Nullable(String),
    SubAccountId Nullable(String),
    SkuId Nullable(String),
    Tags Map(LowCardinality(String), String),
    x_tenant LowCardinality(String),
    x_product_line LowCardinality(String),
    x_workflow LowCardinality(String),
    x_allocation_method LowCardinality(String),
    x_source String,
    x_row_id String,
    x_imported_at DateTime64(3, 'UTC') DEFAULT now64(3)
) ENGINE = ReplacingMergeTree(x_imported_at)
PARTITION BY toYYYYMM(ChargePeriodStart)
ORDER BY (BillingAccountId, BillingPeriodStart, x_row_id);

-- One row per baseline version; history is never overwritten.
CREATE TABLE IF NOT EXISTS roi_baselines (
    workflow LowCardinality(String),
    version UInt32,
    effective_from DateTime64(3, 'UTC'),
    manual_minutes Decimal(12, 4),
    hourly_rate Decimal(18, 4),
    currency LowCardinality(String),
    manual_error_rate Decimal(9, 6),
    cost_per_error Decimal(18, 4),
    go_live_at Nullable(DateTime64(3, 'UTC')),
    changed_by String,
    changed_at DateTime64(3, 'UTC') DEFAULT now64(3),
    reason String
) ENGINE = ReplacingMergeTree(changed_at)
ORDER BY (workflow, version);
