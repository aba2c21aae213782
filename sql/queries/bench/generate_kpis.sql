-- Benchmark data: one order_advanced KPI event per completed synthetic run.
-- returns: nothing
-- params: first_run UInt64, runs UInt64, total_runs UInt64, start DateTime, days UInt32
INSERT INTO business_events (event_id, ts, kpi, value, amount, currency, entity_type, entity_id,
    correlation_id, trace_id, workflow, tenant_id, product_line, attributes, schema_version)
SELECT
    concat('ev-', toString(number)),
    toDateTime64({start:DateTime}, 3) + toIntervalMillisecond(intDiv(number * {days:UInt32} * 86400, {total_runs:UInt64}) * 1000 + 900),
    ['order_advanced', 'invoice_posted', 'refund_prevented', 'lead_qualified'][number % 4 + 1],
    1,
    toDecimal64(number % 1000, 4),
    'EUR', 'order', concat('order-', toString(number)), concat('corr-', toString(number)),
    lower(hex(sipHash128(toString(number)))),
    ['order-to-cash', 'invoice', 'refund', 'lead-qualification'][number % 4 + 1],
    concat('tenant-', toString(number % 20)), ['retail', 'wholesale'][number % 2 + 1], map(), 1
FROM numbers({first_run:UInt64}, {runs:UInt64})
WHERE number % 50 != 0 AND number % 97 != 0
