-- span_stats_1m_mv again (301), now also reading what recognition rules wrote at ingest
-- (docs/adr/0009-recognition-rules.md): a span with flowmeter.kind = run | step counts as a
-- run / step like `run <workflow>` / `step <step>` (its run.outcome / step.outcome, mode
-- automated), and its retries are flowmeter.retries (Celery: a RETRY attempt; Prefect: its
-- Retrying events) instead of `retry` span events. Native spans aggregate exactly as before.
-- Rows already in span_stats_1m stay as they are; `flowmeter rules apply` re-derives history.

DROP VIEW IF EXISTS span_stats_1m_mv;

CREATE MATERIALIZED VIEW IF NOT EXISTS span_stats_1m_mv
TO span_stats_1m
AS SELECT
    toStartOfMinute(toDateTime(Timestamp, 'UTC')) AS minute,
    ServiceName AS service,
    SpanName AS span_name,
    multiIf(startsWith(SpanName, 'run '), 'run', startsWith(SpanName, 'step '), 'step', SpanAttributes['flowmeter.kind'] IN ('run', 'step'), SpanAttributes['flowmeter.kind'], 'other') AS kind,
    SpanAttributes['workflow.name'] AS workflow,
    SpanAttributes['step.name'] AS step,
    if(SpanAttributes['peer.service'] != '', SpanAttributes['peer.service'], SpanAttributes['step.dependency']) AS dependency,
    if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], SpanAttributes['tenant.id']) AS tenant,
    SpanAttributes['product.line'] AS product_line,
    multiIf(kind = 'run', SpanAttributes['run.outcome'], kind = 'step', SpanAttributes['step.outcome'], '') AS outcome,
    if(kind = 'run', if(SpanAttributes['run.mode'] = '', 'automated', SpanAttributes['run.mode']), '') AS mode,
    toUInt64(count()) AS spans,
    toUInt64(countIf(StatusCode IN ('Error', 'STATUS_CODE_ERROR'))) AS errors,
    toUInt64(sum(if(SpanAttributes['flowmeter.source'] != '', toUInt64OrZero(SpanAttributes['flowmeter.retries']), countEqual(Events.Name, 'retry')))) AS retries,
    toUInt64(sum(countEqual(Events.Name, 'dead_letter'))) AS dead_letters,
    sum(Duration / 1e6) AS duration_ms_sum,
    quantilesBFloat16State(0.5, 0.95, 0.99)(toFloat64(Duration / 1e6)) AS duration_ms_q
FROM otel_traces
GROUP BY minute, service, span_name, kind, workflow, step, dependency, tenant, product_line, outcome, mode;
