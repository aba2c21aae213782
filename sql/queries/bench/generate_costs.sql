-- Benchmark data: daily FOCUS-like cost rows per tenant x workflow x service, plus shared rows.
-- returns: nothing
-- params: start DateTime, days UInt32
INSERT INTO cost_records (BillingPeriodStart, BillingPeriodEnd, ChargePeriodStart, ChargePeriodEnd,
    BilledCost, EffectiveCost, ListCost, ContractedCost, BillingAccountId, BillingCurrency,
    ChargeCategory, InvoiceIssuerName, ProviderName, PublisherName, ServiceCategory, ServiceName,
    Tags, x_tenant, x_product_line, x_workflow, x_allocation_method, x_source, x_row_id)
SELECT
    toDateTime64(toStartOfMonth({start:DateTime}), 3), toDateTime64(toStartOfMonth({start:DateTime}) + toIntervalMonth(2), 3),
    toDateTime64({start:DateTime} + toIntervalDay(day), 3), toDateTime64({start:DateTime} + toIntervalDay(day + 1), 3),
    cost, cost, cost, cost, 'bench-account', 'EUR', 'Usage', 'AWS', 'AWS', 'AWS', 'Compute',
    ['Compute', 'Storage', 'Database'][svc + 1],
    if(shared, map('shared', 'true'), map('tenant', tenant, 'workflow', wf)),
    if(shared, '', tenant), '', if(shared, '', wf), if(shared, 'shared', 'tag'), 'bench', toString(number)
FROM (
    SELECT number, intDiv(number, 240) AS day, number % 3 AS svc,
           concat('tenant-', toString(intDiv(number % 240, 12))) AS tenant,
           ['order-to-cash', 'invoice', 'refund', 'lead-qualification'][intDiv(number % 12, 3) + 1] AS wf,
           number % 240 >= 228 AS shared,
           toDecimal128((cityHash64(number) % 100000) / 100, 10) AS cost
    FROM numbers({days:UInt32} * 240)
)
