package catalog

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errs"
)

// recorder is a processor that implements every optional interface and
// logs its calls, to check the order of the steps.
type recorder struct {
	name     string
	priority int
	log      *[]string
	pre      func(e *Entity, emit Emitter) (*Entity, error)
	kind     func(e *Entity) (bool, error)
	post     func(e *Entity, emit Emitter) (*Entity, error)
}

func (r *recorder) Name() string  { return r.name }
func (r *recorder) Priority() int { return r.priority }

func (r *recorder) PreProcessEntity(_ context.Context, e *Entity, _ LocationSpec, emit Emitter) (*Entity, error) {
	*r.log = append(*r.log, r.name+".pre")
	if r.pre != nil {
		return r.pre(e, emit)
	}
	return e, nil
}

func (r *recorder) ValidateEntityKind(_ context.Context, e *Entity) (bool, error) {
	*r.log = append(*r.log, r.name+".kind")
	if r.kind != nil {
		return r.kind(e)
	}
	return false, nil
}

func (r *recorder) PostProcessEntity(_ context.Context, e *Entity, _ LocationSpec, emit Emitter) (*Entity, error) {
	*r.log = append(*r.log, r.name+".post")
	if r.post != nil {
		return r.post(e, emit)
	}
	return e, nil
}

var _ interface {
	PreProcessor
	KindValidator
	PostProcessor
	Prioritized
} = (*recorder)(nil)

func TestPipelineOrderAndEmits(t *testing.T) {
	var log []string
	policy := PolicyFunc(func(e *Entity) error { log = append(log, "policy"); return nil })
	late := &recorder{name: "late", priority: 30, log: &log}
	early := &recorder{name: "early", priority: 10, log: &log,
		pre: func(e *Entity, emit Emitter) (*Entity, error) {
			if e.Metadata.Annotations == nil {
				e.Metadata.Annotations = map[string]string{}
			}
			e.Metadata.Annotations["example.com/seen"] = "true"
			return e, nil
		},
		kind: func(e *Entity) (bool, error) { return e.Kind == "Widget", nil },
		post: func(e *Entity, emit Emitter) (*Entity, error) {
			child := &Entity{APIVersion: "example.com/v1", Kind: "Widget", Metadata: Metadata{Name: "child"}}
			emit.EmitEntity(LocationSpec{Type: "url", Target: "https://example.com/child.yaml"}, child, nil)
			emit.EmitLocation(LocationSpec{Type: "url", Target: "https://example.com/more.yaml"})
			emit.EmitRefresh("url:https://example.com/widget.yaml")
			emit.EmitRelation(RelationSpec{Source: e.Ref(), Type: "example-uses", Target: Ref{"Widget", "default", "child"}})
			return e, nil
		},
	}
	p := NewPipeline(policy, late, early)
	if got := []string{p.Processors()[0].Name(), p.Processors()[1].Name()}; !slices.Equal(got, []string{"early", "late"}) {
		t.Fatalf("processor order %v", got)
	}
	in := &Entity{APIVersion: "example.com/v1", Kind: "Widget", Metadata: Metadata{Name: "w"}}
	res := p.Process(context.Background(), in, loc)
	if !res.OK() {
		t.Fatal(res.Err())
	}
	// The first processor that knows the kind decides; later ones are not asked.
	want := []string{"early.pre", "late.pre", "policy", "early.kind", "early.post", "late.post"}
	if !slices.Equal(log, want) {
		t.Errorf("steps %v, want %v", log, want)
	}
	if res.Entity.Metadata.Annotations["example.com/seen"] != "true" || in.Metadata.Annotations != nil {
		t.Error("pre-processing should change the processed copy only")
	}
	if len(res.Entities) != 1 || len(res.Locations) != 1 || len(res.RefreshKeys) != 1 || len(res.Relations) != 1 {
		t.Errorf("emits not collected: %+v", res)
	}
}

