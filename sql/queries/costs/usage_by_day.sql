-- External calls and their seconds per tenant / product line / workflow / dependency on one day.
-- returns: tenant String, product_line String, workflow String, dependency String, calls UInt64, compute_seconds Float64
-- params: day Date
SELECT tenant, product_line, workflow, dependency,
       sum(spans) AS calls,
       sum(duration_ms_sum) / 1000 AS compute_seconds
FROM span_stats_1d
WHERE day = {day:Date}
  AND kind = 'other' AND dependency != ''
GROUP BY tenant, product_line, workflow, dependency
ORDER BY tenant, product_line, workflow, dependency
