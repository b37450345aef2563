-- Scheduled starts (start.schedule cron or interval): the next time each
-- scheduled workflow starts an instance. Replicas advance next_at with a
-- compare-and-set, so one of them starts each instance.
CREATE TABLE orchestrator_schedules (
    workflow_id TEXT PRIMARY KEY,
    definition_hash TEXT NOT NULL,
    next_at TIMESTAMPTZ
);
CREATE INDEX orchestrator_schedules_next ON orchestrator_schedules (next_at) WHERE next_at IS NOT NULL;
