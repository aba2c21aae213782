-- Readiness: a one-row write that the store discards (a Null-engine table function), so a
-- read-only user, a read-only replica or a store that is down fails it without a trace left.
-- returns: nothing
-- params: none
INSERT INTO FUNCTION null('ok UInt8') VALUES (1)
