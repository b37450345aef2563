-- Lists without an order field are ordered by entity_ref in byte order (as
-- on SQLite), whatever the database's collation: this index serves that
-- order and the ref range a kind filter implies, so a page of Components
-- starts at the first Component instead of probing every API before it
-- (570 ms at 100k entities).
CREATE INDEX catalog_final_entities_entity_ref_c ON catalog_final_entities ((entity_ref COLLATE "C"));
