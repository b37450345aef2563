package catalog

import (
	"database/sql"
	"fmt"
	"testing"
)

// Children beyond packAfter are kept compressed and come back whole, in
// order, in parts of chunkSize, as often as they are read.
func TestChildRowsRoundTrip(t *testing.T) {
	for _, n := range []int{0, 1, packAfter - 1, packAfter, 3*packAfter + 7} {
		c := &childRows{}
		for i := range n {
			key := sql.NullString{String: fmt.Sprintf("file:/catalog/part-%d.yaml", i/100), Valid: i%3 != 0}
			if err := c.add(deferredRow{ref: fmt.Sprintf("component:default/c-%d", i), json: []byte(fmt.Sprintf(`{"name":"c-%d","pad":"%0*d"}`, i, i%50, 0)), hash: "h", key: key}); err != nil {
				t.Fatal(err)
			}
		}
		if c.len() != n {
			t.Fatalf("len = %d, want %d", c.len(), n)
		}
		for round := range 2 {
			i := 0
			err := c.each(func(part []deferredRow) error {
				if len(part) == 0 || len(part) > chunkSize {
					t.Errorf("part of %d rows", len(part))
				}
				for _, r := range part {
					if want := fmt.Sprintf(`{"name":"c-%d","pad":"%0*d"}`, i, i%50, 0); string(r.json) != want || r.ref != fmt.Sprintf("component:default/c-%d", i) || r.key.Valid != (i%3 != 0) {
						t.Fatalf("n=%d round %d: row %d = %s %s %v", n, round, i, r.ref, r.json, r.key)
					}
					i++
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if i != n {
				t.Errorf("n=%d round %d: read %d rows", n, round, i)
			}
		}
		if n > 0 {
			if err := c.add(deferredRow{ref: "late"}); err == nil {
				t.Error("add after reading succeeded")
			}
		}
	}
}
