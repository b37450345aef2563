package catalog

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
)

// DecodeEntity turns a decoded JSON or YAML document (map[string]any and
// friends, as produced by encoding/json with UseNumber or by ParseYAML) into
// an Entity. It is where the shape of the envelope is checked, as Backstage's
// schema-valid policy does: apiVersion, kind and metadata.name are required
// non-empty strings; the other known metadata fields must have their types;
// spec must be an object. All problems are reported together in a
// *ValidationError wrapped as an Input error.
func DecodeEntity(doc any) (*Entity, error) {
	var ps problems
	root, ok := doc.(map[string]any)
	if !ok {
		ps.add("", "expected an entity object at the root, got %s", typeName(doc))
		return nil, ps.err()
	}
	e := &Entity{}
	e.APIVersion = requiredString(&ps, root, "apiVersion", "apiVersion")
	e.Kind = requiredString(&ps, root, "kind", "kind")
	if md, ok := root["metadata"]; !ok {
		ps.add("metadata", "is required")
	} else if m, ok := md.(map[string]any); !ok {
		ps.add("metadata", "must be an object, got %s", typeName(md))
	} else {
		decodeMetadata(&ps, m, &e.Metadata)
	}
	if spec, ok := root["spec"]; ok {
		if m, ok := spec.(map[string]any); ok {
			e.Spec = m
		} else {
			ps.add("spec", "must be an object, got %s", typeName(spec))
		}
	}
	if rels, ok := root["relations"]; ok {
		e.Relations = decodeRelations(&ps, rels)
	}
	if st, ok := root["status"]; ok {
		e.Status = decodeStatus(&ps, st)
	}
	for k, v := range root {
		switch k {
		case "apiVersion", "kind", "metadata", "spec", "relations", "status":
		default:
			if e.Extra == nil {
				e.Extra = map[string]any{}
			}
			e.Extra[k] = v
		}
	}
	if err := ps.err(); err != nil {
		return nil, err
	}
	return e, nil
}

func decodeMetadata(ps *problems, m map[string]any, md *Metadata) {
	md.Name = requiredString(ps, m, "name", "metadata.name")
	md.Namespace = optionalString(ps, m, "namespace", "metadata.namespace", true)
	md.Title = optionalString(ps, m, "title", "metadata.title", true)
	md.Description = optionalString(ps, m, "description", "metadata.description", false)
	md.UID = optionalString(ps, m, "uid", "metadata.uid", true)
	md.Etag = optionalString(ps, m, "etag", "metadata.etag", true)
	md.Labels = stringMap(ps, m, "labels", "metadata.labels")
	md.Annotations = stringMap(ps, m, "annotations", "metadata.annotations")
	if v, ok := m["tags"]; ok {
		if arr, ok := v.([]any); !ok {
			ps.add("metadata.tags", "must be a list of strings, got %s", typeName(v))
		} else {
			md.Tags = make([]string, 0, len(arr))
			for i, t := range arr {
				s, ok := t.(string)
				if !ok || s == "" {
					ps.add("metadata.tags."+strconv.Itoa(i), "must be a non-empty string, got %s", describe(t))
					continue
				}
				md.Tags = append(md.Tags, s)
			}
		}
	}
	if v, ok := m["links"]; ok {
		if arr, ok := v.([]any); !ok {
			ps.add("metadata.links", "must be a list of objects, got %s", typeName(v))
		} else {
			md.Links = make([]Link, 0, len(arr))
			for i, x := range arr {
				field := "metadata.links." + strconv.Itoa(i)
				lm, ok := x.(map[string]any)
				if !ok {
					ps.add(field, "must be an object with a url, got %s", typeName(x))
					continue
				}
				l := Link{
					URL:   requiredString(ps, lm, "url", field+".url"),
					Title: optionalString(ps, lm, "title", field+".title", true),
					Icon:  optionalString(ps, lm, "icon", field+".icon", true),
					Type:  optionalString(ps, lm, "type", field+".type", true),
					Extra: extraFields(lm, "url", "title", "icon", "type"),
				}
				md.Links = append(md.Links, l)
			}
		}
	}
	md.Extra = extraFields(m, "name", "namespace", "title", "description", "uid", "etag", "labels", "annotations", "tags", "links")
}

