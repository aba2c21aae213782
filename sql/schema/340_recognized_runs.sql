-- Runs recognized at trace level (docs/adr/0009-recognition-rules.md): spans that recognition
-- rules marked as steps (SpanAttributes['flowmeter.kind'] = 'step': Celery tasks, Temporal
-- activities) or markers ('marker': Temporal's RunWorkflow / CompleteWorkflow) make one run per
-- trace. A materialized view folds each inserted block into one row per trace; rows of one
-- trace merge (AggregatingMergeTree) and reads finish the job with GROUP BY trace_id
-- (recognized_run_list below), so a trace whose spans arrive over minutes is still ONE run.
-- The run: named by its earliest marker, else its earliest step (a Celery chain: its first
-- task); start = first span, end = last span end. Outcome: failed when a marker says so
-- (Temporal's CompleteWorkflow with Error) or, without markers, when a step's last attempt
-- failed (an attempt that will be retried has step.outcome 'retry', not 'failed'). Retries:
-- the steps' flowmeter.retries plus repeated attempt keys (Temporal's temporalActivityID).
-- Traces that also hold a recognized run span (Prefect flow run, Airflow DAG run) are counted
-- from that span in span_stats_1m and left out here (run_spans > 0).

-- sharding_key: cityHash64(trace_id)
CREATE TABLE IF NOT EXISTS recognized_runs (
    trace_id String,
    tenant SimpleAggregateFunction(anyLast, String),
    source SimpleAggregateFunction(anyLast, String),
    marker_workflow AggregateFunction(argMin, String, DateTime64(9)),
    step_workflow AggregateFunction(argMin, String, DateTime64(9)),
    service AggregateFunction(argMin, String, DateTime64(9)),
    product_line SimpleAggregateFunction(max, String),
    started SimpleAggregateFunction(min, DateTime64(9)),
    ended SimpleAggregateFunction(max, DateTime64(9)),
    steps SimpleAggregateFunction(sum, UInt64),
    failed_steps SimpleAggregateFunction(sum, UInt64),
    markers SimpleAggregateFunction(sum, UInt64),
    failed_markers SimpleAggregateFunction(sum, UInt64),
    retries SimpleAggregateFunction(sum, UInt64),
    keyed_attempts SimpleAggregateFunction(sum, UInt64),
    attempt_keys AggregateFunction(uniqExact, String),
    run_spans SimpleAggregateFunction(sum, UInt64)
) ENGINE = AggregatingMergeTree
ORDER BY trace_id;

CREATE MATERIALIZED VIEW IF NOT EXISTS recognized_runs_mv
TO recognized_runs
AS SELECT
    TraceId AS trace_id,
    anyLast(if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], SpanAttributes['tenant.id'])) AS tenant,
    anyLast(SpanAttributes['flowmeter.source']) AS source,
    argMinStateIf(SpanAttributes['workflow.name'], Timestamp, SpanAttributes['flowmeter.kind'] = 'marker') AS marker_workflow,
    argMinStateIf(SpanAttributes['workflow.name'], Timestamp, SpanAttributes['flowmeter.kind'] = 'step') AS step_workflow,
    argMinStateIf(ServiceName, Timestamp, SpanAttributes['flowmeter.kind'] IN ('step', 'marker')) AS service,
    max(SpanAttributes['product.line']) AS product_line,
    min(Timestamp) AS started,
    max(addNanoseconds(Timestamp, Duration)) AS ended,
    toUInt64(countIf(SpanAttributes['flowmeter.kind'] = 'step')) AS steps,
    toUInt64(countIf(SpanAttributes['flowmeter.kind'] = 'step' AND SpanAttributes['step.outcome'] IN ('failed', 'timeout'))) AS failed_steps,
    toUInt64(countIf(SpanAttributes['flowmeter.kind'] = 'marker')) AS markers,
    toUInt64(countIf(SpanAttributes['flowmeter.kind'] = 'marker' AND SpanAttributes['run.outcome'] = 'failed')) AS failed_markers,
    toUInt64(sum(toUInt64OrZero(SpanAttributes['flowmeter.retries']))) AS retries,
    toUInt64(countIf(SpanAttributes['flowmeter.attempt_key'] != '')) AS keyed_attempts,
    uniqExactStateIf(SpanAttributes['flowmeter.attempt_key'], SpanAttributes['flowmeter.attempt_key'] != '') AS attempt_keys,
    toUInt64(countIf(SpanAttributes['flowmeter.kind'] = 'run')) AS run_spans
FROM otel_traces
WHERE SpanAttributes['flowmeter.kind'] != ''
GROUP BY trace_id;

-- One row per trace-level run, finished: the shape health and ROI reads union with the
-- span_stats rollups (minute, workflow, tenant, outcome, duration...).
CREATE VIEW IF NOT EXISTS recognized_run_list AS
SELECT
    trace_id,
    toStartOfMinute(toDateTime(started_at, 'UTC')) AS minute,
    started_at,
    ended_at,
    if(run_marker_workflow != '', run_marker_workflow, run_step_workflow) AS workflow,
    run_service AS service,
    run_tenant AS tenant,
    run_product_line AS product_line,
    run_source AS source,
    if(if(run_markers > 0, run_failed_markers > 0, run_failed_steps > 0), 'failed', 'completed') AS outcome,
    toUInt64(outcome = 'failed') AS errors,
    run_retries + run_keyed_attempts - run_attempt_keys AS retries,
    run_steps AS steps,
    greatest(toFloat64(dateDiff('microsecond', started_at, ended_at)) / 1000, 0) AS duration_ms
FROM (
    SELECT
        trace_id,
        min(started) AS started_at,
        max(ended) AS ended_at,
        argMinMerge(marker_workflow) AS run_marker_workflow,
        argMinMerge(step_workflow) AS run_step_workflow,
        argMinMerge(service) AS run_service,
        anyLast(tenant) AS run_tenant,
        max(product_line) AS run_product_line,
        anyLast(source) AS run_source,
        sum(failed_steps) AS run_failed_steps,
        sum(markers) AS run_markers,
        sum(failed_markers) AS run_failed_markers,
        sum(retries) AS run_retries,
        sum(keyed_attempts) AS run_keyed_attempts,
        uniqExactMerge(attempt_keys) AS run_attempt_keys,
        sum(steps) AS run_steps,
        sum(run_spans) AS run_span_count
    FROM recognized_runs
    GROUP BY trace_id
    HAVING run_span_count = 0 AND (run_steps > 0 OR run_markers > 0)
);
