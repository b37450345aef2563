package dataindex

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// definitions returns every deployed workflow as a ProcessDefinition. The
// registry holds them in memory, so filters run in Go.
func (s *Service) definitions() []*ProcessDefinition {
	wfs := s.rt.Registry().List()
	out := make([]*ProcessDefinition, 0, len(wfs))
	for _, wf := range wfs {
		out = append(out, s.definition(wf))
	}
	return out
}

// definition converts a workflow, caching the result per definition
// version (hash): the conversion encodes metadata and lists nodes.
func (s *Service) definition(wf *orchestrator.Workflow) *ProcessDefinition {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d, ok := s.defs[wf.Hash]; ok {
		return d
	}
	w := wf.Definition.W
	d := &ProcessDefinition{
		ID:          wf.ID,
		Name:        optional(w.Name),
		Version:     optional(w.Version),
		Type:        ptr("SW"),
		Endpoint:    ptr(s.rt.Endpoint(wf.ID)),
		ServiceURL:  ptr(s.rt.ServiceURL()),
		Description: optional(w.Description),
		Annotations: []*string{},
		Nodes:       nodeDefinitions(wf.Definition),
		wf:          wf,
	}
	if len(wf.Text) > 0 {
		d.Source = ptr(string(wf.Text))
	} else if len(w.Source) > 0 {
		d.Source = ptr(string(w.Source))
	}
	for _, a := range w.Annotations {
		d.Annotations = append(d.Annotations, ptr(a))
	}
	d.metadata = w.Metadata
	if d.metadata == nil {
		d.metadata = map[string]any{}
	}
	if b, err := json.Marshal(d.metadata); err == nil {
		d.Metadata = b
	}
	if len(s.defs) > 1024 {
		clear(s.defs) // old versions pile up only through many reloads
	}
	s.defs[wf.Hash] = d
	return d
}

