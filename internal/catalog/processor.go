package catalog

import (
	"cmp"
	"context"
	"fmt"
	"slices"

	"github.com/portico-dev/portico/internal/errs"
)

// Processor is a step of entity processing, as Backstage's CatalogProcessor.
// A processor implements any of PreProcessor, KindValidator, PostProcessor
// and LocationReader; Name identifies it in logs and configuration.
type Processor interface {
	Name() string
}

// PreProcessor runs before the policies, e.g. to fill in fields or resolve
// placeholders. It returns the entity to continue with. The pipeline hands
// processors its private copy of the entity, so they may change it in place.
type PreProcessor interface {
	Processor
	PreProcessEntity(ctx context.Context, e *Entity, location LocationSpec, emit Emitter) (*Entity, error)
}

// KindValidator decides whether an entity is of a kind the processor knows:
// (true, nil) known and valid, (false, nil) unknown to this processor,
// (true, err) known but invalid. An entity must be known to at least one
// processor.
type KindValidator interface {
	Processor
	ValidateEntityKind(ctx context.Context, e *Entity) (bool, error)
}

// PostProcessor runs after kind validation, typically to emit relations
// and child entities. It returns the entity to continue with.
type PostProcessor interface {
	Processor
	PostProcessEntity(ctx context.Context, e *Entity, location LocationSpec, emit Emitter) (*Entity, error)
}

// LocationReader reads entities from a location (a Location entity's
// targets). It reports whether it handled the location's type; optional is
// true when a missing target is not an error.
type LocationReader interface {
	Processor
	ReadLocation(ctx context.Context, location LocationSpec, optional bool, emit Emitter) (bool, error)
}

// Prioritized processors run in ascending priority; others count as
// DefaultPriority. Processors of equal priority keep their given order.
type Prioritized interface {
	Priority() int
}

// DefaultPriority is the priority of processors that do not state one.
const DefaultPriority = 20

// Emitter receives what processors produce besides the entity itself.
type Emitter interface {
	// EmitEntity emits a child entity read from location. locationKey
	// decides which source owns the entity when several claim it; nil means
	// the location's reference.
	EmitEntity(location LocationSpec, e *Entity, locationKey *string)
	// EmitLocation emits a location to be read later (it becomes a
	// Location entity).
	EmitLocation(location LocationSpec)
	// EmitRelation emits a relation between two entities.
	EmitRelation(r RelationSpec)
	// EmitError reports a problem with the entity or a location; the
	// processing result is then not OK.
	EmitError(location LocationSpec, err error)
	// EmitRefresh registers a key that, when refreshed, reprocesses the
	// entity (e.g. "url:https://…/catalog-info.yaml").
	EmitRefresh(key string)
}

// RelationSpec is an emitted relation from Source to Target.
type RelationSpec struct {
	Source Ref
	Type   string
	Target Ref
}

// EmittedEntity is a child entity emitted during processing.
type EmittedEntity struct {
	Location    LocationSpec
	Entity      *Entity
	LocationKey *string
}

// EmittedError is an error emitted during processing, with the location it
// concerns.
type EmittedError struct {
	Location LocationSpec
	Err      error
}

// Result is the outcome of processing one entity. It implements Emitter, so
// processors emit straight into it.
type Result struct {
	// Entity is the processed entity; nil when processing failed.
	Entity      *Entity
	Entities    []EmittedEntity
	Locations   []LocationSpec
	Relations   []RelationSpec
	Errors      []EmittedError
	RefreshKeys []string
	// sink, when set, takes emitted entities instead of Entities, so a
	// location with many entities need not hold them all at once.
	sink func(EmittedEntity)
}

// OK reports whether processing succeeded.
func (r *Result) OK() bool { return r.Entity != nil && len(r.Errors) == 0 }

// Err joins the result's errors into one, or returns nil.
func (r *Result) Err() error {
	if len(r.Errors) == 0 {
		return nil
	}
	if len(r.Errors) == 1 {
		return r.Errors[0].Err
	}
	var all []Problem
	for _, e := range r.Errors {
		all = append(all, Problems(e.Err)...)
	}
	return problems(all).err()
}

// EmitEntity records a child entity.
func (r *Result) EmitEntity(location LocationSpec, e *Entity, locationKey *string) {
	if r.sink != nil {
		r.sink(EmittedEntity{Location: location, Entity: e, LocationKey: locationKey})
		return
	}
	r.Entities = append(r.Entities, EmittedEntity{Location: location, Entity: e, LocationKey: locationKey})
}

// EmitLocation records a location.
func (r *Result) EmitLocation(location LocationSpec) { r.Locations = append(r.Locations, location) }

// EmitRelation records a relation.
func (r *Result) EmitRelation(rel RelationSpec) { r.Relations = append(r.Relations, rel) }

