-- Baseline for the benchmark: KPI totals from the raw (deduplicated) business_events table.
-- returns: kpi String, currency String, events UInt64, amount_sum Decimal(38, 4)
-- params: start DateTime, end DateTime
SELECT kpi, currency, count() AS events, sum(amount) AS amount_sum
FROM business_events FINAL
WHERE ts >= {start:DateTime} AND ts < {end:DateTime}
GROUP BY kpi, currency
