-- The key that seals the request headers an instance started with
-- (tokens forwarded to the services it calls), when
-- orchestrator.secretsKey is not configured.
CREATE TABLE orchestrator_keys (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
