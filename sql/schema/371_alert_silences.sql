-- Alerting: silences and acknowledgements from the Alerts page, append-only (the audit trail:
-- who, what, why, until when). A silence stops notifications for one alert (fingerprint)
-- until ``until``; an acknowledgement only says someone is on it.
CREATE TABLE IF NOT EXISTS alert_silences (
    at DateTime64(3, 'UTC'),
    rule String,
    fingerprint String,
    tenant LowCardinality(String),
    kind LowCardinality(String),
    until DateTime64(3, 'UTC'),
    actor String,
    reason String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (tenant, at, rule);