func TestPipelineFailures(t *testing.T) {
	ctx := context.Background()
	widget := func() *Entity {
		return &Entity{APIVersion: "example.com/v1", Kind: "Widget", Metadata: Metadata{Name: "w"}}
	}
	var log []string
	knowsWidgets := func(e *Entity) (bool, error) { return e.Kind == "Widget", nil }

	// A pre-processor that changes the entity's name causes a conflict.
	renamer := &recorder{name: "renamer", log: &log, kind: knowsWidgets,
		pre: func(e *Entity, _ Emitter) (*Entity, error) { e.Metadata.Name = "other"; return e, nil }}
	res := NewPipeline(nil, renamer).Process(ctx, widget(), loc)
	if res.OK() || !errs.Is(res.Err(), errs.Conflict) || !strings.Contains(res.Err().Error(), "changed during processing") {
		t.Errorf("rename: %v", res.Err())
	}

	// An unknown kind.
	res = NewPipeline(nil, &recorder{name: "none", log: &log}).Process(ctx, widget(), loc)
	if res.OK() || !strings.Contains(res.Err().Error(), `no processor recognized example.com/v1 "Widget"`) {
		t.Errorf("unknown kind: %v", res.Err())
	}

	// A kind validator's error is the verdict.
	strict := &recorder{name: "strict", log: &log, kind: func(*Entity) (bool, error) {
		return true, problems{{Field: "spec.size", Message: "is required"}}.err()
	}}
	res = NewPipeline(nil, strict).Process(ctx, widget(), loc)
	if res.OK() || res.Err().Error() != "spec.size: is required" || res.Entity != nil {
		t.Errorf("kind error: %v", res.Err())
	}

	// A post-processor's plain error becomes an Input error naming it.
	failing := &recorder{name: "failing", log: &log, kind: knowsWidgets,
		post: func(*Entity, Emitter) (*Entity, error) { return nil, errors.New("boom") }}
	res = NewPipeline(nil, failing).Process(ctx, widget(), loc)
	if res.OK() || !errs.Is(res.Err(), errs.Input) || res.Err().Error() != "failing failed in post-processing: boom" {
		t.Errorf("post error: %v", res.Err())
	}

	// Emitted errors fail the result without stopping the step.
	reporter := &recorder{name: "reporter", log: &log, kind: knowsWidgets,
		post: func(e *Entity, emit Emitter) (*Entity, error) {
			emit.EmitError(loc, errs.NotFoundf("target %s not found", "x"))
			return e, nil
		}}
	res = NewPipeline(nil, reporter).Process(ctx, widget(), loc)
	if res.OK() || res.Entity == nil || !errs.Is(res.Err(), errs.NotFound) {
		t.Errorf("emitted error: ok=%v entity=%v err=%v", res.OK(), res.Entity, res.Err())
	}
}

// A processor written against the interfaces can add a kind next to the
// built-in ones, as Backstage's custom processors do.
func TestCustomProcessorNextToBuiltins(t *testing.T) {
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	var log []string
	foobar := &recorder{name: "FoobarEntitiesProcessor", log: &log,
		kind: func(e *Entity) (bool, error) {
			if e.APIVersion != "example.com/v1alpha1" || e.Kind != "Foobar" {
				return false, nil
			}
			if _, ok := e.Spec["owner"].(string); !ok {
				return true, fmt.Errorf("spec.owner: is required")
			}
			return true, nil
		},
		post: func(e *Entity, emit Emitter) (*Entity, error) {
			if e.Kind == "Foobar" {
				owner, err := ParseRef(e.Spec["owner"].(string), RefDefaults{Kind: "Group", Namespace: e.Metadata.Namespace})
				if err != nil {
					return nil, err
				}
				emit.EmitRelation(RelationSpec{Source: e.Ref(), Type: RelationOwnedBy, Target: owner})
			}
			return e, nil
		},
	}
	p := NewDefaultPipeline(reg, DefaultValidators(), foobar)
	res := p.Process(context.Background(), yamlEntity(t, "apiVersion: example.com/v1alpha1\nkind: Foobar\nmetadata: {name: f}\nspec: {owner: team-a}\n"), loc)
	if !res.OK() || len(res.Relations) != 1 || res.Relations[0].Target.String() != "group:default/team-a" {
		t.Errorf("Foobar: %v %+v", res.Err(), res.Relations)
	}
	res = p.Process(context.Background(), yamlEntity(t, kindExamples["User"]), loc)
	if !res.OK() {
		t.Errorf("User: %v", res.Err())
	}
}

// One pipeline serves every request of the server at once.
func TestPipelineConcurrentUse(t *testing.T) {
	p := defaultPipeline(t)
	e := yamlEntity(t, kindExamples["Component"])
	bad := yamlEntity(t, edit(t, kindExamples["Component"], "owner: artist-relations-team => owner: 7"))
	done := make(chan error)
	for range 4 {
		go func() {
			for range 50 {
				if res := p.Process(context.Background(), e, loc); !res.OK() {
					done <- res.Err()
					return
				}
				if res := p.Process(context.Background(), bad, loc); res.OK() {
					done <- errors.New("invalid entity accepted")
					return
				}
			}
			done <- nil
		}()
	}
	for range 4 {
		if err := <-done; err != nil {
			t.Error(err)
		}
	}
}
