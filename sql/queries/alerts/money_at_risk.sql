-- The amounts on the KPI events of the given runs (correlation ids), per currency, largest first.
-- returns: currency String, total Decimal(38, 4)
-- params: correlation_ids Array(String)
SELECT currency, sum(amount) AS total
FROM business_events FINAL
WHERE correlation_id IN {correlation_ids:Array(String)} AND amount IS NOT NULL AND currency != ''
GROUP BY currency
ORDER BY total DESC
