package catalog

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// SearchRow is one row of the search index: Backstage's search table rows,
// which filters, facets, ordering and full-text search all read.
type SearchRow struct {
	// Key is the lower-cased dotted path ("spec.type", "metadata.tags.java",
	// "relations.ownedby").
	Key string
	// Value is the lower-cased value, or nil when the value is too long to
	// be matched.
	Value *string
	// OriginalValue is the value as written, for facets.
	OriginalValue *string
}

// Search index limits, as Backstage's: longer keys are dropped, longer values
// are kept as a key without a matchable value.
const (
	maxSearchKeyLength   = 200
	maxSearchValueLength = 200
)

// searchSkipped are the paths Backstage leaves out of the index; the
// metadata fields among them are added back explicitly.
var searchSkipped = map[string]bool{
	"attachments": true, "relations": true, "status": true,
	"metadata.name": true, "metadata.namespace": true, "metadata.uid": true, "metadata.etag": true,
}

// BuildSearch returns the search rows of a final entity (in its generic
// JSON form) and its relations: every scalar under its dotted path, string
// list items also as "<path>.<item>" = "true", and each relation as
// "relations.<type>" = target ref.
func BuildSearch(v map[string]any, relations []Relation) ([]SearchRow, error) {
	var raw []searchPair
	collect(&raw, "", v)
	md, _ := v["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	ns, _ := md["namespace"].(string)
	if ns == "" {
		ns = DefaultNamespace
	}
	uid, _ := md["uid"].(string)
	raw = append(raw, searchPair{key: "metadata.name"}.withValue(name), searchPair{key: "metadata.namespace"}.withValue(ns))
	if uid != "" {
		raw = append(raw, searchPair{key: "metadata.uid"}.withValue(uid))
	}
	for _, r := range relations {
		raw = append(raw, searchPair{key: "relations." + r.Type}.withValue(r.TargetRef))
	}

	// Keys that differ only in case would make filters ambiguous.
	seen := map[string]string{}
	rows := make([]SearchRow, 0, len(raw))
	for _, p := range raw {
		key := strings.ToLower(p.key)
		if prev, ok := seen[key]; ok && prev != p.key {
			return nil, errs.InputErrorf("entity has duplicate keys that vary only in casing: %q and %q", prev, p.key)
		}
		seen[key] = p.key
		if len(key) > maxSearchKeyLength {
			continue
		}
		row := SearchRow{Key: key}
		if p.value != nil {
			s := *p.value
			orig := s
			row.OriginalValue = &orig
			if len(s) <= maxSearchValueLength {
				lower := strings.ToLower(s)
				row.Value = &lower
			}
		}
		rows = append(rows, row)
	}
	return dedupeSearch(rows), nil
}

// storedOriginal is the original_value column: NULL where it equals the
// value (most rows), which keeps the index small; facets read
// COALESCE(original_value, value).
func (r SearchRow) storedOriginal() *string {
	if r.OriginalValue != nil && r.Value != nil && *r.OriginalValue == *r.Value {
		return nil
	}
	return r.OriginalValue
}

type searchPair struct {
	key   string
	value *string
}

func (p searchPair) withValue(s string) searchPair { p.value = &s; return p }

func collect(out *[]searchPair, path string, v any) {
	if path != "" && searchSkipped[strings.ToLower(path)] {
		return
	}
	switch v := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			collect(out, p, v[k])
		}
	case []any:
		for _, item := range v {
			if s, ok := item.(string); ok {
				*out = append(*out, searchPair{key: path + "." + s}.withValue("true"))
			}
			collect(out, path, item)
		}
	case nil:
		*out = append(*out, searchPair{key: path})
	default:
		*out = append(*out, searchPair{key: path}.withValue(scalarString(v)))
	}
}

func scalarString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	default:
		return fmt.Sprint(v)
	}
}

// dedupeSearch drops repeated (key, value) pairs, which add nothing to
// filters and would inflate facet counts.
func dedupeSearch(rows []SearchRow) []SearchRow {
	type kv struct {
		k string
		v string
		n bool
	}
	seen := make(map[kv]bool, len(rows))
	out := rows[:0]
	for _, r := range rows {
		id := kv{k: r.Key, n: r.Value == nil}
		if r.Value != nil {
			id.v = *r.Value
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		out = append(out, r)
	}
	return out
}
