// Package jsonorder decodes and encodes JSON objects with their keys in the
// order they were written.
//
// Go maps forget that order, but some clients depend on it: JSON Schema form
// renderers (rjsf in Backstage's scaffolder and in the RHDH orchestrator
// plugin) show a schema's properties in the order of its keys. A document
// decoded with [Unmarshal] holds every object as an [*Object]; encoding it
// (with encoding/json or [Marshal]) writes the keys back in that order.
// Code that wants plain maps (a schema compiler, type assertions) takes a
// copy with [Plain].
package jsonorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"maps"
	"math"
	"slices"
	"strconv"
	"unicode/utf8"
)

// MaxDepth bounds how deeply arrays and objects may nest, in decoding and
// in encoding. It is encoding/json's own limit, so a document that package
// accepts is accepted here too, and a hostile one cannot exhaust memory
// through recursion.
const MaxDepth = 10000

// ErrTooDeep is returned for documents nested deeper than MaxDepth.
var ErrTooDeep = errors.New("jsonorder: nested deeper than 10000 levels")

// Object is a JSON object that remembers the order of its keys. The zero
// value is an empty object ready to use. It is not safe for concurrent
// writes; concurrent reads are fine.
type Object struct {
	keys []string
	vals map[string]any
}

// NewObject returns an empty object with room for n keys.
func NewObject(n int) *Object {
	return &Object{keys: make([]string, 0, n), vals: make(map[string]any, n)}
}

// Len is the number of keys.
func (o *Object) Len() int {
	if o == nil {
		return 0
	}
	return len(o.keys)
}

// Keys returns the keys in order. The slice is the object's own and valid
// until the object changes: do not modify it (appending to it copies it).
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return o.keys[:len(o.keys):len(o.keys)]
}

// Get returns the value of key.
func (o *Object) Get(key string) (any, bool) {
	if o == nil {
		return nil, false
	}
	v, ok := o.vals[key]
	return v, ok
}

// Set sets key to v. A new key goes last; a key already present keeps its
// place, as JavaScript objects (and JSON.parse with duplicate keys) do.
func (o *Object) Set(key string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// Delete removes key.
func (o *Object) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	o.keys = slices.DeleteFunc(o.keys, func(k string) bool { return k == key })
}

// All yields the keys and their values in order.
func (o *Object) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		if o == nil {
			return
		}
		for _, k := range o.keys {
			if !yield(k, o.vals[k]) {
				return
			}
		}
	}
}

// MarshalJSON implements json.Marshaler: the keys in their order, nested
// objects too. Strings are not HTML-escaped here (json.Marshal escapes the
// result afterwards if it was asked to; an encoder with SetEscapeHTML(false)
// keeps them as written).
func (o *Object) MarshalJSON() ([]byte, error) {
	return Marshal(o)
}

// UnmarshalJSON implements json.Unmarshaler; see [Unmarshal] for the values
// it holds.
func (o *Object) UnmarshalJSON(data []byte) error {
	v, err := Unmarshal(data)
	if err != nil {
		return err
	}
	got, ok := v.(*Object)
	if v == nil {
		return nil // null changes nothing, as with json.Unmarshal
	}
	if !ok {
		return fmt.Errorf("jsonorder: cannot decode %s into an object", KindOf(v))
	}
	*o = *got
	return nil
}

// KindOf names the JSON kind of a decoded value ("an object", "an array",
// "a string", "a number", "a boolean", "null"), for error messages.
func KindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case *Object, map[string]any:
		return "an object"
	case []any:
		return "an array"
	case string:
		return "a string"
	case float64, json.Number:
		return "a number"
	case bool:
		return "a boolean"
	}
	return fmt.Sprintf("%T", v)
}

