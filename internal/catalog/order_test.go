package catalog

import (
	"reflect"
	"testing"
)

// TestOrderFromJSON checks the key order read from stored JSON: objects in
// the order written, nested in objects and arrays, escaped keys decoded,
// and nothing for what is not JSON.
func TestOrderFromJSON(t *testing.T) {
	obj := func(keys []string, fields map[string]*keyOrder) *keyOrder {
		if fields == nil {
			fields = map[string]*keyOrder{}
		}
		return &keyOrder{keys: keys, fields: fields}
	}
	for _, tc := range []struct {
		name, in string
		want     *keyOrder
	}{
		{"scalar", `"x"`, nil},
		{"number", ` 12.5e3 `, nil},
		{"empty object", `{}`, obj(nil, nil)},
		{"keys in written order", `{"b":1,"a":true,"c":null}`, obj([]string{"b", "a", "c"}, nil)},
		{"nested", `{ "z" : { "y" : [1, {"q":"}","p":"\"{"}], "x": [] }, "a": "b" }`,
			obj([]string{"z", "a"}, map[string]*keyOrder{
				"z": obj([]string{"y", "x"}, map[string]*keyOrder{
					"y": {items: []*keyOrder{nil, obj([]string{"q", "p"}, nil)}},
				}),
			})},
		{"escaped key", `{"a\u0062":1,"c\"d":2}`, obj([]string{"ab", `c"d`}, nil)},
		{"truncated", `{"a":1`, nil},
		{"not JSON", `{a:1}`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := orderFromJSON([]byte(tc.in)); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("orderFromJSON(%s) = %+v, want %+v", tc.in, got, tc.want)
			}
		})
	}
}