func decodeRelations(ps *problems, v any) []Relation {
	arr, ok := v.([]any)
	if !ok {
		ps.add("relations", "must be a list, got %s", typeName(v))
		return nil
	}
	rels := make([]Relation, 0, len(arr))
	for i, x := range arr {
		field := "relations." + strconv.Itoa(i)
		m, ok := x.(map[string]any)
		if !ok {
			ps.add(field, "must be an object with type and targetRef, got %s", typeName(x))
			continue
		}
		// The legacy "target" object is derived from targetRef, so it is
		// accepted and dropped.
		rels = append(rels, Relation{
			Type:      requiredString(ps, m, "type", field+".type"),
			TargetRef: requiredString(ps, m, "targetRef", field+".targetRef"),
		})
	}
	return rels
}

func decodeStatus(ps *problems, v any) *Status {
	m, ok := v.(map[string]any)
	if !ok {
		ps.add("status", "must be an object, got %s", typeName(v))
		return nil
	}
	st := &Status{Extra: extraFields(m, "items")}
	if items, ok := m["items"]; ok {
		arr, ok := items.([]any)
		if !ok {
			ps.add("status.items", "must be a list, got %s", typeName(items))
			return st
		}
		st.Items = make([]StatusItem, 0, len(arr))
		for i, x := range arr {
			field := "status.items." + strconv.Itoa(i)
			im, ok := x.(map[string]any)
			if !ok {
				ps.add(field, "must be an object, got %s", typeName(x))
				continue
			}
			it := StatusItem{
				Type:  requiredString(ps, im, "type", field+".type"),
				Level: requiredString(ps, im, "level", field+".level"),
				Extra: extraFields(im, "type", "level", "message", "error"),
			}
			if msg, ok := im["message"].(string); ok {
				it.Message = msg
			} else {
				ps.add(field+".message", "must be a string, got %s", describe(im["message"]))
			}
			switch it.Level {
			case "", LevelInfo, LevelWarning, LevelError:
			default:
				ps.add(field+".level", "%q is not a valid level: use info, warning or error", it.Level)
			}
			if ev, ok := im["error"]; ok {
				em, ok := ev.(map[string]any)
				if !ok {
					ps.add(field+".error", "must be an object, got %s", typeName(ev))
				}
				it.Error = em
			}
			st.Items = append(st.Items, it)
		}
	}
	return st
}

func requiredString(ps *problems, m map[string]any, key, field string) string {
	v, ok := m[key]
	if !ok || v == nil {
		ps.add(field, "is required")
		return ""
	}
	s, ok := v.(string)
	if !ok {
		ps.add(field, "must be a string, got %s", describe(v))
		return ""
	}
	if s == "" {
		ps.add(field, "must not be empty")
	}
	return s
}

func optionalString(ps *problems, m map[string]any, key, field string, nonEmpty bool) string {
	v, ok := m[key]
	if !ok {
		return ""
	}
	s, ok := v.(string)
	if !ok {
		ps.add(field, "must be a string, got %s", describe(v))
		return ""
	}
	if nonEmpty && s == "" {
		ps.add(field, "must not be empty")
	}
	return s
}

func stringMap(ps *problems, m map[string]any, key, field string) map[string]string {
	v, ok := m[key]
	if !ok {
		return nil
	}
	obj, ok := v.(map[string]any)
	if !ok {
		ps.add(field, "must be an object of strings, got %s", typeName(v))
		return nil
	}
	out := make(map[string]string, len(obj))
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		s, ok := obj[k].(string)
		if !ok {
			ps.add(field+"."+k, "must be a string, got %s", describe(obj[k]))
			continue
		}
		out[k] = s
	}
	return out
}

func extraFields(m map[string]any, known ...string) map[string]any {
	var extra map[string]any
	for k, v := range m {
		if slices.Contains(known, k) {
			continue
		}
		if extra == nil {
			extra = map[string]any{}
		}
		extra[k] = v
	}
	return extra
}

// typeName names the JSON type of a generic value for messages.
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case json.Number, float64, float32, int, int64, int32, uint64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	default:
		return fmt.Sprintf("%T", v)
	}
}

// describe shows a scalar value with its type, or just the type of a
// composite one, for messages that should name the offending value.
func describe(v any) string {
	switch v := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(v)
	case bool, json.Number, float64, int, int64:
		return fmt.Sprintf("%s %v", typeName(v), v)
	default:
		return typeName(v)
	}
}
