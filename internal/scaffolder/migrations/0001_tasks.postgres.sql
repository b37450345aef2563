-- Tasks, their event log, and the key that seals task secrets at rest.
-- run_id fences a claim: every write of a running task names the run that
-- claimed it, so a replica whose task was recovered elsewhere stops writing.
CREATE TABLE scaffolder_tasks (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    last_heartbeat_at TIMESTAMPTZ,
    created_by TEXT,
    secrets TEXT,
    state TEXT,
    run_id TEXT,
    cancel_requested BOOLEAN NOT NULL DEFAULT FALSE
);
-- Claims take the oldest open task; recovery and the janitor scan
-- processing tasks by heartbeat.
CREATE INDEX scaffolder_tasks_status_created ON scaffolder_tasks (status, created_at);
CREATE INDEX scaffolder_tasks_created_by ON scaffolder_tasks (created_by, created_at);

CREATE TABLE scaffolder_task_events (
    id BIGSERIAL PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES scaffolder_tasks (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    event_type TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX scaffolder_task_events_task ON scaffolder_task_events (task_id, id);

-- One generated key per database unless scaffolder.secretsKey is set; every
-- replica reads the same row.
CREATE TABLE scaffolder_keys (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
