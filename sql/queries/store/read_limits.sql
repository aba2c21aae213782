-- The limits this connection's reads run under (ReadLimits; 0 = none): a store self-check.
-- returns: max_execution_time Float64, max_result_rows UInt64
-- params: none
SELECT
    toFloat64(getSetting('max_execution_time')) AS max_execution_time,
    toUInt64(getSetting('max_result_rows')) AS max_result_rows
