-- SQLite compares text in byte order already; its entity_ref index serves
-- lists without an order field. Nothing to change.
SELECT 1;
