-- The latest saved KPI catalog, in display order.
-- returns: position UInt16, name String, label String, unit String, currency String, direction String, aggregation String, target Nullable(Float64), source String, kpi String, versus String, workflow String, outcome String, tile UInt8
-- params: none
SELECT position, name, label, unit, currency, direction, aggregation, target, source, kpi,
       versus, workflow, outcome, tile
FROM kpi_catalog
WHERE saved_at = (SELECT max(saved_at) FROM kpi_catalog)
ORDER BY position