// Unmarshal decodes a JSON document as json.Unmarshal into an `any` does
// (strings, float64, bool, nil, []any), except that objects become
// *Object. Duplicate keys keep their first place and their last value.
// Invalid documents fail with encoding/json's own error.
func Unmarshal(data []byte) (any, error) {
	// json.Valid checks the syntax (and encoding/json's nesting limit,
	// MaxDepth), so the parser below can trust the bytes it reads.
	if !json.Valid(data) {
		return nil, stdError(data)
	}
	p := parser{data: data}
	v, ok := p.value(0)
	if !ok {
		return nil, stdError(data)
	}
	return v, nil
}

// stdError is encoding/json's error for what the parser refused, or
// ErrTooDeep.
func stdError(data []byte) error {
	if tooDeep(data) {
		return ErrTooDeep
	}
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return fmt.Errorf("jsonorder: %w", err)
	}
	return errors.New("jsonorder: cannot decode the document")
}

// tooDeep reports whether arrays and objects nest deeper than MaxDepth
// somewhere in data.
func tooDeep(data []byte) bool {
	depth, inString := 0, false
	for i := 0; i < len(data); i++ {
		c := data[i]
		switch {
		case inString:
			if c == '\\' {
				i++
			} else if c == '"' {
				inString = false
			}
		case c == '"':
			inString = true
		case c == '{' || c == '[':
			if depth++; depth > MaxDepth {
				return true
			}
		case c == '}' || c == ']':
			depth--
		}
	}
	return false
}

// parser reads JSON that json.Valid accepted. It reports failure (then the
// caller asks encoding/json why) for what it does not spell as encoding/json
// would decode it: numbers out of float64's range.
type parser struct {
	data []byte
	pos  int
}

func (p *parser) skipSpace() {
	for p.pos < len(p.data) {
		switch p.data[p.pos] {
		case ' ', '\t', '\n', '\r':
			p.pos++
		default:
			return
		}
	}
}

func (p *parser) value(depth int) (any, bool) {
	p.skipSpace()
	if p.pos >= len(p.data) {
		return nil, false
	}
	switch c := p.data[p.pos]; c {
	case '{':
		if depth >= MaxDepth {
			return nil, false
		}
		p.pos++
		o := &Object{vals: map[string]any{}}
		p.skipSpace()
		if p.data[p.pos] == '}' {
			p.pos++
			return o, true
		}
		for {
			p.skipSpace()
			k, ok := p.str()
			if !ok {
				return nil, false
			}
			p.skipSpace()
			p.pos++ // ':'
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			o.Set(k, v)
			p.skipSpace()
			if p.data[p.pos] == '}' {
				p.pos++
				return o, true
			}
			p.pos++ // ','
		}
	case '[':
		if depth >= MaxDepth {
			return nil, false
		}
		p.pos++
		out := []any{}
		p.skipSpace()
		if p.data[p.pos] == ']' {
			p.pos++
			return out, true
		}
		for {
			v, ok := p.value(depth + 1)
			if !ok {
				return nil, false
			}
			out = append(out, v)
			p.skipSpace()
			if p.data[p.pos] == ']' {
				p.pos++
				return out, true
			}
			p.pos++ // ','
		}
	case '"':
		return p.str()
	case 't':
		p.pos += len("true")
		return true, true
	case 'f':
		p.pos += len("false")
		return false, true
	case 'n':
		p.pos += len("null")
		return nil, true
	default:
		start := p.pos
		for p.pos < len(p.data) {
			c := p.data[p.pos]
			if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
				break
			}
			p.pos++
		}
		f, err := strconv.ParseFloat(string(p.data[start:p.pos]), 64)
		if err != nil {
			return nil, false
		}
		return f, true
	}
}

// str reads a string at p.pos. Plain strings (no escapes, valid UTF-8)
// are copied as they are; others go through encoding/json, which knows
// every escape and replaces invalid UTF-8 as json.Unmarshal does.
func (p *parser) str() (string, bool) {
	if p.pos >= len(p.data) || p.data[p.pos] != '"' {
		return "", false
	}
	start := p.pos
	p.pos++
	plain := true
	for p.pos < len(p.data) {
		c := p.data[p.pos]
		if c == '"' {
			break
		}
		if c == '\\' {
			plain = false
			p.pos++
		} else if c >= utf8.RuneSelf {
			plain = false
		}
		p.pos++
	}
	if p.pos >= len(p.data) {
		return "", false
	}
	p.pos++ // the closing quote
	raw := p.data[start:p.pos]
	if plain || utf8.Valid(raw) && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), true
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", false
	}
	return s, true
}

