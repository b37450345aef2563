-- Relations no longer carry a foreign key to their originating entity: its
-- check looked the entity up for each of the ~10 relations an entity
-- emits. Deleting an entity deletes its relations itself.
ALTER TABLE catalog_relations DROP CONSTRAINT IF EXISTS catalog_relations_originating_entity_id_fkey;
