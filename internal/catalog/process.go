package catalog

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// APIVersionV1alpha1 entities are what generated Location entities use.
const locationKind = "Location"

// Outcome is the result of processing one stored entity: the processed
// entity, or the errors that kept it from being processed, plus what the
// processors emitted.
type Outcome struct {
	// Entity is nil when processing failed; Errors says why.
	Entity      *Entity
	Children    []DeferredChild
	Relations   []RelationSpec
	RefreshKeys []string
	Errors      []error
	// Warnings are problems that do not fail processing (a child another
	// location already owns).
	Warnings []error
}

// DeferredChild is an entity emitted while processing another, to be stored
// and processed in its turn.
type DeferredChild struct {
	Entity *Entity
	// LocationKey is the key of the source that owns the child; nil for
	// none (any source may take it over).
	LocationKey *string
}

// Ingestion is the processing of one entity as the catalog does it when it
// ingests: the Pipeline, then reading the targets of Location entities,
// then the checks on emitted entities (annotations, duplicates, catalog
// rules). It reads sources but stores nothing.
type Ingestion struct {
	Pipeline *Pipeline
	Sources  *Sources
	Rules    *Rules
	// AllowedLocationTypes are the types a Location entity may point at
	// besides its own location's type (Backstage: url only).
	AllowedLocationTypes []string
}

// GeneratedLocationName is the name of the Location entity the catalog
// makes for a location: generated-<sha1 of type:target>.
func GeneratedLocationName(l LocationSpec) string {
	sum := sha1.Sum([]byte(l.Type + ":" + l.Target))
	return "generated-" + hex.EncodeToString(sum[:])
}

// LocationEntity returns the Location entity that stands for a location of
// the given source: it is managed by, and originates from, the location
// itself.
func LocationEntity(l LocationSpec) *Entity {
	spec := map[string]any{"type": l.Type, "target": l.Target}
	if l.Presence != "" {
		spec["presence"] = l.Presence
	}
	return &Entity{
		APIVersion: APIVersionV1alpha1,
		Kind:       locationKind,
		Metadata: Metadata{
			Name:      GeneratedLocationName(l),
			Namespace: DefaultNamespace,
			Annotations: map[string]string{
				AnnotationManagedByLocation:       l.String(),
				AnnotationManagedByOriginLocation: l.String(),
			},
		},
		Spec: spec,
	}
}

// Process processes one entity that carries both location annotations.
func (in *Ingestion) Process(ctx context.Context, e *Entity) *Outcome {
	return in.process(ctx, e, nil)
}

// process is Process; with onChild, each child goes to onChild as soon as
// it is read (before processing has finished, so the caller must drop them
// when the outcome has errors) instead of into Outcome.Children. A glob of
// 100k entities then never has them all in memory as entities.
func (in *Ingestion) process(ctx context.Context, e *Entity, onChild func(DeferredChild)) *Outcome {
	out := &Outcome{}
	loc, origin, err := entityLocations(e)
	if err != nil {
		out.Errors = append(out.Errors, err)
		return out
	}
	res := in.Pipeline.Process(ctx, e, loc)
	if res.OK() {
		self := res.Entity.Ref().String()
		seen := map[string]LocationSpec{}
		take := func(c EmittedEntity) {
			if child, ok := in.acceptChild(c, self, origin, seen, out); ok {
				if onChild != nil {
					onChild(child)
				} else {
					out.Children = append(out.Children, child)
				}
			}
		}
		// Entities the pipeline's processors emitted come first, as before.
		for _, c := range res.Entities {
			take(c)
		}
		res.Entities = nil
		if strings.EqualFold(res.Entity.Kind, locationKind) {
			res.sink = take
			in.readTargets(ctx, res.Entity, loc, res)
			res.sink = nil
		}
	}
	for _, ee := range res.Errors {
		out.Errors = append(out.Errors, ee.Err)
	}
	if !res.OK() || len(out.Errors) > 0 {
		out.Children = nil
		return out
	}
	for _, l := range res.Locations {
		child := LocationEntity(l)
		child.Metadata.Annotations[AnnotationManagedByLocation] = loc.String()
		child.Metadata.Annotations[AnnotationManagedByOriginLocation] = origin.String()
		key := loc.String()
		out.Children = append(out.Children, DeferredChild{Entity: child, LocationKey: &key})
	}
	if len(out.Errors) > 0 {
		return out
	}
	out.Entity = res.Entity
	out.Relations = res.Relations
	out.RefreshKeys = res.RefreshKeys
	return out
}

