-- Every instance's row is written through these indexes, on SQLite by the
-- one writer all instances share, so each index is time taken from all.
--
-- (process_id, state) is a prefix of the Data Index's
-- (process_id, state, started_at, id), which serves the same lookups.
DROP INDEX orchestrator_instances_process;
-- The v2 API looks instances up by initiatorEntity and targetEntity with
-- = or IN only, which implies the value is not NULL, so the indexes need
-- not hold instances started without one (SonataFlow's own callers send
-- neither).
DROP INDEX orchestrator_instances_api_initiator;
DROP INDEX orchestrator_instances_api_target;
CREATE INDEX orchestrator_instances_api_initiator ON orchestrator_instances (json_extract(variables, '$.initiatorEntity'), started_at, id)
    WHERE json_extract(variables, '$.initiatorEntity') IS NOT NULL;
CREATE INDEX orchestrator_instances_api_target ON orchestrator_instances (json_extract(variables, '$.targetEntity'), process_id, started_at)
    WHERE json_extract(variables, '$.targetEntity') IS NOT NULL;
