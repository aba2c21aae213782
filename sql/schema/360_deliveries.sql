-- Every notification attempt that left Flowmeter (reports now, alerts next): which message
-- (its idempotency key), through which channel to whom, and how it ended. A key already
-- 'sent' on a channel is not sent there again, across restarts.
CREATE TABLE IF NOT EXISTS deliveries (
    at DateTime64(3, 'UTC') DEFAULT now64(3),
    key String,
    kind LowCardinality(String),
    channel LowCardinality(String),
    target String,
    tenant LowCardinality(String),
    status LowCardinality(String),
    attempts UInt16,
    error String
) ENGINE = MergeTree
PARTITION BY toYYYYMM(at)
ORDER BY (key, channel, at);
