-- Fingerprints silenced at a moment (the evaluator sends nothing for them), with the end.
-- returns: fingerprint String, ends DateTime64(3)
-- params: now DateTime64(3)
SELECT fingerprint, max(until) AS ends
FROM alert_silences
WHERE kind = 'silence' AND at <= {now:DateTime64(3)} AND until > {now:DateTime64(3)}
GROUP BY fingerprint
