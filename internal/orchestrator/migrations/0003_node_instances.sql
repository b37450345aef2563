-- Node instances as the Data Index shows them (start and end nodes, one per
-- state visit, one per action call), kept in step with the journal so that
-- listing them is one query.
CREATE TABLE orchestrator_node_instances (
    instance_id TEXT NOT NULL,
    id TEXT NOT NULL,
    definition_id TEXT NOT NULL,
    name TEXT NOT NULL,
    type TEXT NOT NULL,
    enter TIMESTAMPTZ NOT NULL,
    exit TIMESTAMPTZ,
    error_message TEXT,
    PRIMARY KEY (instance_id, id)
);
