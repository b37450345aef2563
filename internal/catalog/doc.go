// Package catalog holds Portico's software catalog model: entities as
// Backstage defines them, entity references, the validation policies and
// kind schemas Backstage applies by default, the relations derived from
// well-known spec fields, and the processor and provider interfaces through
// which entities are checked and enriched.
//
// The package is pure: it reads no files on its own (except schema files a
// caller asks it to load) and knows nothing of storage or HTTP. Storage-backed
// ingestion, stitching and the HTTP API build on Pipeline.Process.
package catalog
