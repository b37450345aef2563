package catalog

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
)

// Entity is a catalog entity: Backstage's envelope of apiVersion, kind,
// metadata and spec, plus the relations and status the catalog adds.
//
// The model is open, as Backstage's is: unknown metadata fields, unknown
// spec fields and unknown root fields are kept (the latter so that the
// no-foreign-root-fields policy can reject them with a clear message rather
// than have them vanish). Spec values use the generic JSON representation
// (map[string]any, []any, string, bool, json.Number, nil) so numbers
// round-trip exactly.
type Entity struct {
	APIVersion string
	Kind       string
	Metadata   Metadata
	// Spec is nil when the entity has no spec.
	Spec      map[string]any
	Relations []Relation
	Status    *Status
	// Extra holds root fields outside the model, by name.
	Extra map[string]any

	// order is the key order of the source document, if known; it is
	// immutable and shared by clones.
	order *keyOrder
}

// Metadata is an entity's metadata. Empty strings stand for absent fields:
// the fields that may be present must be non-empty (decoding rejects "").
type Metadata struct {
	Name        string
	Namespace   string
	Title       string
	Description string
	Labels      map[string]string
	Annotations map[string]string
	Tags        []string
	Links       []Link
	UID         string
	Etag        string
	// Extra holds metadata fields outside the model; Backstage keeps them
	// verbatim, so we do too.
	Extra map[string]any
}

// Link is an entry of metadata.links.
type Link struct {
	URL   string
	Title string
	Icon  string
	Type  string
	Extra map[string]any
}

// Relation is a directed relation from the entity that carries it to
// TargetRef, in the lower-case form of Ref.String.
type Relation struct {
	Type      string `json:"type"`
	TargetRef string `json:"targetRef"`
}

// Status is an entity's status; Items carries entries such as processing
// errors (type "backstage.io/catalog-processing").
type Status struct {
	Items []StatusItem
	Extra map[string]any
}

// Status levels.
const (
	LevelInfo    = "info"
	LevelWarning = "warning"
	LevelError   = "error"
)

// StatusItemProcessingType is the status item type under which processing
// errors are reported on an entity.
const StatusItemProcessingType = "backstage.io/catalog-processing"

// StatusItem is one entry of status.items.
type StatusItem struct {
	Type    string
	Level   string
	Message string
	// Error is a serialized error ({name, message, ...}) or nil.
	Error map[string]any
	Extra map[string]any
}

// Ref returns the entity's reference, with the default namespace when the
// metadata names none.
func (e *Entity) Ref() Ref {
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = DefaultNamespace
	}
	return Ref{Kind: e.Kind, Namespace: ns, Name: e.Metadata.Name}
}

// Clone returns a deep copy of e, so that processors can change the copy
// without touching the caller's entity.
func (e *Entity) Clone() *Entity {
	c := *e
	c.Metadata.Labels = maps.Clone(e.Metadata.Labels)
	c.Metadata.Annotations = maps.Clone(e.Metadata.Annotations)
	c.Metadata.Tags = slices.Clone(e.Metadata.Tags)
	if e.Metadata.Links != nil {
		c.Metadata.Links = make([]Link, len(e.Metadata.Links))
		for i, l := range e.Metadata.Links {
			l.Extra = cloneObject(l.Extra)
			c.Metadata.Links[i] = l
		}
	}
	c.Metadata.Extra = cloneObject(e.Metadata.Extra)
	c.Spec = cloneObject(e.Spec)
	c.Relations = slices.Clone(e.Relations)
	if e.Status != nil {
		s := Status{Extra: cloneObject(e.Status.Extra)}
		if e.Status.Items != nil {
			s.Items = make([]StatusItem, len(e.Status.Items))
			for i, it := range e.Status.Items {
				it.Error = cloneObject(it.Error)
				it.Extra = cloneObject(it.Extra)
				s.Items[i] = it
			}
		}
		c.Status = &s
	}
	c.Extra = cloneObject(e.Extra)
	return &c
}

func cloneObject(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	c := make(map[string]any, len(m))
	for k, v := range m {
		c[k] = cloneValue(v)
	}
	return c
}

func cloneValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		return cloneObject(v)
	case []any:
		c := make([]any, len(v))
		for i, x := range v {
			c[i] = cloneValue(x)
		}
		return c
	default:
		return v
	}
}

