package catalog

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"

	"go.yaml.in/yaml/v3"
)

// keyOrder records the order in which an author wrote the keys of an
// object, and of the objects nested in it. Go maps forget that order, but it
// matters: a Template's parameter properties are shown as form fields in
// the order they were written.
type keyOrder struct {
	keys   []string
	fields map[string]*keyOrder
	items  []*keyOrder
	// each applies to the items that items does not cover.
	each *keyOrder
}

// withDefaults returns o extended by keys it lacks, in the given order, so
// fields the author did not write (or entities built in Go) still come out
// in a readable order.
func withDefaults(o *keyOrder, keys ...string) *keyOrder {
	m := &keyOrder{fields: map[string]*keyOrder{}}
	if o != nil {
		m.keys = slices.Clone(o.keys)
		maps.Copy(m.fields, o.fields)
		m.items, m.each = o.items, o.each
	}
	for _, k := range keys {
		if !slices.Contains(m.keys, k) {
			m.keys = append(m.keys, k)
		}
	}
	return m
}

// The order of fields the catalog itself writes.
var (
	rootKeys        = []string{"apiVersion", "kind", "metadata", "spec", "relations", "status"}
	metadataKeys    = []string{"name", "namespace", "title", "description", "labels", "annotations", "tags", "links"}
	metadataLast    = []string{"uid", "etag"}
	linkOrder       = &keyOrder{keys: []string{"url", "title", "icon", "type"}}
	relationOrder   = &keyOrder{keys: []string{"type", "targetRef"}}
	statusItemOrder = &keyOrder{keys: []string{"type", "level", "message", "error"}}
	statusOrder     = &keyOrder{keys: []string{"items"}, fields: map[string]*keyOrder{"items": {each: statusItemOrder}}}
)

func (o *keyOrder) field(k string) *keyOrder {
	if o == nil {
		return nil
	}
	return o.fields[k]
}

func (o *keyOrder) item(i int) *keyOrder {
	if o == nil {
		return nil
	}
	if i < len(o.items) && o.items[i] != nil {
		return o.items[i]
	}
	return o.each
}

// orderedKeys returns m's keys: first those o knows, in its order, then the
// rest sorted.
func (o *keyOrder) orderedKeys(m map[string]any) []string {
	if o == nil {
		return slices.Sorted(maps.Keys(m))
	}
	keys := make([]string, 0, len(m))
	for _, k := range o.keys {
		if _, ok := m[k]; ok {
			keys = append(keys, k)
		}
	}
	if len(keys) == len(m) {
		return keys
	}
	var rest []string
	for k := range m {
		if !slices.Contains(o.keys, k) {
			rest = append(rest, k)
		}
	}
	slices.Sort(rest)
	return append(keys, rest...)
}

// orderFromYAML records the key order of a YAML node. Aliases are not
// followed (their objects come out sorted), so a hostile file cannot make
// this expensive.
func orderFromYAML(n *yaml.Node) *keyOrder {
	switch n.Kind {
	case yaml.MappingNode:
		o := &keyOrder{fields: map[string]*keyOrder{}}
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := n.Content[i].Value
			o.keys = append(o.keys, k)
			if c := orderFromYAML(n.Content[i+1]); c != nil {
				o.fields[k] = c
			}
		}
		return o
	case yaml.SequenceNode:
		var o *keyOrder
		for i, c := range n.Content {
			if co := orderFromYAML(c); co != nil {
				if o == nil {
					o = &keyOrder{items: make([]*keyOrder, len(n.Content))}
				}
				o.items[i] = co
			}
		}
		return o
	}
	return nil
}

// orderFromJSON records the key order of a JSON document; it returns nil
// for anything it cannot read (the caller reports decoding errors). It
// scans the bytes itself: every stored entity is decoded when processed and
// stitched, and json.Decoder's tokens cost a tenth of all allocations.
func orderFromJSON(data []byte) *keyOrder {
	sc := orderScanner{data: data}
	o, ok := sc.value()
	if !ok {
		return nil
	}
	return o
}

// orderScanner reads the key order of JSON that json.Unmarshal has
// accepted; on anything else it reports failure.
type orderScanner struct {
	data []byte
	pos  int
}

func (sc *orderScanner) skipSpace() {
	for sc.pos < len(sc.data) {
		switch sc.data[sc.pos] {
		case ' ', '\t', '\n', '\r':
			sc.pos++
		default:
			return
		}
	}
}

