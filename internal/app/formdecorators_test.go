package app

import (
	"maps"
	"testing"

	"github.com/portico-dev/portico/internal/scaffolder"
)

// The server's half of portico:initiator: it fills the field with the
// user creating the task, keeps what the person entered unless told to
// overwrite, and leaves service callers' values alone.
func TestInitiatorDecorator(t *testing.T) {
	d := initiatorDecorator()
	for _, tc := range []struct {
		name   string
		input  map[string]any
		user   string
		values map[string]any
		want   map[string]any
	}{
		{"default field", map[string]any{}, "user:default/ana", map[string]any{"name": "x"}, map[string]any{"name": "x", "requestedBy": "user:default/ana"}},
		{"named field", map[string]any{"field": "owner"}, "user:default/ana", map[string]any{}, map[string]any{"owner": "user:default/ana"}},
		{"keeps an entered value", map[string]any{"field": "owner"}, "user:default/ana", map[string]any{"owner": "group:default/a"}, map[string]any{"owner": "group:default/a"}},
		{"overwrites when told", map[string]any{"field": "owner", "overwrite": true}, "user:default/ana", map[string]any{"owner": "group:default/a"}, map[string]any{"owner": "user:default/ana"}},
		{"service caller", map[string]any{}, "", map[string]any{"name": "x"}, map[string]any{"name": "x"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dc := &scaffolder.DecoratorContext{Input: tc.input, Values: tc.values, Secrets: map[string]string{}, User: tc.user}
			if err := d.Decorate(t.Context(), dc); err != nil {
				t.Fatal(err)
			}
			if !maps.Equal(dc.Values, tc.want) {
				t.Fatalf("values = %v, want %v", dc.Values, tc.want)
			}
		})
	}
}
