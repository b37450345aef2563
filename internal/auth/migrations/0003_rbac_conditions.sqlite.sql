-- Conditional policies made through the RBAC REST API.
CREATE TABLE rbac_conditions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    role TEXT NOT NULL,
    plugin_id TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    permission_mapping TEXT NOT NULL,
    conditions TEXT NOT NULL
);
