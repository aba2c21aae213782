-- Every workflow with runs in a range (native and recognized), with its source and run figures.
-- returns: workflow String, source String, runs UInt64, completed UInt64, failed UInt64, retries UInt64, p95_ms Float64, last_seen DateTime
-- params: start DateTime, end DateTime, all_tenants UInt8, tenants Array(String)
SELECT
    workflow,
    multiIf(max(recognized_by) != '', max(recognized_by), max(known_source) != '', max(known_source),
            'flowmeter') AS source,
    sumIf(spans, kind = 'run') AS runs,
    sumIf(spans, kind = 'run' AND outcome = 'completed') AS completed,
    sumIf(spans, kind = 'run' AND outcome IN ('failed', 'dead_lettered')) AS failed,
    -- a workflow recognized per trace takes its retries from its runs (they know repeated
    -- attempts, e.g. Temporal activity ids); others from their step and run spans
    if(countIf(counted = 0) > 0, sumIf(retries, counted = 0), sumIf(retries, counted = 1)) AS retries,
    quantilesBFloat16MergeIf(0.5, 0.95, 0.99)(duration_ms_q, kind = 'run') AS q,
    q[2] AS p95_ms,
    max(hour) AS last_seen
FROM (
    SELECT hour, workflow, kind, outcome, spans, retries, duration_ms_q, 1 AS counted,
           '' AS recognized_by
    FROM span_stats_1h
    WHERE hour >= {start:DateTime} AND hour < {end:DateTime} AND kind IN ('run', 'step')
      AND workflow != ''
      AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
    UNION ALL
    SELECT hour, workflow, kind, outcome, spans, retries, duration_ms_q, 0 AS counted,
           source AS recognized_by
    FROM recognized_run_stats
    WHERE hour >= {start:DateTime} AND hour < {end:DateTime}
      AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
) AS stats
LEFT JOIN (
    SELECT workflow, max(source) AS known_source
    FROM workflow_sources
    WHERE ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)}, tenant))
    GROUP BY workflow
) AS sources USING (workflow)
GROUP BY workflow
HAVING runs > 0
ORDER BY runs DESC, workflow
