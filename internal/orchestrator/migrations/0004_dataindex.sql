-- Indexes for the Data Index's instance queries: a page of a workflow's
-- instances in one state ordered by start (the orchestrator plugin's
-- list), a page of a workflow's instances ordered by start, and a page of
-- all instances ordered by start. Each ends in id, the tie-breaker of every
-- ordering, so a page is read from the index in order instead of sorting
-- every matching row.
CREATE INDEX orchestrator_instances_di_process_state_start ON orchestrator_instances (process_id, state, started_at, id);
CREATE INDEX orchestrator_instances_di_process_start ON orchestrator_instances (process_id, started_at, id);
CREATE INDEX orchestrator_instances_di_start ON orchestrator_instances (started_at, id, process_id, state);
CREATE INDEX orchestrator_instances_di_root ON orchestrator_instances (root_id) WHERE root_id IS NOT NULL;
