package catalog

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// KindsProcessor validates entities against the kinds of a Registry and
// emits the relations their kinds declare. With the default registry it is
// Backstage's BuiltinKindsEntityProcessor and ScaffolderEntitiesProcessor in
// one; kinds registered from configuration go through it as well.
type KindsProcessor struct {
	registry *Registry
}

// NewKindsProcessor returns a processor for the kinds of r.
func NewKindsProcessor(r *Registry) *KindsProcessor {
	return &KindsProcessor{registry: r}
}

// Name returns the name Backstage gives the processor it replaces.
func (p *KindsProcessor) Name() string { return "BuiltinKindsEntityProcessor" }

// sortedSpecLists are the reference lists of built-in kinds that are sorted
// before processing, so that reordering them does not count as a change.
var sortedSpecLists = []string{"providesApis", "consumesApis", "dependsOn", "dependencyOf", "memberOf", "children", "members"}

// PreProcessEntity sorts the reference lists of built-in kinds.
func (p *KindsProcessor) PreProcessEntity(_ context.Context, e *Entity, _ LocationSpec, _ Emitter) (*Entity, error) {
	if _, ok := p.registry.builtinRules[e.Kind]; !ok || e.Spec == nil {
		return e, nil
	}
	for _, field := range sortedSpecLists {
		list, ok := e.Spec[field].([]any)
		if !ok || len(list) < 2 {
			continue
		}
		strs := make([]string, 0, len(list))
		for _, v := range list {
			s, ok := v.(string)
			if !ok {
				break
			}
			strs = append(strs, s)
		}
		if len(strs) != len(list) || slices.IsSorted(strs) {
			continue
		}
		slices.Sort(strs)
		sorted := make([]any, len(strs))
		for i, s := range strs {
			sorted[i] = s
		}
		e.Spec[field] = sorted
	}
	return e, nil
}

// ValidateEntityKind checks e against its kind's schema.
func (p *KindsProcessor) ValidateEntityKind(_ context.Context, e *Entity) (bool, error) {
	return p.registry.ValidateKind(e)
}

func (p *KindsProcessor) kindHint(e *Entity) string { return p.registry.hint(e) }

// PostProcessEntity emits both directions of every relation the entity's
// kind declares. Malformed references are all reported, in one error.
func (p *KindsProcessor) PostProcessEntity(_ context.Context, e *Entity, _ LocationSpec, emit Emitter) (*Entity, error) {
	self := e.Ref()
	var ps problems
	for _, rule := range p.registry.relationRules(e) {
		value, ok := specValue(e.Spec, strings.TrimPrefix(rule.Field, "spec."))
		if !ok || value == nil {
			continue
		}
		defaults := RefDefaults{Kind: rule.TargetKind, Namespace: rule.TargetNamespace}
		if defaults.Namespace == "" {
			defaults.Namespace = self.Namespace
		}
		emitOne := func(field string, v any) {
			s, ok := v.(string)
			if !ok {
				ps.add(field, "must be an entity reference (a string), got %s", describe(v))
				return
			}
			target, err := ParseRef(s, defaults)
			if err != nil {
				ps.add(field, "%v", err)
				return
			}
			emit.EmitRelation(RelationSpec{Source: self, Type: rule.Type, Target: target})
			emit.EmitRelation(RelationSpec{Source: target, Type: rule.Reverse, Target: self})
		}
		if list, ok := value.([]any); ok {
			for i, v := range list {
				emitOne(rule.Field+"."+strconv.Itoa(i), v)
			}
		} else {
			emitOne(rule.Field, value)
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// specValue looks up a dotted path inside spec.
func specValue(spec map[string]any, path string) (any, bool) {
	var v any = spec
	for part := range strings.SplitSeq(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[part]; !ok {
			return nil, false
		}
	}
	return v, true
}
