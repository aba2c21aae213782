-- Failed or dead-lettered runs of a workflow in a window: how many, their entities, examples.
-- returns: runs UInt64, entities UInt64, correlation_ids Array(String)
-- params: workflow String, start DateTime, end DateTime, all_tenants UInt8, tenants Array(String)
SELECT
    count() AS runs,
    uniqExactIf(SpanAttributes['entity.id'], SpanAttributes['entity.id'] != '') AS entities,
    groupUniqArrayIf(50)(SpanAttributes['correlation.id'], SpanAttributes['correlation.id'] != '')
        AS correlation_ids
FROM otel_traces
WHERE Timestamp >= {start:DateTime} AND Timestamp < {end:DateTime}
  AND startsWith(SpanName, 'run ')
  AND ({workflow:String} = '' OR SpanAttributes['workflow.name'] = {workflow:String})
  AND SpanAttributes['run.outcome'] IN ('failed', 'dead_lettered')
  AND ({all_tenants:UInt8} = 1 OR has({tenants:Array(String)},
       if(ResourceAttributes['tenant.id'] != '', ResourceAttributes['tenant.id'],
          SpanAttributes['tenant.id'])))
