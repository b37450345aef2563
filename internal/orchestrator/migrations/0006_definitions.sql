-- Every version of a workflow definition that started an instance, with
-- the files it was loaded from, so that an instance finishes on the
-- version it started with even after its file changed and the process
-- restarted.
CREATE TABLE orchestrator_definitions (
    hash TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    file TEXT NOT NULL,
    files TEXT NOT NULL,
    saved_at TIMESTAMPTZ NOT NULL
);
