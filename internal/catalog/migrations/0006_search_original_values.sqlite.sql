-- Facets count by the value as written. Grouping the (key, value) index's
-- rows streams, but reading original_value in every row to find the
-- groups where it differs cost as much again (35-60 ms for spec.type at
-- 100k entities). This partial index holds only the rows whose original
-- value differs from value (values with capitals, values too long to
-- match: a few per entity), so those groups are counted from it.
CREATE INDEX catalog_search_original ON catalog_search (key, value, original_value) WHERE original_value IS NOT NULL;