// value reads one value and returns the order of its objects (nil for
// scalars and for arrays without objects).
func (sc *orderScanner) value() (*keyOrder, bool) {
	sc.skipSpace()
	if sc.pos >= len(sc.data) {
		return nil, false
	}
	switch sc.data[sc.pos] {
	case '{':
		sc.pos++
		o := &keyOrder{fields: map[string]*keyOrder{}}
		sc.skipSpace()
		if sc.pos < len(sc.data) && sc.data[sc.pos] == '}' {
			sc.pos++
			return o, true
		}
		for {
			sc.skipSpace()
			k, ok := sc.str()
			if !ok {
				return nil, false
			}
			sc.skipSpace()
			if sc.pos >= len(sc.data) || sc.data[sc.pos] != ':' {
				return nil, false
			}
			sc.pos++
			c, ok := sc.value()
			if !ok {
				return nil, false
			}
			o.keys = append(o.keys, k)
			if c != nil {
				o.fields[k] = c
			}
			sc.skipSpace()
			if sc.pos >= len(sc.data) {
				return nil, false
			}
			sc.pos++
			switch sc.data[sc.pos-1] {
			case ',':
				continue
			case '}':
				return o, true
			}
			return nil, false
		}
	case '[':
		sc.pos++
		var o *keyOrder
		sc.skipSpace()
		if sc.pos < len(sc.data) && sc.data[sc.pos] == ']' {
			sc.pos++
			return nil, true
		}
		for i := 0; ; i++ {
			c, ok := sc.value()
			if !ok {
				return nil, false
			}
			if c != nil {
				if o == nil {
					o = &keyOrder{}
				}
				for len(o.items) < i {
					o.items = append(o.items, nil)
				}
				o.items = append(o.items, c)
			}
			sc.skipSpace()
			if sc.pos >= len(sc.data) {
				return nil, false
			}
			sc.pos++
			switch sc.data[sc.pos-1] {
			case ',':
				continue
			case ']':
				return o, true
			}
			return nil, false
		}
	case '"':
		_, ok := sc.str()
		return nil, ok
	default:
		// A number, true, false or null: up to the next delimiter.
		for sc.pos < len(sc.data) {
			switch sc.data[sc.pos] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return nil, true
			}
			sc.pos++
		}
		return nil, true
	}
}

// str reads a string; keys with escapes are decoded by encoding/json.
func (sc *orderScanner) str() (string, bool) {
	if sc.pos >= len(sc.data) || sc.data[sc.pos] != '"' {
		return "", false
	}
	start := sc.pos
	escaped := false
	for sc.pos++; sc.pos < len(sc.data); sc.pos++ {
		switch sc.data[sc.pos] {
		case '\\':
			escaped = true
			sc.pos++
		case '"':
			sc.pos++
			raw := sc.data[start:sc.pos]
			if !escaped {
				return string(raw[1 : len(raw)-1]), true
			}
			var s string
			if err := json.Unmarshal(raw, &s); err != nil {
				return "", false
			}
			return s, true
		}
	}
	return "", false
}

// appendJSON writes v as JSON with object keys in o's order. Strings are
// not HTML-escaped, so "<", ">" and "&" come out as written, as they do
// from JavaScript's JSON.stringify.
func appendJSON(buf *bytes.Buffer, v any, o *keyOrder) error {
	switch v := v.(type) {
	case map[string]any:
		buf.WriteByte('{')
		for i, k := range o.orderedKeys(v) {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := appendScalar(buf, k); err != nil {
				return err
			}
			buf.WriteByte(':')
			if err := appendJSON(buf, v[k], o.field(k)); err != nil {
				return err
			}
		}
		buf.WriteByte('}')
		return nil
	case []any:
		buf.WriteByte('[')
		for i, x := range v {
			if i > 0 {
				buf.WriteByte(',')
			}
			if err := appendJSON(buf, x, o.item(i)); err != nil {
				return err
			}
		}
		buf.WriteByte(']')
		return nil
	case map[string]string:
		m := make(map[string]any, len(v))
		for k, s := range v {
			m[k] = s
		}
		return appendJSON(buf, m, o)
	default:
		return appendScalar(buf, v)
	}
}

func appendScalar(buf *bytes.Buffer, v any) error {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	buf.Truncate(buf.Len() - 1) // Encode's newline
	return nil
}
