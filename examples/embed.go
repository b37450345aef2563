// Package examples holds the example content that `portico serve` loads when
// it runs without configuration: an example software catalog, example
// workflows and example software templates.
package examples

import "embed"

// FS holds the examples; the catalog lives under catalog/, the workflows
// under workflows/, the software templates under templates/.
//
//go:embed catalog workflows templates
var FS embed.FS
