package catalog

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// Filter is a condition on entities, evaluated against the search index:
// either a combination (All, Any, Not) or a test of one key.
type Filter struct {
	All []Filter `json:"all,omitempty"`
	Any []Filter `json:"any,omitempty"`
	Not *Filter  `json:"not,omitempty"`
	// Key is a dotted path as in the search index; matching is
	// case-insensitive.
	Key string `json:"key,omitempty"`
	// Values: the key has one of them. No values and no prefix: the key
	// exists.
	Values []string `json:"values,omitempty"`
	Prefix string   `json:"prefix,omitempty"`
	// Op marks the kind of node, so empty combinations stay distinct.
	Op string `json:"op"`
	// ids are the entities (search ids) an ids node matches; queries make
	// such nodes from small sets they computed first, and they never
	// travel in cursors.
	ids []int64
	// large marks a filter found to match too many entities to become an
	// ids node, so that it is not counted again.
	large bool
}

// Filter node kinds.
const (
	opAll = "all"
	opAny = "any"
	opNot = "not"
	opKey = "key"
	opIDs = "ids"
)

// KeyFilter matches entities whose key has one of values (any value when
// none are given).
func KeyFilter(key string, values ...string) Filter {
	return Filter{Op: opKey, Key: key, Values: values}
}

// AllOf matches entities that match every filter.
func AllOf(fs ...Filter) Filter { return Filter{Op: opAll, All: fs} }

// AnyOf matches entities that match any filter.
func AnyOf(fs ...Filter) Filter { return Filter{Op: opAny, Any: fs} }

// ParseFilterParams reads the filter query parameters of GET requests:
// each parameter is a set of comma-separated key=value (or key)
// statements that must all hold; the sets are alternatives. A key repeated
// in one set matches any of its values. It returns nil for no parameters.
func ParseFilterParams(params []string) (*Filter, error) {
	if len(params) == 0 {
		return nil, nil
	}
	var sets []Filter
	for _, p := range params {
		type stmt struct {
			values []string
			exists bool
		}
		byKey := map[string]*stmt{}
		var order []string
		for raw := range strings.SplitSeq(p, ",") {
			s := strings.TrimSpace(raw)
			if s == "" {
				continue
			}
			key, value, hasValue := strings.Cut(s, "=")
			key = strings.TrimSpace(key)
			if key == "" {
				return nil, errs.InputErrorf("invalid filter, %q is not a valid statement (expected a string on the form a=b or a= or a)", s)
			}
			st := byKey[key]
			if st == nil {
				st = &stmt{}
				byKey[key] = st
				order = append(order, key)
			}
			if hasValue {
				st.values = append(st.values, strings.TrimSpace(value))
			} else {
				st.exists = true
			}
		}
		set := Filter{Op: opAll}
		for _, k := range order {
			st := byKey[k]
			// A key that also has values is matched on the values.
			set.All = append(set.All, KeyFilter(k, st.values...))
		}
		sets = append(sets, set)
	}
	if len(sets) == 1 {
		return &sets[0], nil
	}
	f := AnyOf(sets...)
	return &f, nil
}

// ParsePredicate reads a filter predicate as the POST query routes take it:
// {"$all": [...]}, {"$any": [...]}, {"$not": ...}, or an object of field
// expressions (all must hold), each a value or an operator object with
// $exists, $in, $hasPrefix or $contains.
func ParsePredicate(raw json.RawMessage) (*Filter, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var v any
	d := json.NewDecoder(strings.NewReader(string(raw)))
	d.UseNumber()
	if err := d.Decode(&v); err != nil {
		return nil, errs.InputErrorf("invalid query: %v", err)
	}
	f, err := predicate(v, "query")
	if err != nil {
		return nil, err
	}
	return &f, nil
}

