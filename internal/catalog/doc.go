// Package catalog holds Portico's software catalog model: entities as
// Backstage defines them, entity references, the validation policies and
// kind schemas Backstage applies by default, the relations derived from
// well-known spec fields, and the processor and provider interfaces through
// which entities are checked and enriched.
//
// An entity goes through these steps, as in Backstage's processing:
//
//   - ParseYAML splits a file into documents; DecodeEntity checks the
//     envelope's shape (what Backstage's schema-valid policy checks) and
//     builds an Entity.
//   - Pipeline.Process runs the processors' PreProcessEntity, the policies
//     (DefaultPolicies: default namespace, no foreign root fields, field
//     formats from Validators), kind validation (the first KindValidator
//     that knows the kind decides) and PostProcessEntity, collecting what
//     processors emit in a Result.
//   - KindsProcessor implements kind validation and relation emission for
//     every kind of a Registry: Backstage's built-in kinds, each with a JSON
//     Schema of ours, and kinds registered from configuration (KindConfig)
//     with declarative RelationRules.
//
// The model, the Pipeline and the kinds read no files and know nothing of
// storage, so the CLI, POST /validate-entity and ingestion give the same
// verdicts. Validation problems are errs.Input errors wrapping a
// *ValidationError, so the HTTP layer answers 400 and tools can list each
// Problem with its field.
//
// Service is the catalog that runs in the server, shaped like Backstage's
// catalog backend but built to show changes within a second:
//
//   - Providers (catalog.locations, registered locations, others through
//     EntityProvider) store unprocessed entities in catalog_refresh_state,
//     each owned by a location key; the first owner keeps an entity and a
//     conflicting one is reported on the loser.
//   - The processing loop claims due entities in batches (FOR UPDATE SKIP
//     LOCKED on PostgreSQL), runs Ingestion.Process over them in parallel
//     (placeholders, policies, kinds, relations, reading the targets of
//     Location entities, catalog rules) and stores the results in one
//     transaction; a result identical to the last one writes nothing.
//     Errors keep the last good entity and show as status items.
//   - Stitching turns processed entities into final entities (relations in
//     both directions, orphan mark, status, uid, etag) stored as JSON text
//     that the API serves as is, plus catalog_search rows with Backstage's
//     search semantics for filters, ordering, facets and full-text search.
//   - Work queued by this replica wakes the loops at once; files of file
//     locations are polled for changes a few times a second; other
//     replicas' work is picked up within half a second.
//
// http.go serves Backstage's catalog REST API on top of Service.
package catalog
