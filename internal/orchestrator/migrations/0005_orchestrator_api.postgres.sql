-- Indexes for the orchestrator v2 API: a caller without instanceAdminView
-- lists the instances they started (variables.initiatorEntity), newest
-- first; an entity's page lists the workflows run for it and their last
-- run (variables.targetEntity). The expressions are the ones the queries
-- use, so the planner matches them.
CREATE INDEX orchestrator_instances_api_initiator ON orchestrator_instances ((variables::jsonb #>> '{initiatorEntity}'), started_at, id);
CREATE INDEX orchestrator_instances_api_target ON orchestrator_instances ((variables::jsonb #>> '{targetEntity}'), process_id, started_at);
