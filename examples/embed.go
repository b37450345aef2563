// Package examples holds the example content that `portico serve` loads when
// it runs without configuration: an example software catalog.
package examples

import "embed"

// FS holds the examples; the catalog lives under catalog/.
//
//go:embed catalog
var FS embed.FS
