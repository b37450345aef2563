-- Search rows no longer carry a foreign key: its check (a trigger that
-- locks the entity's row) ran for every one of the ~30 rows an entity has,
-- a large part of stitching's cost during a bulk load. Stitching replaces
-- an entity's rows itself, and the trigger removes the rows of a deleted
-- entity (also when the delete cascades from catalog_refresh_state).
DO $$
DECLARE
    c text;
BEGIN
    FOR c IN SELECT conname FROM pg_constraint WHERE conrelid = 'catalog_search'::regclass AND contype = 'f' LOOP
        EXECUTE format('ALTER TABLE catalog_search DROP CONSTRAINT %I', c);
    END LOOP;
END;
$$;

CREATE FUNCTION catalog_delete_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM catalog_search WHERE entity_id = OLD.entity_id;
    RETURN OLD;
END;
$$;
CREATE TRIGGER catalog_final_entities_delete_search AFTER DELETE ON catalog_final_entities
    FOR EACH ROW EXECUTE FUNCTION catalog_delete_search();
