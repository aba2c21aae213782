-- Alerting: the state of every group of every rule (one row per evaluation, the latest wins)
-- and the history of every state change, tenant-scoped like the rest of the store.
CREATE TABLE IF NOT EXISTS alert_state (
    rule String,
    fingerprint String,
    group_labels Map(LowCardinality(String), String),
    state LowCardinality(String),
    value Nullable(Float64),
    since Nullable(DateTime64(3, 'UTC')),
    pending_since Nullable(DateTime64(3, 'UTC')),
    fired_at Nullable(DateTime64(3, 'UTC')),
    last_breach Nullable(DateTime64(3, 'UTC')),
    evaluated_at DateTime64(3, 'UTC'),
    error String
) ENGINE = ReplacingMergeTree(evaluated_at)
ORDER BY (rule, fingerprint);

CREATE TABLE IF NOT EXISTS alert_history (
    at DateTime64(3, 'UTC'),
    rule String,
    rule_version String,
    fingerprint String,
    tenant LowCardinality(String),
    group_labels Map(LowCardinality(String), String),
    labels Map(LowCardinality(String), String),
    before LowCardinality(String),
    after LowCardinality(String),
    value Nullable(Float64),
    error String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (tenant, at, rule);