func predicate(v any, at string) (Filter, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return Filter{}, errs.InputErrorf("invalid query at %s: expected an object, got %s", at, describe(v))
	}
	for _, op := range []string{"$all", "$any", "$not"} {
		arg, has := m[op]
		if !has {
			continue
		}
		if len(m) != 1 {
			return Filter{}, errs.InputErrorf("invalid query at %s: %s must be the only key of its object", at, op)
		}
		if op == "$not" {
			inner, err := predicate(arg, at+".$not")
			if err != nil {
				return Filter{}, err
			}
			return Filter{Op: opNot, Not: &inner}, nil
		}
		list, ok := arg.([]any)
		if !ok {
			return Filter{}, errs.InputErrorf("invalid query at %s.%s: expected an array", at, op)
		}
		out := Filter{Op: opAll}
		if op == "$any" {
			out.Op = opAny
		}
		for i, item := range list {
			f, err := predicate(item, at+"."+op+"."+strconv.Itoa(i))
			if err != nil {
				return Filter{}, err
			}
			if op == "$any" {
				out.Any = append(out.Any, f)
			} else {
				out.All = append(out.All, f)
			}
		}
		return out, nil
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := Filter{Op: opAll}
	for _, k := range keys {
		if strings.HasPrefix(k, "$") {
			return Filter{}, errs.InputErrorf("invalid query at %s: unknown operator %s", at, k)
		}
		f, err := fieldPredicate(k, m[k], at+"."+k)
		if err != nil {
			return Filter{}, err
		}
		out.All = append(out.All, f)
	}
	if len(out.All) == 1 {
		return out.All[0], nil
	}
	return out, nil
}

func primitive(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case json.Number:
		return v.String(), true
	case bool:
		return strconv.FormatBool(v), true
	}
	return "", false
}

func fieldPredicate(key string, v any, at string) (Filter, error) {
	if s, ok := primitive(v); ok {
		return KeyFilter(key, s), nil
	}
	m, ok := v.(map[string]any)
	if !ok || len(m) != 1 {
		return Filter{}, errs.InputErrorf("invalid query at %s: expected a value or an object with one operator ($exists, $in, $hasPrefix, $contains)", at)
	}
	for op, arg := range m {
		switch op {
		case "$exists":
			b, ok := arg.(bool)
			if !ok {
				return Filter{}, errs.InputErrorf("invalid query at %s.$exists: expected true or false", at)
			}
			f := KeyFilter(key)
			if !b {
				return Filter{Op: opNot, Not: &f}, nil
			}
			return f, nil
		case "$in":
			list, ok := arg.([]any)
			if !ok {
				return Filter{}, errs.InputErrorf("invalid query at %s.$in: expected an array", at)
			}
			values := make([]string, 0, len(list))
			for _, x := range list {
				s, ok := primitive(x)
				if !ok {
					return Filter{}, errs.InputErrorf("invalid query at %s.$in: expected strings, numbers or booleans", at)
				}
				values = append(values, s)
			}
			if len(values) == 0 {
				// Nothing is in an empty list.
				return Filter{Op: opAny}, nil
			}
			return KeyFilter(key, values...), nil
		case "$hasPrefix":
			s, ok := arg.(string)
			if !ok {
				return Filter{}, errs.InputErrorf("invalid query at %s.$hasPrefix: expected a string", at)
			}
			return Filter{Op: opKey, Key: key, Prefix: s}, nil
		case "$contains":
			if s, ok := primitive(arg); ok {
				return KeyFilter(key, s), nil
			}
			obj, ok := arg.(map[string]any)
			if !ok || !strings.EqualFold(key, "relations") {
				return Filter{}, errs.InputErrorf("invalid query at %s.$contains: expected a value (or {type, targetRef} for relations)", at)
			}
			typ, _ := obj["type"].(string)
			target, _ := obj["targetRef"].(string)
			if typ == "" {
				return Filter{}, errs.InputErrorf("invalid query at %s.$contains: a relation needs a type", at)
			}
			if target == "" {
				return KeyFilter("relations." + typ), nil
			}
			return KeyFilter("relations."+typ, target), nil
		default:
			return Filter{}, errs.InputErrorf("invalid query at %s: unknown operator %s", at, op)
		}
	}
	panic("unreachable")
}

// sqlArgs collects bound parameters while SQL text is built.
type sqlArgs struct {
	args []any
}

func (a *sqlArgs) add(v any) string {
	a.args = append(a.args, v)
	return "$" + strconv.Itoa(len(a.args))
}

// escapeLike escapes LIKE wildcards; patterns use ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// sql renders the filter as a condition on f.search_id. Each key test is
// a probe that the (search_id, key) key answers with one seek, so a
// page of a list ordered by entity_ref stops after limit matches (as IN
// over the search rows, SQLite built the whole set of matches first:
// 690 ms at 100k entities).
func (f *Filter) sql(a *sqlArgs) string { return f.sqlOn(a, "f.search_id", true) }

