-- Baseline for the benchmark: cost per tenant from the raw cost_records table (committed generations).
-- returns: key String, allocation_method String, effective_cost Decimal(38, 10)
-- params: start DateTime, end DateTime
SELECT x_tenant AS key, x_allocation_method AS allocation_method, sum(EffectiveCost) AS effective_cost
FROM cost_records_current
WHERE ChargePeriodStart >= {start:DateTime} AND ChargePeriodStart < {end:DateTime}
GROUP BY key, allocation_method
