// Package examples holds the example content that `portico serve` loads when
// it runs without configuration: an example software catalog and example
// workflows.
package examples

import "embed"

// FS holds the examples; the catalog lives under catalog/, the workflows
// under workflows/.
//
//go:embed catalog workflows
var FS embed.FS
