-- Relations no longer carry a foreign key to their originating entity: its
-- check looked the entity up for each of the ~10 relations an entity
-- emits (a million lookups in a 100k-entity load). Deleting an entity
-- deletes its relations itself. The table is clustered by source, which
-- is how stitching reads it, so the rowid table and its source index
-- become one b-tree. An entity's relations are a set, so the four columns
-- are unique.
CREATE TABLE catalog_relations_new (
    originating_entity_id TEXT NOT NULL,
    source_entity_ref TEXT NOT NULL,
    type TEXT NOT NULL,
    target_entity_ref TEXT NOT NULL,
    PRIMARY KEY (source_entity_ref, type, target_entity_ref, originating_entity_id)
) WITHOUT ROWID;
INSERT OR IGNORE INTO catalog_relations_new (originating_entity_id, source_entity_ref, type, target_entity_ref)
    SELECT r.originating_entity_id, r.source_entity_ref, r.type, r.target_entity_ref FROM catalog_relations r
    WHERE EXISTS (SELECT 1 FROM catalog_refresh_state s WHERE s.entity_id = r.originating_entity_id);
DROP TABLE catalog_relations;
ALTER TABLE catalog_relations_new RENAME TO catalog_relations;
CREATE INDEX catalog_relations_originating ON catalog_relations (originating_entity_id);
