-- Benchmark data: commit generation 0 of every generated cost slice so readers see it.
-- returns: nothing
-- params: none
INSERT INTO cost_slice_commits (account, billing_period_start, generation, source, rows)
SELECT BillingAccountId, BillingPeriodStart, 0, 'bench', count()
FROM cost_records
WHERE x_source = 'bench'
GROUP BY BillingAccountId, BillingPeriodStart
