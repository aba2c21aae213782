-- The latest state of every group of every rule.
-- returns: rule String, fingerprint String, group_labels Map(String, String), state String, value Nullable(Float64), since Nullable(DateTime64(3)), pending_since Nullable(DateTime64(3)), fired_at Nullable(DateTime64(3)), last_breach Nullable(DateTime64(3)), evaluated_at DateTime64(3), error String
-- params: none
SELECT rule, fingerprint, group_labels, state, value, since, pending_since, fired_at,
       last_breach, evaluated_at, error
FROM alert_state FINAL
ORDER BY rule, fingerprint
