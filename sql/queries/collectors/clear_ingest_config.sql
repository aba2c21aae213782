-- Forget the previous receiver's ingest settings (the pipeline writes its own at start).
-- returns: nothing
-- params: none
TRUNCATE TABLE ingest_config
