-- SQLite gets a partial index for facets here; PostgreSQL groups by
-- original value with a hash aggregate and needs none.
SELECT 1;
