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
// The package is pure: it reads no files on its own (except schema files a
// caller asks it to load) and knows nothing of storage or HTTP. Validation
// problems are errs.Input errors wrapping a *ValidationError, so the HTTP
// layer answers 400 and tools can list each Problem with its field.
package catalog
