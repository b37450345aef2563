package catalog

import (
	"context"
	"strings"
	"testing"
)

// staticProvider hands a fixed set of entities to the catalog, then a delta.
type staticProvider struct{ entities []*Entity }

func (p *staticProvider) Name() string { return "static" }

func (p *staticProvider) Connect(ctx context.Context, conn ProviderConnection) error {
	full := FullMutation{}
	for _, e := range p.entities {
		full.Entities = append(full.Entities, DeferredEntity{Entity: e, LocationKey: "static"})
	}
	if err := conn.ApplyMutation(ctx, full); err != nil {
		return err
	}
	return conn.ApplyMutation(ctx, DeltaMutation{Removed: []RemovedEntity{{EntityRef: p.entities[0].Ref().String()}}})
}

type recordingConnection struct{ mutations []Mutation }

func (c *recordingConnection) ApplyMutation(_ context.Context, m Mutation) error {
	if err := CheckMutation(m); err != nil {
		return err
	}
	c.mutations = append(c.mutations, m)
	return nil
}

func (c *recordingConnection) Refresh(context.Context, []string) error { return nil }

func annotated(name string) *Entity {
	return &Entity{APIVersion: APIVersionV1alpha1, Kind: "Group", Metadata: Metadata{Name: name, Annotations: map[string]string{
		AnnotationManagedByLocation:       "url:https://example.com/org.yaml",
		AnnotationManagedByOriginLocation: "url:https://example.com/org.yaml",
	}}}
}

func TestEntityProvider(t *testing.T) {
	var p EntityProvider = &staticProvider{entities: []*Entity{annotated("a"), annotated("b")}}
	conn := &recordingConnection{}
	if err := p.Connect(context.Background(), conn); err != nil {
		t.Fatal(err)
	}
	if len(conn.mutations) != 2 {
		t.Fatalf("got %d mutations", len(conn.mutations))
	}
	if full, ok := conn.mutations[0].(FullMutation); !ok || len(full.Entities) != 2 {
		t.Errorf("first mutation: %#v", conn.mutations[0])
	}
	if delta, ok := conn.mutations[1].(DeltaMutation); !ok || delta.Removed[0].EntityRef != "group:default/a" {
		t.Errorf("second mutation: %#v", conn.mutations[1])
	}
}

func TestCheckMutation(t *testing.T) {
	bare := &Entity{APIVersion: APIVersionV1alpha1, Kind: "Group", Metadata: Metadata{Name: "bare"}}
	err := CheckMutation(FullMutation{Entities: []DeferredEntity{{Entity: annotated("ok")}, {Entity: bare}, {}}})
	if err == nil {
		t.Fatal("want an error")
	}
	for _, want := range []string{
		"entities.1.metadata.annotations: entity group:default/bare does not have the annotation backstage.io/managed-by-location",
		"entities.1.metadata.annotations: entity group:default/bare does not have the annotation backstage.io/managed-by-origin-location",
		"entities.2: entity is missing",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if err := CheckMutation(DeltaMutation{Removed: []RemovedEntity{{}}}); err == nil || !strings.Contains(err.Error(), "removed.0: needs an entity or an entityRef") {
		t.Errorf("delta: %v", err)
	}
	if err := CheckMutation(DeltaMutation{Added: []DeferredEntity{{Entity: annotated("x")}}}); err != nil {
		t.Errorf("valid delta: %v", err)
	}
}
