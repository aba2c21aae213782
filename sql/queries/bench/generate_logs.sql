-- Benchmark data: a dlq.quarantined log event for every dead-lettered synthetic run.
-- returns: nothing
-- params: first_run UInt64, runs UInt64, total_runs UInt64, start DateTime, days UInt32
INSERT INTO otel_logs (Timestamp, TraceId, SpanId, SeverityText, ServiceName, Body, LogAttributes, EventName)
SELECT
    toDateTime64({start:DateTime}, 9) + toIntervalNanosecond(intDiv(number * {days:UInt32} * 86400, {total_runs:UInt64}) * 1000000000 + 5000000),
    lower(hex(sipHash128(toString(number)))), '', 'WARN', 'flowmeter-orchestrator', 'dlq.quarantined',
    map('correlation.id', concat('corr-', toString(number)), 'dlq.id', concat('dlq-', toString(number)),
        'dlq.reason', 'retries exhausted', 'tenant.id', concat('tenant-', toString(number % 20))),
    'dlq.quarantined'
FROM numbers({first_run:UInt64}, {runs:UInt64})
WHERE number % 97 = 0 AND number % 50 != 0