// EmitError records an error.
func (r *Result) EmitError(location LocationSpec, err error) {
	r.Errors = append(r.Errors, EmittedError{Location: location, Err: err})
}

// EmitRefresh records a refresh key.
func (r *Result) EmitRefresh(key string) { r.RefreshKeys = append(r.RefreshKeys, key) }

// Pipeline is the pure part of processing one entity: pre-process, policies,
// kind validation, post-process. It reads nothing and stores nothing, so the
// API's entity validation, the CLI and the storage-backed processing loop all
// give the same verdicts.
type Pipeline struct {
	processors []Processor
	policy     Policy
}

// NewPipeline returns a pipeline that enforces policy and runs processors
// in priority order.
func NewPipeline(policy Policy, processors ...Processor) *Pipeline {
	ps := slices.Clone(processors)
	slices.SortStableFunc(ps, func(a, b Processor) int { return cmp.Compare(priority(a), priority(b)) })
	return &Pipeline{processors: ps, policy: policy}
}

func priority(p Processor) int {
	if pp, ok := p.(Prioritized); ok {
		return pp.Priority()
	}
	return DefaultPriority
}

// Processors returns the pipeline's processors in the order they run.
func (p *Pipeline) Processors() []Processor { return slices.Clone(p.processors) }

// Process runs the pipeline over a copy of e (e itself is not changed) and
// returns the result. Processing stops at the first step that fails: a
// failed pre-processor, policy or kind validation leaves Result.Entity nil.
// When a policy fails, the kind's own findings are added to its error.
func (p *Pipeline) Process(ctx context.Context, e *Entity, location LocationSpec) *Result {
	res := &Result{}
	ent := e.Clone()
	origRef := ent.Ref()

	for _, proc := range p.processors {
		pre, ok := proc.(PreProcessor)
		if !ok {
			continue
		}
		next, err := pre.PreProcessEntity(ctx, ent, location, res)
		if err != nil {
			res.EmitError(location, processorError(proc, "pre-processing", err))
			return res
		}
		ent = next
	}

	if p.policy != nil {
		if err := p.policy.Enforce(ent); err != nil {
			// Backstage stops here; we also report what the kind's schema
			// finds, so one run shows the author every problem. The verdict
			// is the same.
			if errs.KindOf(err) == errs.Input {
				all := Problems(err)
				for _, proc := range p.processors {
					if kv, ok := proc.(KindValidator); ok {
						if known, kerr := kv.ValidateEntityKind(ctx, ent); known {
							if kerr != nil {
								all = append(all, Problems(kerr)...)
							}
							break
						}
					}
				}
				err = problems(all).err()
			}
			res.EmitError(location, err)
			return res
		}
	}

	if !ent.Ref().Equal(origRef) {
		res.EmitError(location, errs.Conflictf("the entity's kind, namespace or name changed during processing, from %s to %s", origRef, ent.Ref()))
		return res
	}

	known := false
	for _, proc := range p.processors {
		kv, ok := proc.(KindValidator)
		if !ok {
			continue
		}
		ok, err := kv.ValidateEntityKind(ctx, ent)
		if err != nil {
			res.EmitError(location, err)
			return res
		}
		if ok {
			known = true
			break
		}
	}
	if !known {
		msg := fmt.Sprintf("no processor recognized %s %q as valid, possibly caused by a foreign kind or apiVersion", ent.APIVersion, ent.Kind)
		for _, proc := range p.processors {
			if h, ok := proc.(kindHinter); ok {
				msg += ": " + h.kindHint(ent)
				break
			}
		}
		res.EmitError(location, problems{{Field: "kind", Message: msg}}.err())
		return res
	}

	for _, proc := range p.processors {
		post, ok := proc.(PostProcessor)
		if !ok {
			continue
		}
		next, err := post.PostProcessEntity(ctx, ent, location, res)
		if err != nil {
			res.EmitError(location, processorError(proc, "post-processing", err))
			return res
		}
		ent = next
	}
	res.Entity = ent
	return res
}

// kindHinter lets a kind-validating processor explain an unknown kind.
type kindHinter interface {
	kindHint(e *Entity) string
}

func processorError(p Processor, step string, err error) error {
	kind := errs.KindOf(err)
	if kind == errs.Internal {
		kind = errs.Input
	}
	return &errs.Error{Kind: kind, Message: fmt.Sprintf("%s failed in %s: %v", p.Name(), step, err), Cause: err}
}

// NewDefaultPipeline returns the pipeline Backstage's catalog runs by
// default: the default policies checked with v, and a KindsProcessor for
// reg, followed by any extra processors.
func NewDefaultPipeline(reg *Registry, v Validators, extra ...Processor) *Pipeline {
	return NewPipeline(DefaultPolicies(v), append([]Processor{NewKindsProcessor(reg)}, extra...)...)
}
