-- Search rows are keyed by a small integer per final entity (search_id)
-- instead of the entity's 36-character uuid, and the table is clustered by
-- (search_id, key, seq): at 100k entities the ~30 rows per entity made the
-- search table and its two indexes three quarters of the database, with
-- the uuid stored three times per row, and inserting them was most of a
-- bulk load's time. The clustered table answers the per-entity probes that
-- the (entity_id, key, value) index did, so one index is left.
-- original_value is NULL where it equals value (most rows: values that are
-- lower case already); facets read COALESCE(original_value, value).
DROP TRIGGER catalog_final_entities_delete_search;

CREATE TABLE catalog_final_entities_new (
    search_id INTEGER PRIMARY KEY,
    entity_id TEXT NOT NULL UNIQUE REFERENCES catalog_refresh_state (entity_id) ON DELETE CASCADE,
    entity_ref TEXT NOT NULL UNIQUE,
    hash TEXT NOT NULL,
    final_entity TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
INSERT INTO catalog_final_entities_new (entity_id, entity_ref, hash, final_entity, updated_at)
    SELECT entity_id, entity_ref, hash, final_entity, updated_at FROM catalog_final_entities ORDER BY entity_id;

CREATE TABLE catalog_search_new (
    search_id INTEGER NOT NULL,
    key TEXT NOT NULL,
    seq INTEGER NOT NULL,
    value TEXT,
    original_value TEXT,
    PRIMARY KEY (search_id, key, seq)
) WITHOUT ROWID;
INSERT INTO catalog_search_new (search_id, key, seq, value, original_value)
    SELECT f.search_id, s.key, row_number() OVER (PARTITION BY s.entity_id ORDER BY s.key, s.value), s.value,
        CASE WHEN s.original_value = s.value THEN NULL ELSE s.original_value END
    FROM catalog_search s JOIN catalog_final_entities_new f ON f.entity_id = s.entity_id;

DROP TABLE catalog_search;
DROP TABLE catalog_final_entities;
ALTER TABLE catalog_final_entities_new RENAME TO catalog_final_entities;
ALTER TABLE catalog_search_new RENAME TO catalog_search;
-- Filters by value, ordering by a field and facets read only this index.
CREATE INDEX catalog_search_key_value_id ON catalog_search (key, value, search_id, original_value);

CREATE TRIGGER catalog_final_entities_delete_search AFTER DELETE ON catalog_final_entities
BEGIN
    DELETE FROM catalog_search WHERE search_id = OLD.search_id;
END;
