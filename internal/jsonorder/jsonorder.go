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
	"io"
	"iter"
	"maps"
	"slices"
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

// Keys returns the keys in order. The slice is the object's own: do not
// modify it.
func (o *Object) Keys() []string {
	if o == nil {
		return nil
	}
	return o.keys
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
	d := json.NewDecoder(bytes.NewReader(data))
	tok, err := d.Token()
	if err != nil {
		return fmt.Errorf("jsonorder: %w", err)
	}
	if tok != json.Delim('{') {
		return fmt.Errorf("jsonorder: cannot decode %s into an object", describe(tok))
	}
	dec := decoder{d: d}
	got, err := dec.object(1)
	if err != nil {
		return err
	}
	if err := dec.end(); err != nil {
		return err
	}
	*o = *got
	return nil
}

// Unmarshal decodes a JSON document as json.Unmarshal into an `any` does
// (strings, float64, bool, nil, []any), except that objects become
// *Object. Duplicate keys keep their first place and their last value.
func Unmarshal(data []byte) (any, error) {
	dec := decoder{d: json.NewDecoder(bytes.NewReader(data))}
	v, err := dec.value(0)
	if err != nil {
		return nil, err
	}
	if err := dec.end(); err != nil {
		return nil, err
	}
	return v, nil
}

type decoder struct{ d *json.Decoder }

func (dec *decoder) value(depth int) (any, error) {
	tok, err := dec.d.Token()
	if err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, fmt.Errorf("jsonorder: %w", err)
	}
	switch tok {
	case json.Delim('{'):
		return dec.object(depth + 1)
	case json.Delim('['):
		return dec.array(depth + 1)
	}
	return tok, nil
}

// object reads the members of an object whose '{' was read.
func (dec *decoder) object(depth int) (*Object, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	o := &Object{vals: map[string]any{}}
	for dec.d.More() {
		tok, err := dec.d.Token()
		if err != nil {
			return nil, fmt.Errorf("jsonorder: %w", err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, fmt.Errorf("jsonorder: object key is %s", describe(tok))
		}
		v, err := dec.value(depth)
		if err != nil {
			return nil, err
		}
		o.Set(key, v)
	}
	if _, err := dec.d.Token(); err != nil { // '}'
		return nil, fmt.Errorf("jsonorder: %w", err)
	}
	return o, nil
}

// array reads the items of an array whose '[' was read.
func (dec *decoder) array(depth int) ([]any, error) {
	if depth > MaxDepth {
		return nil, ErrTooDeep
	}
	out := []any{}
	for dec.d.More() {
		v, err := dec.value(depth)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	if _, err := dec.d.Token(); err != nil { // ']'
		return nil, fmt.Errorf("jsonorder: %w", err)
	}
	return out, nil
}

// end fails if anything but white space follows the value, as
// json.Unmarshal does.
func (dec *decoder) end() error {
	if _, err := dec.d.Token(); err != io.EOF {
		if err == nil {
			return errors.New("jsonorder: invalid character after top-level value")
		}
		return fmt.Errorf("jsonorder: %w", err)
	}
	return nil
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		return fmt.Sprintf("%q", string(t))
	case string:
		return "a string"
	case nil:
		return "null"
	default:
		return fmt.Sprintf("%T", tok)
	}
}

// Marshal encodes v as JSON: *Object keys in their order, map keys sorted
// (as encoding/json sorts them), everything else as encoding/json encodes
// it, without HTML escaping. It encodes the whole tree in one pass, where
// json.Marshal would re-check a Marshaler's output at every level.
func Marshal(v any) ([]byte, error) {
	e := &encoder{}
	e.enc = json.NewEncoder(&e.scratch)
	e.enc.SetEscapeHTML(false)
	if err := e.value(v, 0); err != nil {
		return nil, err
	}
	return e.buf.Bytes(), nil
}

type encoder struct {
	buf     bytes.Buffer
	scratch bytes.Buffer
	enc     *json.Encoder
}

func (e *encoder) value(v any, depth int) error {
	if depth > MaxDepth {
		return ErrTooDeep
	}
	switch t := v.(type) {
	case nil:
		e.buf.WriteString("null")
	case *Object:
		if t == nil {
			e.buf.WriteString("null")
			return nil
		}
		e.buf.WriteByte('{')
		for i, k := range t.keys {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.scalar(k); err != nil {
				return err
			}
			e.buf.WriteByte(':')
			if err := e.value(t.vals[k], depth+1); err != nil {
				return err
			}
		}
		e.buf.WriteByte('}')
	case map[string]any:
		if t == nil {
			e.buf.WriteString("null")
			return nil
		}
		e.buf.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(t)) {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.scalar(k); err != nil {
				return err
			}
			e.buf.WriteByte(':')
			if err := e.value(t[k], depth+1); err != nil {
				return err
			}
		}
		e.buf.WriteByte('}')
	case []any:
		if t == nil {
			e.buf.WriteString("null")
			return nil
		}
		e.buf.WriteByte('[')
		for i, item := range t {
			if i > 0 {
				e.buf.WriteByte(',')
			}
			if err := e.value(item, depth+1); err != nil {
				return err
			}
		}
		e.buf.WriteByte(']')
	default:
		return e.scalar(v)
	}
	return nil
}

// scalar encodes v with encoding/json, so strings and numbers are spelled
// exactly as json.Marshal spells them.
func (e *encoder) scalar(v any) error {
	e.scratch.Reset()
	if err := e.enc.Encode(v); err != nil {
		return fmt.Errorf("jsonorder: %w", err)
	}
	b := e.scratch.Bytes()
	e.buf.Write(b[:len(b)-1]) // Encode ends with a newline
	return nil
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
