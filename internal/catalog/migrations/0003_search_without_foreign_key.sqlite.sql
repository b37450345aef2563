-- Search rows no longer carry a foreign key: its check looked the entity up
-- for every one of the ~30 rows an entity has, a large part of stitching's
-- cost during a bulk load. Stitching replaces an entity's rows itself, and
-- the trigger removes the rows of a deleted entity (also when the delete
-- cascades from catalog_refresh_state). SQLite cannot drop a constraint, so
-- the table is rebuilt.
CREATE TABLE catalog_search_new (
    entity_id TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT,
    original_value TEXT
);
INSERT INTO catalog_search_new (entity_id, key, value, original_value)
    SELECT entity_id, key, value, original_value FROM catalog_search;
DROP TABLE catalog_search;
ALTER TABLE catalog_search_new RENAME TO catalog_search;
CREATE INDEX catalog_search_key_value_id ON catalog_search (key, value, entity_id, original_value);
CREATE INDEX catalog_search_entity_key ON catalog_search (entity_id, key, value);

CREATE TRIGGER catalog_final_entities_delete_search AFTER DELETE ON catalog_final_entities
BEGIN
    DELETE FROM catalog_search WHERE entity_id = OLD.entity_id;
END;
