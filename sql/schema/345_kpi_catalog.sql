-- The KPI catalog the dashboard shows (docs/adr/0009-recognition-rules.md): the Executive
-- page's outcome tiles and System Health's KPI overlay list these, in `position` order. A
-- catalog is saved whole (`flowmeter demo` saves the demo's; FLOWMETER_RULES_FILE's [[kpi]]
-- tables take precedence when set); readers take the rows of the latest `saved_at` only.
CREATE TABLE IF NOT EXISTS kpi_catalog (
    saved_at DateTime64(6, 'UTC'),
    position UInt16,
    name String,
    label String,
    unit String,
    currency String,
    direction LowCardinality(String),
    aggregation LowCardinality(String),
    target Nullable(Float64),
    source LowCardinality(String),
    kpi String,
    versus String,
    workflow String,
    outcome LowCardinality(String),
    tile UInt8,
    origin String
) ENGINE = MergeTree
ORDER BY (saved_at, position);
