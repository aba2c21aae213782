-- Retention (models/retention.py) sets TTLs from FLOWMETER_RETENTION_DAYS. On the tables
-- partitioned by day, expired days should go as whole parts, never by rewriting parts row by
-- row: otel_traces and otel_logs already say so; the metrics tables and the trace-bounds
-- table follow.
ALTER TABLE otel_traces_trace_id_ts MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE otel_metrics_sum MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE otel_metrics_gauge MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE otel_metrics_histogram MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE otel_metrics_exponential_histogram MODIFY SETTING ttl_only_drop_parts = 1;
ALTER TABLE otel_metrics_summary MODIFY SETTING ttl_only_drop_parts = 1;
