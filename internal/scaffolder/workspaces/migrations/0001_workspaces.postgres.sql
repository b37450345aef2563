-- A task's serialized workspace: an uncompressed tar of its directory,
-- replaced after every step and checkpoint, removed when the task completes.
CREATE TABLE scaffolder_task_workspaces (
    task_id    TEXT PRIMARY KEY,
    workspace  BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