// Marshal encodes v as JSON: *Object keys in their order, map keys sorted
// (as encoding/json sorts them), everything else as encoding/json encodes
// it, without HTML escaping. It encodes the whole tree in one pass, where
// json.Marshal would re-check a Marshaler's output at every level.
func Marshal(v any) ([]byte, error) {
	e := &encoder{}
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.buf, nil
}

type encoder struct {
	buf []byte
	// other encodes values of other types, made when first needed.
	other   *json.Encoder
	scratch bytes.Buffer
}

func (e *encoder) value(v any, depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	switch t := v.(type) {
	case nil:
		e.buf = append(e.buf, "null"...)
	case string:
		e.buf = appendString(e.buf, t)
	case float64:
		if math.IsInf(t, 0) || math.IsNaN(t) {
			return fmt.Errorf("jsonorder: unsupported value: %v", t)
		}
		e.buf = appendFloat(e.buf, t)
	case bool:
		e.buf = strconv.AppendBool(e.buf, t)
	case *Object:
		if t == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '{')
		for i, k := range t.keys {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = appendString(e.buf, k)
			e.buf = append(e.buf, ':')
			if err := e.value(t.vals[k], depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '}')
	case map[string]any:
		if t == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '{')
		for i, k := range slices.Sorted(maps.Keys(t)) {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			e.buf = appendString(e.buf, k)
			e.buf = append(e.buf, ':')
			if err := e.value(t[k], depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, '}')
	case []any:
		if t == nil {
			e.buf = append(e.buf, "null"...)
			return nil
		}
		e.buf = append(e.buf, '[')
		for i, item := range t {
			if i > 0 {
				e.buf = append(e.buf, ',')
			}
			if err := e.value(item, depth+1); err != nil {
				return err
			}
		}
		e.buf = append(e.buf, ']')
	default:
		// Anything else (numbers of other types, structs, typed maps)
		// is spelled by encoding/json itself.
		if e.other == nil {
			e.other = json.NewEncoder(&e.scratch)
			e.other.SetEscapeHTML(false)
		}
		e.scratch.Reset()
		if err := e.other.Encode(v); err != nil {
			return fmt.Errorf("jsonorder: %w", err)
		}
		b := e.scratch.Bytes()
		e.buf = append(e.buf, b[:len(b)-1]...) // Encode ends with a newline
	}
	return nil
}

// appendString quotes s as encoding/json does with HTML escaping off:
// control characters, quotes and backslashes escaped, invalid UTF-8 as
// U+FFFD, U+2028 and U+2029 escaped for JSONP's sake.
func appendString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := utf8.DecodeRuneInString(s[i:])
		if c == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if c == '\u2028' || c == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[c&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendFloat spells f as encoding/json does (as JavaScript does).
func appendFloat(dst []byte, f float64) []byte {
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, f, format, -1, 64)
	if format == 'e' {
		// e-09 becomes e-9
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst
}

// Plain returns a copy of v in which every *Object is a map[string]any, for
// code that reads decoded JSON the usual way (type assertions, schema
// compilers). Values that hold no object are returned as they are.
func Plain(v any) any {
	switch t := v.(type) {
	case *Object:
		if t == nil {
			return nil
		}
		m := make(map[string]any, len(t.keys))
		for _, k := range t.keys {
			m[k] = Plain(t.vals[k])
		}
		return m
	case map[string]any:
		if t == nil {
			return t
		}
		m := make(map[string]any, len(t))
		for k, val := range t {
			m[k] = Plain(val)
		}
		return m
	case []any:
		if t == nil {
			return t
		}
		out := make([]any, len(t))
		for i, item := range t {
			out[i] = Plain(item)
		}
		return out
	}
	return v
}
