-- Workflow instances and everything needed to resume them on any replica:
-- the engine's journal (the source of truth), the waits that are open
-- (timers, event subscriptions, sub-flows), the event inbox, the outbox of
-- produced events and the audit log.

-- One row per instance, in the Data Index's terms. lease_owner is the
-- replica driving the instance right now; NULL when it only waits.
CREATE TABLE orchestrator_instances (
    id TEXT PRIMARY KEY,
    process_id TEXT NOT NULL,
    process_name TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    definition_hash TEXT NOT NULL,
    state TEXT NOT NULL,
    business_key TEXT NOT NULL DEFAULT '',
    parent_id TEXT,
    root_id TEXT,
    root_process_id TEXT,
    variables TEXT NOT NULL,
    current_state TEXT NOT NULL DEFAULT '',
    error_node_definition_id TEXT,
    error_node_instance_id TEXT,
    error_message TEXT,
    started_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    last_update TIMESTAMPTZ NOT NULL,
    lease_owner TEXT,
    lease_expiry TIMESTAMPTZ
);
CREATE INDEX orchestrator_instances_process ON orchestrator_instances (process_id, state);
CREATE INDEX orchestrator_instances_lease ON orchestrator_instances (lease_expiry) WHERE lease_owner IS NOT NULL;
CREATE INDEX orchestrator_instances_parent ON orchestrator_instances (parent_id) WHERE parent_id IS NOT NULL;

-- The engine's journal, append-only. pos is this table's own order; seq is
-- the engine's numbering. void marks entries a retrigger set aside.
CREATE TABLE orchestrator_journal (
    instance_id TEXT NOT NULL,
    pos BIGINT NOT NULL,
    seq BIGINT NOT NULL,
    kind TEXT NOT NULL,
    entry TEXT NOT NULL,
    void INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (instance_id, pos)
);

-- Open waits. A wait is deliverable when due_at has passed: timers get
-- their deadline, event and sub-flow waits get one when their event or
-- the sub-flow's end (kept in signal) arrives.
CREATE TABLE orchestrator_waits (
    instance_id TEXT NOT NULL,
    wait_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    due_at TIMESTAMPTZ,
    child_id TEXT,
    wait TEXT NOT NULL,
    signal TEXT,
    PRIMARY KEY (instance_id, wait_id)
);
CREATE INDEX orchestrator_waits_due ON orchestrator_waits (due_at) WHERE due_at IS NOT NULL;
CREATE INDEX orchestrator_waits_child ON orchestrator_waits (child_id) WHERE child_id IS NOT NULL;

-- Event subscriptions of open event waits, one row per accepted type.
CREATE TABLE orchestrator_event_waits (
    instance_id TEXT NOT NULL,
    wait_id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    PRIMARY KEY (instance_id, wait_id, event_type)
);
CREATE INDEX orchestrator_event_waits_type ON orchestrator_event_waits (event_type);

-- Events received (POST /). (source, id) identifies a CloudEvent, so a
-- duplicate is ignored. An event nobody waits for yet stays until
-- consumed_at is set or it expires.
CREATE TABLE orchestrator_events (
    source TEXT NOT NULL,
    id TEXT NOT NULL,
    type TEXT NOT NULL,
    event TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    consumed_at TIMESTAMPTZ,
    instance_id TEXT,
    PRIMARY KEY (source, id)
);
CREATE INDEX orchestrator_events_pending ON orchestrator_events (type) WHERE consumed_at IS NULL;

-- Produced events waiting to be sent to the sink.
CREATE TABLE orchestrator_outbox (
    id TEXT PRIMARY KEY,
    instance_id TEXT NOT NULL,
    event TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    sent_at TIMESTAMPTZ
);
CREATE INDEX orchestrator_outbox_pending ON orchestrator_outbox (next_attempt_at) WHERE sent_at IS NULL;

-- Who did what to which instance.
CREATE TABLE orchestrator_audit (
    id TEXT PRIMARY KEY,
    at TIMESTAMPTZ NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    process_id TEXT NOT NULL,
    instance_id TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT ''
);
CREATE INDEX orchestrator_audit_instance ON orchestrator_audit (instance_id);
