-- One send gives all its users' notifications the same id, so that one
-- signal can announce it to many browsers; a notification is now (id, user).
CREATE TABLE notifications_notification_new (
    id TEXT NOT NULL,
    user_ref TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT,
    severity TEXT NOT NULL,
    link TEXT,
    origin TEXT NOT NULL,
    scope TEXT,
    topic TEXT,
    icon TEXT,
    created TIMESTAMP NOT NULL,
    updated TIMESTAMP,
    read TIMESTAMP,
    saved TIMESTAMP,
    PRIMARY KEY (id, user_ref)
);
INSERT INTO notifications_notification_new (id, user_ref, title, description, severity, link, origin, scope, topic, icon, created, updated, read, saved)
SELECT id, user_ref, title, description, severity, link, origin, scope, topic, icon, created, updated, read, saved FROM notifications_notification;
DROP TABLE notifications_notification;
ALTER TABLE notifications_notification_new RENAME TO notifications_notification;
CREATE INDEX notifications_notification_user_created ON notifications_notification (user_ref, created);
CREATE INDEX notifications_notification_user_read ON notifications_notification (user_ref, read);
CREATE UNIQUE INDEX notifications_notification_scope ON notifications_notification (user_ref, origin, scope) WHERE scope IS NOT NULL;
CREATE INDEX notifications_notification_retention ON notifications_notification (created);