// acceptChild checks and annotates an emitted entity: duplicates within
// one parent, the parent itself and kinds the catalog rules do not allow
// are recorded as errors in out and refused.
func (in *Ingestion) acceptChild(c EmittedEntity, self string, origin LocationSpec, seen map[string]LocationSpec, out *Outcome) (DeferredChild, bool) {
	// Emitted entities belong to the result (readers make them for it), so
	// they are annotated in place: a copy of 100k children costs hundreds
	// of megabytes.
	child := c.Entity
	ref := child.Ref().String()
	if ref == self {
		return DeferredChild{}, false
	}
	if prev, dup := seen[ref]; dup {
		out.Errors = append(out.Errors, errs.Conflictf("duplicate entity %s: %s and %s both define it", ref, prev, c.Location))
		return DeferredChild{}, false
	}
	// The spec, not its string: its fields share memory with the other
	// children of the file, where a string would be a copy per child.
	seen[ref] = c.Location
	if child.Metadata.Annotations == nil {
		child.Metadata.Annotations = map[string]string{}
	}
	child.Metadata.Annotations[AnnotationManagedByLocation] = c.Location.String()
	child.Metadata.Annotations[AnnotationManagedByOriginLocation] = origin.String()
	if in.Rules != nil && !in.Rules.Allowed(child, origin) {
		out.Errors = append(out.Errors, errs.NotAllowedf("entity %s at %s, originated at %s, is not of an allowed kind for that location; allow it with catalog.rules or the location's rules", ref, c.Location, origin))
		return DeferredChild{}, false
	}
	key := c.Location.String()
	if c.LocationKey != nil {
		key = *c.LocationKey
	}
	return DeferredChild{Entity: child, LocationKey: &key}, true
}

func entityLocations(e *Entity) (loc, origin LocationSpec, err error) {
	for _, a := range []string{AnnotationManagedByLocation, AnnotationManagedByOriginLocation} {
		if e.Metadata.Annotations[a] == "" {
			return loc, origin, errs.InputErrorf("entity %s does not have the annotation %s", e.Ref(), a)
		}
	}
	if loc, err = ParseLocationRef(e.Metadata.Annotations[AnnotationManagedByLocation]); err != nil {
		return loc, origin, err
	}
	origin, err = ParseLocationRef(e.Metadata.Annotations[AnnotationManagedByOriginLocation])
	return loc, origin, err
}

// readTargets reads what a Location entity points at (spec.target and
// spec.targets), relative to its own location.
func (in *Ingestion) readTargets(ctx context.Context, e *Entity, loc LocationSpec, res *Result) {
	typ, _ := e.Spec["type"].(string)
	if typ == "" {
		typ = loc.Type
	}
	var targets []string
	if t, ok := e.Spec["target"].(string); ok && t != "" {
		targets = append(targets, t)
	}
	if ts, ok := e.Spec["targets"].([]any); ok {
		for _, t := range ts {
			if s, ok := t.(string); ok && s != "" {
				targets = append(targets, s)
			}
		}
	}
	optional := e.Spec["presence"] == "optional"
	for _, target := range targets {
		if typ != loc.Type && !slices.Contains(in.AllowedLocationTypes, typ) {
			res.EmitError(loc, errs.InputErrorf("location %s points at %s:%s; locations may only point at their own type (%s) or one of [%s]", loc, typ, target, loc.Type, strings.Join(in.AllowedLocationTypes, ", ")))
			continue
		}
		if typ == "file" && strings.HasSuffix(target, string(filepath.Separator)) {
			res.EmitError(loc, errs.InputErrorf("location target %s:%s is a directory; name the files, e.g. with a glob such as %s*.yaml", typ, target, target))
			continue
		}
		spec := LocationSpec{Type: typ, Target: target}
		// Like Backstage, only URLs and paths starting with "." are relative
		// to the Location entity's own location.
		if typ == loc.Type && (typ == "url" || strings.HasPrefix(target, ".")) {
			resolved, err := in.Sources.Resolve(loc, target)
			if err != nil {
				res.EmitError(loc, err)
				continue
			}
			spec = resolved
		}
		handled := false
		for _, p := range in.Pipeline.Processors() {
			r, ok := p.(LocationReader)
			if !ok {
				continue
			}
			ok, err := r.ReadLocation(ctx, spec, optional, res)
			if err != nil {
				res.EmitError(spec, fmt.Errorf("%s: %w", r.Name(), err))
			}
			if ok {
				handled = true
				break
			}
		}
		if !handled {
			res.EmitError(loc, errs.InputErrorf("no processor was able to handle reading of %s", spec))
		}
	}
}
