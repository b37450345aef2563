package catalog

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// Policy checks, and may complete, an entity before its kind is validated;
// Backstage calls these entity policies. Enforce may change e in place (the
// pipeline hands it a private copy) and returns an Input error describing
// every problem it found.
type Policy interface {
	Enforce(e *Entity) error
}

// PolicyFunc adapts a function to the Policy interface.
type PolicyFunc func(e *Entity) error

// Enforce calls f(e).
func (f PolicyFunc) Enforce(e *Entity) error { return f(e) }

// Policies runs policies in order and stops at the first that fails, as
// Backstage's EntityPolicies.allOf does.
type Policies []Policy

// Enforce runs each policy in turn.
func (ps Policies) Enforce(e *Entity) error {
	for _, p := range ps {
		if err := p.Enforce(e); err != nil {
			return err
		}
	}
	return nil
}

// DefaultPolicies returns Backstage's default policy chain: schema-valid
// envelope, default namespace, no foreign root fields, then the field
// formats checked with v.
func DefaultPolicies(v Validators) Policies {
	return Policies{
		PolicyFunc(SchemaValidPolicy),
		PolicyFunc(DefaultNamespacePolicy),
		PolicyFunc(NoForeignRootFieldsPolicy),
		FieldFormatPolicy{Validators: v},
	}
}

// SchemaValidPolicy checks the envelope's required fields. Type errors are
// already caught when an entity is decoded (DecodeEntity); this policy
// catches entities built in Go with required fields left empty.
func SchemaValidPolicy(e *Entity) error {
	var ps problems
	if e.APIVersion == "" {
		ps.add("apiVersion", "is required")
	}
	if e.Kind == "" {
		ps.add("kind", "is required")
	}
	if e.Metadata.Name == "" {
		ps.add("metadata.name", "is required")
	}
	for i, l := range e.Metadata.Links {
		if l.URL == "" {
			ps.add("metadata.links."+strconv.Itoa(i)+".url", "is required")
		}
	}
	for i, r := range e.Relations {
		if r.Type == "" || r.TargetRef == "" {
			ps.add("relations."+strconv.Itoa(i), "needs a type and a targetRef")
		}
	}
	return ps.err()
}

// DefaultNamespacePolicy puts entities without a namespace in the default
// namespace.
func DefaultNamespacePolicy(e *Entity) error {
	if e.Metadata.Namespace == "" {
		e.Metadata.Namespace = DefaultNamespace
	}
	return nil
}

// NoForeignRootFieldsPolicy rejects root fields other than apiVersion, kind,
// metadata and spec. Relations and status are the catalog's output, so an
// entity that brings its own is rejected too.
func NoForeignRootFieldsPolicy(e *Entity) error {
	var ps problems
	if e.Relations != nil {
		ps.add("relations", "unknown field: relations are computed by the catalog; only apiVersion, kind, metadata and spec may be given")
	}
	if e.Status != nil {
		ps.add("status", "unknown field: status is computed by the catalog; only apiVersion, kind, metadata and spec may be given")
	}
	for _, k := range slices.Sorted(maps.Keys(e.Extra)) {
		ps.add(k, "unknown field: only apiVersion, kind, metadata and spec may be given at the root")
	}
	return ps.err()
}

// FieldFormatPolicy checks the format of apiVersion, kind, metadata.name,
// metadata.namespace, labels, annotations, tags and links with its
// Validators, reporting every bad field at once.
type FieldFormatPolicy struct {
	Validators Validators
}

// Enforce checks e's field formats.
func (p FieldFormatPolicy) Enforce(e *Entity) error {
	v := &p.Validators
	var ps problems
	check := func(field string, val Validator, s string) {
		if !val.Valid(s) {
			ps.add(field, "%s is not a valid %s: %s", strconv.Quote(s), val.What, val.Rule)
		}
	}
	check("apiVersion", v.APIVersion, e.APIVersion)
	check("kind", v.Kind, e.Kind)
	check("metadata.name", v.EntityName, e.Metadata.Name)
	if e.Metadata.Namespace != "" {
		check("metadata.namespace", v.Namespace, e.Metadata.Namespace)
	}
	for _, k := range slices.Sorted(maps.Keys(e.Metadata.Labels)) {
		check("metadata.labels", v.LabelKey, k)
		check("metadata.labels."+k, v.LabelValue, e.Metadata.Labels[k])
	}
	for _, k := range slices.Sorted(maps.Keys(e.Metadata.Annotations)) {
		check("metadata.annotations", v.AnnotationKey, k)
		check("metadata.annotations."+k, v.AnnotationValue, e.Metadata.Annotations[k])
	}
	for i, t := range e.Metadata.Tags {
		check("metadata.tags."+strconv.Itoa(i), v.Tag, t)
	}
	for i, l := range e.Metadata.Links {
		field := "metadata.links." + strconv.Itoa(i)
		if !isValidURL(l.URL) {
			ps.add(field+".url", "%s is not a valid URL: use an absolute URL such as https://example.com/docs", strconv.Quote(l.URL))
		}
		if l.Title != "" && strings.TrimSpace(l.Title) == "" {
			ps.add(field+".title", "must not be blank")
		}
		if l.Icon != "" && strings.TrimSpace(l.Icon) == "" {
			ps.add(field+".icon", "must not be blank")
		}
	}
	return ps.err()
}

// GroupDefaultParentPolicy returns a policy that makes parent the parent of
// every Group that names none (except parent itself), so that an imported
// organisation hangs under one root. It is not part of the default chain.
func GroupDefaultParentPolicy(parent string) (Policy, error) {
	ref, err := ParseRef(parent, RefDefaults{Kind: "Group"})
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(ref.Kind, "Group") {
		return nil, errs.InputErrorf("the default parent %q must be a Group", parent)
	}
	return PolicyFunc(func(e *Entity) error {
		if e.Kind != "Group" || e.Ref().Equal(ref) {
			return nil
		}
		if p, ok := e.Spec["parent"]; ok && p != nil {
			return nil
		}
		if e.Spec == nil {
			e.Spec = map[string]any{}
		}
		e.Spec["parent"] = ref.String()
		return nil
	}), nil
}
