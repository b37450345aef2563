-- One send gives all its users' notifications the same id, so that one
-- signal can announce it to many browsers; a notification is now (id, user).
ALTER TABLE notifications_notification DROP CONSTRAINT notifications_notification_pkey;
ALTER TABLE notifications_notification ADD PRIMARY KEY (id, user_ref);
