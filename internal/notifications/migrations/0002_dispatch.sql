-- Sends whose processors (email, ...) have not finished. The row is written
-- in the transaction that stores the notifications and deleted when every
-- processor has taken them, so a crash in between is finished later by any
-- replica instead of losing the mail.
CREATE TABLE notifications_dispatch (
    id TEXT PRIMARY KEY,
    origin TEXT NOT NULL,
    request TEXT NOT NULL,
    stored_ids TEXT NOT NULL,
    skipped TEXT NOT NULL,
    created TIMESTAMPTZ NOT NULL,
    retry_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifications_dispatch_retry_at ON notifications_dispatch (retry_at);