// sqlOn renders the filter as a condition on the search id column col. With
// probe, each key test is a correlated subquery (one index seek per candidate row:
// best when rows are walked in some order and the walk stops early);
// otherwise an IN over the search rows (one scan of the key: best for
// counts and sets).
func (f *Filter) sqlOn(a *sqlArgs, col string, probe bool) string {
	switch f.Op {
	case opAll, opAny:
		list, join, empty := f.All, " AND ", "1=1"
		if f.Op == opAny {
			list, join, empty = f.Any, " OR ", "1=0"
		}
		if len(list) == 0 {
			return empty
		}
		parts := make([]string, len(list))
		for i := range list {
			parts[i] = list[i].sqlOn(a, col, probe)
		}
		return "(" + strings.Join(parts, join) + ")"
	case opNot:
		return "NOT " + f.Not.sqlOn(a, col, probe)
	case opIDs:
		if len(f.ids) == 0 {
			return "1=0"
		}
		ps := make([]string, len(f.ids))
		for i, id := range f.ids {
			ps[i] = a.add(id)
		}
		return col + " IN (" + strings.Join(ps, ", ") + ")"
	case opKey:
		cond := "key = " + a.add(strings.ToLower(f.Key))
		switch {
		case f.Prefix != "":
			cond += " AND s.value LIKE " + a.add(escapeLike(strings.ToLower(f.Prefix))+"%") + ` ESCAPE '\'`
		case len(f.Values) == 1:
			cond += " AND s.value = " + a.add(strings.ToLower(f.Values[0]))
		case len(f.Values) > 1:
			ps := make([]string, len(f.Values))
			for i, v := range f.Values {
				ps[i] = a.add(strings.ToLower(v))
			}
			cond += " AND s.value IN (" + strings.Join(ps, ", ") + ")"
		}
		if !probe {
			return col + " IN (SELECT s.search_id FROM catalog_search s WHERE s." + cond + ")"
		}
		// A scalar subquery rather than EXISTS: PostgreSQL turns EXISTS
		// into a semi-join that builds every match before the page is
		// sorted (330 ms at 10k entities), while a scalar subquery stays a
		// probe per row of the ordered walk, which stops after limit rows.
		return "((SELECT 1 FROM catalog_search s WHERE s.search_id = " + col + " AND s." + cond + " LIMIT 1) IS NOT NULL)"
	}
	panic(fmt.Sprintf("unknown filter op %q", f.Op))
}

// refRange returns a condition on the entity_ref column col that every
// entity matching f meets, or "" when f implies none: a kind filter means
// the ref starts with "<kind>:". Walking the refs in order, a page then
// starts at the first entity of the kind instead of probing every entity
// of the kinds before it (15k APIs before the first Component at 100k
// entities). The range compares bytes: col must be in byte order (SQLite's
// BINARY collation, COLLATE "C" on PostgreSQL).
func (f *Filter) refRange(a *sqlArgs, col string) string {
	switch f.Op {
	case opAll:
		for i := range f.All {
			if r := f.All[i].refRange(a, col); r != "" {
				return r
			}
		}
	case opAny:
		if len(f.Any) == 0 {
			return ""
		}
		// Every alternative needs a range; parameters are only kept when
		// all have one (an unused parameter is an error on PostgreSQL).
		scratch := &sqlArgs{args: slices.Clone(a.args)}
		parts := make([]string, len(f.Any))
		for i := range f.Any {
			if parts[i] = f.Any[i].refRange(scratch, col); parts[i] == "" {
				return ""
			}
		}
		a.args = scratch.args
		return "(" + strings.Join(parts, " OR ") + ")"
	case opKey:
		if !strings.EqualFold(f.Key, "kind") || f.Prefix != "" || len(f.Values) == 0 {
			return ""
		}
		parts := make([]string, len(f.Values))
		for i, v := range f.Values {
			kind := strings.ToLower(v)
			// ";" follows ":" in byte order.
			// The casts give PostgreSQL the parameters' type, which a
			// comparison with a COLLATE expression does not.
			parts[i] = "(" + col + " >= CAST(" + a.add(kind+":") + " AS TEXT) AND " + col + " < CAST(" + a.add(kind+";") + " AS TEXT))"
		}
		return "(" + strings.Join(parts, " OR ") + ")"
	}
	return ""
}
