-- Benchmark data: synthetic runs of 5 spans (run, 3 steps, 1 external call) spread over `days`.
-- returns: nothing
-- params: first_run UInt64, runs UInt64, total_runs UInt64, start DateTime, days UInt32
INSERT INTO otel_traces (Timestamp, TraceId, SpanId, ParentSpanId, SpanName, SpanKind, ServiceName,
    ResourceAttributes, SpanAttributes, Duration, StatusCode, StatusMessage,
    `Events.Timestamp`, `Events.Name`, `Events.Attributes`)
SELECT
    toDateTime64({start:DateTime}, 9) + toIntervalNanosecond(intDiv(run * {days:UInt32} * 86400, {total_runs:UInt64}) * 1000000000 + pos * 1000000) AS ts,
    lower(hex(sipHash128(toString(run)))) AS trace_id,
    lower(hex(cityHash64(n))) AS span_id,
    if(pos = 0, '', lower(hex(cityHash64(run * 5)))) AS parent,
    multiIf(pos = 0, concat('run ', wf), pos = 4, 'POST charge', concat('step ', ['validate', 'charge', 'notify'][pos])) AS name,
    if(pos = 4, 'Client', 'Internal') AS kind,
    'flowmeter-orchestrator' AS service,
    map('service.name', 'flowmeter-orchestrator') AS resource,
    mapUpdate(
        map('correlation.id', concat('corr-', toString(run)), 'workflow.name', wf,
            'tenant.id', concat('tenant-', toString(run % 20)), 'product.line', ['retail', 'wholesale'][run % 2 + 1],
            'entity.id', concat('order-', toString(run))),
        multiIf(pos = 0, map('run.outcome', outcome, 'run.mode', if(intDiv(run * {days:UInt32}, {total_runs:UInt64}) < 7, 'manual', 'automated')),
                pos = 4, map('peer.service', 'payments-api'),
                map('step.name', ['validate', 'charge', 'notify'][pos], 'step.attempt', '1',
                    'step.outcome', if(pos = 2 AND run % 10 = 0, 'retry', 'ok'), 'step.dependency', 'payments-api'))
    ) AS attrs,
    toUInt64(if(pos = 0, 800000000, 50000000) + cityHash64(n) % 400000000) AS duration,
    if(pos = 0 AND outcome != 'completed', 'Error', 'Ok') AS status,
    '' AS status_message,
    if(pos = 2 AND run % 10 = 0, [ts], []) AS ev_ts,
    if(pos = 2 AND run % 10 = 0, ['retry'], []) AS ev_name,
    if(pos = 2 AND run % 10 = 0, [map('retry.delay_ms', '100')], []) AS ev_attrs
FROM (
    SELECT number AS n, intDiv(number, 5) AS run, number % 5 AS pos,
           ['order-to-cash', 'invoice', 'refund', 'lead-qualification'][run % 4 + 1] AS wf,
           multiIf(run % 50 = 0, 'failed', run % 97 = 0, 'dead_lettered', 'completed') AS outcome
    FROM numbers({first_run:UInt64} * 5, {runs:UInt64} * 5)
)
