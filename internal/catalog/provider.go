package catalog

import (
	"context"
	"strconv"

	"github.com/portico-dev/portico/internal/errs"
)

// Annotations every entity handed to the catalog by a provider carries: the
// location it was read from and the root location that led to it.
const (
	AnnotationManagedByLocation       = "backstage.io/managed-by-location"
	AnnotationManagedByOriginLocation = "backstage.io/managed-by-origin-location"
	AnnotationSourceLocation          = "backstage.io/source-location"
	AnnotationViewURL                 = "backstage.io/view-url"
	AnnotationEditURL                 = "backstage.io/edit-url"
	AnnotationOrphan                  = "backstage.io/orphan"
)

// EntityProvider feeds entities into the catalog from some source (config
// locations, registered locations, workflows, an external system). Connect
// is called once at startup; the provider then applies mutations whenever
// its source changes, for as long as ctx lives.
type EntityProvider interface {
	Name() string
	Connect(ctx context.Context, conn ProviderConnection) error
}

// ProviderConnection is the catalog's side of a provider's connection.
type ProviderConnection interface {
	// ApplyMutation replaces (FullMutation) or changes (DeltaMutation) the
	// provider's set of entities.
	ApplyMutation(ctx context.Context, m Mutation) error
	// Refresh schedules the entities that registered any of keys (see
	// Emitter.EmitRefresh) for processing now.
	Refresh(ctx context.Context, keys []string) error
}

// Mutation is a FullMutation or a DeltaMutation.
type Mutation interface {
	mutation()
}

// DeferredEntity is an entity a provider hands over, not yet processed.
// LocationKey, when set, identifies the source that owns the entity; an
// entity already owned under another key is not taken over (a conflict).
type DeferredEntity struct {
	Entity      *Entity
	LocationKey string
}

// FullMutation states the provider's complete set of entities: entities it
// provided before and no longer lists are removed.
type FullMutation struct {
	Entities []DeferredEntity
}

// DeltaMutation adds or updates some entities and removes others.
type DeltaMutation struct {
	Added   []DeferredEntity
	Removed []RemovedEntity
}

// RemovedEntity names an entity a provider no longer provides, by entity or
// by reference.
type RemovedEntity struct {
	// Entity or EntityRef must be set; EntityRef is in Ref.String form.
	Entity      *Entity
	EntityRef   string
	LocationKey string
}

func (FullMutation) mutation()  {}
func (DeltaMutation) mutation() {}

// CheckMutation checks what the catalog requires of a provider's entities
// before it accepts a mutation: a valid envelope and both location
// annotations. It reports every problem, with the index of the entity.
func CheckMutation(m Mutation) error {
	var ps problems
	checkAll := func(list string, des []DeferredEntity) {
		for i, d := range des {
			field := list + "." + strconv.Itoa(i)
			if d.Entity == nil {
				ps.add(field, "entity is missing")
				continue
			}
			if err := SchemaValidPolicy(d.Entity); err != nil {
				for _, p := range Problems(err) {
					ps.add(joinField(field, p.Field), "%s", p.Message)
				}
			}
			for _, a := range []string{AnnotationManagedByLocation, AnnotationManagedByOriginLocation} {
				if d.Entity.Metadata.Annotations[a] == "" {
					ps.add(field+".metadata.annotations", "entity %s does not have the annotation %s", d.Entity.Ref(), a)
				}
			}
		}
	}
	switch m := m.(type) {
	case FullMutation:
		checkAll("entities", m.Entities)
	case DeltaMutation:
		checkAll("added", m.Added)
		for i, r := range m.Removed {
			if r.Entity == nil && r.EntityRef == "" {
				ps.add("removed."+strconv.Itoa(i), "needs an entity or an entityRef")
			}
		}
	default:
		return errs.InputErrorf("unknown mutation type %T", m)
	}
	return ps.err()
}
