-- Latest value of the operational gauges (DLQ depth, queue lag, breaker state) per label.
-- A gauge's tenant is its resource's tenant.id (the ingest token's stamp wins), else the data
-- point's own; gauges without either are platform-wide and shown to every user.
-- returns: metric String, label String, value Float64, at DateTime
-- params: start DateTime, end DateTime, all_tenants UInt8, tenants Array(String)
SELECT
    MetricName AS metric,
    multiIf(MetricName = 'flowmeter.dlq.depth', Attributes['workflow.name'],
            MetricName = 'flowmeter.queue.lag', Attributes['queue'],
            Attributes['breaker.name']) AS label,
    argMax(Value, TimeUnix) AS value,
    max(TimeUnix) AS at
FROM otel_metrics_gauge
WHERE MetricName IN ('flowmeter.dlq.depth', 'flowmeter.queue.lag', 'flowmeter.breaker.state')
  AND TimeUnix >= {start:DateTime} AND TimeUnix < {end:DateTime}
  AND ({all_tenants:UInt8} = 1
       OR has(arrayPushFront({tenants:Array(String)}, ''), if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'], Attributes['tenant.id'])))
GROUP BY metric, label
ORDER BY metric, label
