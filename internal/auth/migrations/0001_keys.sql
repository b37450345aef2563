-- Public halves of the keys that sign user tokens. Each server process signs
-- with its own private key, which never leaves its memory; publishing the
-- public key here lets every replica verify every other replica's tokens.
CREATE TABLE auth_keys (
    kid TEXT PRIMARY KEY,
    public_key TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
