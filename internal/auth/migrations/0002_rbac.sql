-- Roles and policies made through the RBAC REST API (the policy file and
-- the configuration are read, never stored). generation counts changes so
-- that every replica sees one within its next check.
CREATE TABLE rbac_roles (
    name TEXT PRIMARY KEY,
    description TEXT NOT NULL DEFAULT '',
    modified_by TEXT NOT NULL DEFAULT '',
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE rbac_role_members (
    role TEXT NOT NULL REFERENCES rbac_roles (name) ON DELETE CASCADE,
    member TEXT NOT NULL,
    PRIMARY KEY (role, member)
);
CREATE TABLE rbac_policies (
    role TEXT NOT NULL REFERENCES rbac_roles (name) ON DELETE CASCADE,
    permission TEXT NOT NULL,
    action TEXT NOT NULL,
    effect TEXT NOT NULL,
    PRIMARY KEY (role, permission, action)
);
CREATE TABLE rbac_generation (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    generation BIGINT NOT NULL
);
INSERT INTO rbac_generation (id, generation) VALUES (1, 0);
