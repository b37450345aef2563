// Package jsonordertest helps tests check the key order of JSON that
// Portico serves.
package jsonordertest

import (
	"slices"
	"testing"

	"github.com/portico-dev/portico/internal/jsonorder"
)

// KeysAt decodes raw with its key order and returns the keys of the
// object at path, whose elements are object keys (strings) and array
// indexes (ints). It fails the test when raw does not decode or path
// leads to no object.
func KeysAt(t testing.TB, raw []byte, path ...any) []string {
	t.Helper()
	v, err := jsonorder.Unmarshal(raw)
	if err != nil {
		t.Fatalf("decode %s: %v", raw, err)
	}
	for _, p := range path {
		switch p := p.(type) {
		case string:
			o, _ := v.(*jsonorder.Object)
			var ok bool
			if v, ok = o.Get(p); !ok {
				t.Fatalf("no %q on the way to %v in %s", p, path, raw)
			}
		case int:
			a, _ := v.([]any)
			if p < 0 || p >= len(a) {
				t.Fatalf("no item %d on the way to %v in %s", p, path, raw)
			}
			v = a[p]
		default:
			t.Fatalf("path element %v (%T): want a key or an index", p, p)
		}
	}
	o, ok := v.(*jsonorder.Object)
	if !ok {
		t.Fatalf("%v is not an object in %s", path, raw)
	}
	return slices.Clone(o.Keys())
}
