-- A stitch queue row's generation moves on each time its entity is queued
-- again. SQLite's stitcher reads and builds a batch outside the one writer
-- and then removes only the rows whose generation is still the one it
-- read, so an entity that changed in between stays queued.
ALTER TABLE catalog_stitch_queue ADD COLUMN generation INTEGER NOT NULL DEFAULT 0;