// Value returns the entity in the generic JSON representation, as it would
// decode from its JSON form. JSON Schemas are evaluated against it.
func (e *Entity) Value() map[string]any {
	m := make(map[string]any, 6+len(e.Extra))
	for k, v := range e.Extra {
		m[k] = v
	}
	m["apiVersion"] = e.APIVersion
	m["kind"] = e.Kind
	m["metadata"] = e.Metadata.value()
	if e.Spec != nil {
		m["spec"] = e.Spec
	}
	if e.Relations != nil {
		rs := make([]any, len(e.Relations))
		for i, r := range e.Relations {
			rs[i] = map[string]any{"type": r.Type, "targetRef": r.TargetRef}
		}
		m["relations"] = rs
	}
	if e.Status != nil {
		m["status"] = e.Status.value()
	}
	return m
}

func (md *Metadata) value() map[string]any {
	m := make(map[string]any, 10+len(md.Extra))
	for k, v := range md.Extra {
		m[k] = v
	}
	m["name"] = md.Name
	putString(m, "namespace", md.Namespace)
	putString(m, "title", md.Title)
	putString(m, "description", md.Description)
	putString(m, "uid", md.UID)
	putString(m, "etag", md.Etag)
	if md.Labels != nil {
		m["labels"] = stringMapValue(md.Labels)
	}
	if md.Annotations != nil {
		m["annotations"] = stringMapValue(md.Annotations)
	}
	if md.Tags != nil {
		tags := make([]any, len(md.Tags))
		for i, t := range md.Tags {
			tags[i] = t
		}
		m["tags"] = tags
	}
	if md.Links != nil {
		links := make([]any, len(md.Links))
		for i, l := range md.Links {
			links[i] = l.value()
		}
		m["links"] = links
	}
	return m
}

func (l *Link) value() map[string]any {
	m := make(map[string]any, 4+len(l.Extra))
	for k, v := range l.Extra {
		m[k] = v
	}
	m["url"] = l.URL
	putString(m, "title", l.Title)
	putString(m, "icon", l.Icon)
	putString(m, "type", l.Type)
	return m
}

func (s *Status) value() map[string]any {
	m := make(map[string]any, 1+len(s.Extra))
	for k, v := range s.Extra {
		m[k] = v
	}
	if s.Items != nil {
		items := make([]any, len(s.Items))
		for i, it := range s.Items {
			im := make(map[string]any, 4+len(it.Extra))
			for k, v := range it.Extra {
				im[k] = v
			}
			im["type"] = it.Type
			im["level"] = it.Level
			im["message"] = it.Message
			if it.Error != nil {
				im["error"] = it.Error
			}
			items[i] = im
		}
		m["items"] = items
	}
	return m
}

func putString(m map[string]any, k, v string) {
	if v != "" {
		m[k] = v
	}
}

func stringMapValue(s map[string]string) map[string]any {
	m := make(map[string]any, len(s))
	for k, v := range s {
		m[k] = v
	}
	return m
}

// MarshalJSON writes the entity with its fields in the order the author
// wrote them, where it is known (entities decoded from JSON or YAML), and
// Backstage's usual order otherwise.
func (e *Entity) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	if err := appendJSON(&buf, e.Value(), e.marshalOrder()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (e *Entity) marshalOrder() *keyOrder {
	root := withDefaults(e.order, rootKeys...)
	md := withDefaults(root.field("metadata"), metadataKeys...)
	md = withDefaults(md, slices.Sorted(maps.Keys(e.Metadata.Extra))...)
	md = withDefaults(md, metadataLast...)
	md.fields["links"] = withEach(md.fields["links"], linkOrder)
	root.fields["metadata"] = md
	root.fields["relations"] = withEach(root.fields["relations"], relationOrder)
	if root.fields["status"] == nil {
		root.fields["status"] = statusOrder
	}
	return root
}

func withEach(o, each *keyOrder) *keyOrder {
	if o == nil {
		return &keyOrder{each: each}
	}
	c := *o
	if c.each == nil {
		c.each = each
	}
	return &c
}

// UnmarshalJSON decodes an entity from JSON; see DecodeEntity for the
// checks it makes.
func (e *Entity) UnmarshalJSON(data []byte) error {
	d := json.NewDecoder(bytes.NewReader(data))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	ent, err := DecodeEntity(v)
	if err != nil {
		return err
	}
	ent.order = orderFromJSON(data)
	*e = *ent
	return nil
}