// nodeDefinitions lists a workflow's states as the Data Index's nodes, in
// file order (the numbering SonataFlow's management API uses too).
func nodeDefinitions(def *engine.Definition) []*Node {
	out := make([]*Node, 0, len(def.W.States))
	for i, st := range def.W.States {
		id := strconv.Itoa(i + 1)
		out = append(out, &Node{
			ID: id, Name: st.Name, Type: def.NodeType(st.Name), UniqueID: id,
			Metadata: &NodeMetadata{UniqueID: id, State: ptr(st.Name)},
		})
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func optional(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// matchDefinition applies a ProcessDefinitionArgument to one definition.
func matchDefinition(path string, d *ProcessDefinition, a *ProcessDefinitionArgument) (bool, error) {
	if a == nil {
		return true, nil
	}
	for i, s := range a.And {
		ok, err := matchDefinition(fmt.Sprintf("%s.and[%d]", path, i), d, s)
		if err != nil || !ok {
			return false, err
		}
	}
	if len(a.Or) > 0 {
		matched := false
		for i, s := range a.Or {
			ok, err := matchDefinition(fmt.Sprintf("%s.or[%d]", path, i), d, s)
			if err != nil {
				return false, err
			}
			matched = matched || ok
		}
		if !matched {
			return false, nil
		}
	}
	if a.Not != nil {
		ok, err := matchDefinition(path+".not", d, a.Not)
		if err != nil || ok {
			return false, err
		}
	}
	checks := []struct {
		arg *StringArgument
		v   *string
	}{
		{a.ID, &d.ID}, {a.Name, d.Name}, {a.Version, d.Version}, {a.ServiceURL, d.ServiceURL},
		{a.Description, d.Description}, {a.Type, d.Type},
	}
	for _, c := range checks {
		if !matchString(c.arg, c.v) {
			return false, nil
		}
	}
	var annotations []string
	for _, s := range d.Annotations {
		annotations = append(annotations, *s)
	}
	if !matchStrings(a.Annotations, annotations) || !matchStrings(a.Roles, nil) {
		return false, nil
	}
	if a.Metadata != nil {
		conds, err := jsonConditions(path+".metadata", a.Metadata)
		if err != nil {
			return false, err
		}
		for _, c := range conds {
			ok, err := matchJSON(c, d.metadata)
			if err != nil || !ok {
				return false, err
			}
		}
	}
	return true, nil
}

func matchString(a *StringArgument, v *string) bool {
	if a == nil {
		return true
	}
	has := v != nil && *v != ""
	if a.IsNull != nil && *a.IsNull == has {
		return false
	}
	if a.Equal != nil && (!has || *v != *a.Equal) {
		return false
	}
	if a.In != nil {
		found := false
		for _, s := range a.In {
			found = found || has && *v == s
		}
		if !found {
			return false
		}
	}
	if a.Like != nil && (!has || !likeRegexp(*a.Like).MatchString(*v)) {
		return false
	}
	return true
}

// likeRegexp turns a pattern with * wildcards into an anchored regexp.
func likeRegexp(pattern string) *regexp.Regexp {
	parts := strings.Split(pattern, "*")
	for i := range parts {
		parts[i] = regexp.QuoteMeta(parts[i])
	}
	return regexp.MustCompile("^(?s:" + strings.Join(parts, ".*") + ")$")
}

func matchStrings(a *StringArrayArgument, have []string) bool {
	if a == nil {
		return true
	}
	contains := func(s string) bool {
		for _, h := range have {
			if h == s {
				return true
			}
		}
		return false
	}
	if a.IsNull != nil && *a.IsNull == (len(have) > 0) {
		return false
	}
	if a.Contains != nil && !contains(*a.Contains) {
		return false
	}
	for _, s := range a.ContainsAll {
		if !contains(s) {
			return false
		}
	}
	if len(a.ContainsAny) > 0 {
		found := false
		for _, s := range a.ContainsAny {
			found = found || contains(s)
		}
		if !found {
			return false
		}
	}
	return true
}

// matchJSON applies one JSON filter condition to a document in memory,
// with the semantics the SQL version has.
func matchJSON(c jsonCondition, doc any) (bool, error) {
	v, found := doc, true
	for _, k := range c.path {
		m, ok := v.(map[string]any)
		if !ok {
			found = false
			break
		}
		if v, ok = m[k]; !ok {
			found = false
			break
		}
	}
	if !found {
		v = nil
	}
	cmp := func(want any) (int, bool) {
		if ws, ok := want.(string); ok {
			hs, ok := v.(string)
			return strings.Compare(hs, ws), ok
		}
		if wb, ok := want.(bool); ok {
			hb, ok := v.(bool)
			if !ok || hb != wb {
				return 1, ok
			}
			return 0, true
		}
		wf, ok := number(want)
		if !ok {
			return 0, false
		}
		hf, ok := number(v)
		switch {
		case !ok:
			return 0, false
		case hf < wf:
			return -1, true
		case hf > wf:
			return 1, true
		}
		return 0, true
	}
	test := func(op string, want any) (bool, error) {
		if err := scalar(c, want, c.where); err != nil {
			return false, err
		}
		r, ok := cmp(want)
		if !ok {
			return false, nil
		}
		switch op {
		case "equal":
			return r == 0, nil
		case "greaterThan":
			return r > 0, nil
		case "greaterThanEqual":
			return r >= 0, nil
		case "lessThan":
			return r < 0, nil
		}
		return r <= 0, nil
	}
	switch c.op {
	case "equal", "greaterThan", "greaterThanEqual", "lessThan", "lessThanEqual":
		if c.value == nil && c.op == "equal" {
			return v == nil, nil
		}
		return test(c.op, c.value)
	case "between":
		m, ok := c.value.(map[string]any)
		if !ok || m["from"] == nil || m["to"] == nil {
			return false, filterErr(c.where, "between takes {from: …, to: …}")
		}
		lo, err := test("greaterThanEqual", m["from"])
		if err != nil || !lo {
			return false, err
		}
		return test("lessThanEqual", m["to"])
	case "in":
		list, ok := c.value.([]any)
		if !ok {
			list = []any{c.value}
		}
		for _, w := range list {
			ok, err := test("equal", w)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	case "isNull", "notNull":
		b, ok := c.value.(bool)
		if !ok {
			return false, filterErr(c.where, "%s takes true or false, got %s", c.op, describe(c.value))
		}
		if c.op == "notNull" {
			b = !b
		}
		return (v == nil) == b, nil
	case "like":
		p, ok := c.value.(string)
		if !ok {
			return false, filterErr(c.where, "like takes a string pattern with * as the wildcard, got %s", describe(c.value))
		}
		s, isStr := v.(string)
		return isStr && likeRegexp(p).MatchString(s), nil
	case "contains", "containsAll", "containsAny":
		list, ok := c.value.([]any)
		if !ok {
			list = []any{c.value}
		}
		arr, isArr := v.([]any)
		all, anyFound := true, false
		for _, w := range list {
			if err := scalar(c, w, c.where); err != nil {
				return false, err
			}
			found := false
			for _, e := range arr {
				saved := v
				v = e
				r, ok := cmp(w)
				v = saved
				found = found || ok && r == 0
			}
			all = all && found
			anyFound = anyFound || found
		}
		if !isArr {
			return false, nil
		}
		if c.op == "containsAny" {
			return anyFound, nil
		}
		return all, nil
	}
	return false, filterErr(c.where, "unknown operator; use one of %s", operatorList())
}

// sortDefinitions orders definitions by the orderBy fields (id, name,
// version); id breaks ties.
func sortDefinitions(defs []*ProcessDefinition, keys []orderKey) {
	val := func(d *ProcessDefinition, field string) string {
		switch field {
		case "name":
			return deref(d.Name)
		case "version":
			return deref(d.Version)
		}
		return d.ID
	}
	sort.SliceStable(defs, func(i, j int) bool {
		for _, k := range keys {
			a, b := val(defs[i], k.field), val(defs[j], k.field)
			if a == b {
				continue
			}
			if k.desc {
				return a > b
			}
			return a < b
		}
		return defs[i].ID < defs[j].ID
	})
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
