-- Notifications for one user each, broadcasts for everyone with each user's
-- read/saved state beside them, user settings, and the email outbox.

CREATE TABLE notifications_notification (
    id TEXT PRIMARY KEY,
    user_ref TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    severity TEXT NOT NULL,
    link TEXT,
    origin TEXT NOT NULL,
    scope TEXT,
    topic TEXT,
    icon TEXT,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ,
    read TIMESTAMPTZ,
    saved TIMESTAMPTZ
);
-- Lists are read newest first per user; status counts read the read column
-- from the index alone.
CREATE INDEX notifications_notification_user_created ON notifications_notification (user_ref, created);
CREATE INDEX notifications_notification_user_read ON notifications_notification (user_ref, read);
-- A scope is unique per user and origin, so a repeated scope updates the
-- row in place (INSERT ... ON CONFLICT).
CREATE UNIQUE INDEX notifications_notification_scope ON notifications_notification (user_ref, origin, scope) WHERE scope IS NOT NULL;
CREATE INDEX notifications_notification_retention ON notifications_notification (created);

CREATE TABLE notifications_broadcast (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT,
    severity TEXT NOT NULL,
    link TEXT,
    origin TEXT NOT NULL,
    scope TEXT,
    topic TEXT,
    icon TEXT,
    created TIMESTAMPTZ NOT NULL,
    updated TIMESTAMPTZ
);
CREATE INDEX notifications_broadcast_created ON notifications_broadcast (created);
CREATE UNIQUE INDEX notifications_broadcast_scope ON notifications_broadcast (origin, scope) WHERE scope IS NOT NULL;

CREATE TABLE notifications_broadcast_user_status (
    broadcast_id TEXT NOT NULL REFERENCES notifications_broadcast (id) ON DELETE CASCADE,
    user_ref TEXT NOT NULL,
    read TIMESTAMPTZ,
    saved TIMESTAMPTZ,
    PRIMARY KEY (broadcast_id, user_ref)
);
CREATE INDEX notifications_broadcast_user_status_user ON notifications_broadcast_user_status (user_ref);

-- A user's settings as one JSON document (channels -> origins -> topics).
CREATE TABLE notifications_user_settings (
    user_ref TEXT PRIMARY KEY,
    settings TEXT NOT NULL,
    updated TIMESTAMPTZ NOT NULL
);

-- Mail waiting to be sent. A row is rendered once, when the notification is
-- processed, so it needs nothing else to be delivered; (dedupe_key, address)
-- is unique so one revision of a notification is queued once per address.
CREATE TABLE notifications_email_outbox (
    id TEXT PRIMARY KEY,
    dedupe_key TEXT NOT NULL,
    address TEXT NOT NULL,
    sender TEXT NOT NULL,
    reply_to TEXT NOT NULL DEFAULT '',
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    sent_at TIMESTAMPTZ,
    UNIQUE (dedupe_key, address)
);
CREATE INDEX notifications_email_outbox_due ON notifications_email_outbox (status, next_attempt_at);
