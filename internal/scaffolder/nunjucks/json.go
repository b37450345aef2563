package nunjucks

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// ParseJSON decodes a JSON document for use as render data, keeping the
// order of object keys (a Go map would lose it). Templates then print and
// iterate objects in document order, as nunjucks.js does with parsed
// JSON. Numbers become float64; objects are opaque values that templates
// read like maps and ToGo turns back into map[string]any.
func ParseJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeOrdered(dec, 0)
	if err != nil {
		return nil, fmt.Errorf("parse JSON: %w", err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, errors.New("parse JSON: unexpected data after the document")
	}
	return v, nil
}

// maxJSONDepth bounds nesting so hostile documents cannot exhaust the stack.
const maxJSONDepth = 1000

func decodeOrdered(dec *json.Decoder, depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errors.New("document nests too deeply")
	}
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case json.Delim:
		switch t {
		case '{':
			o := newObject(4)
			for dec.More() {
				kt, err := dec.Token()
				if err != nil {
					return nil, err
				}
				k, ok := kt.(string)
				if !ok {
					return nil, fmt.Errorf("object key %v is not a string", kt)
				}
				v, err := decodeOrdered(dec, depth+1)
				if err != nil {
					return nil, err
				}
				o.set(k, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return o, nil
		case '[':
			arr := []any{}
			for dec.More() {
				v, err := decodeOrdered(dec, depth+1)
				if err != nil {
					return nil, err
				}
				arr = append(arr, v)
			}
			if _, err := dec.Token(); err != nil {
				return nil, err
			}
			return arr, nil
		}
		return nil, fmt.Errorf("unexpected %v", t)
	case json.Number:
		f, err := t.Float64()
		if err != nil {
			return nil, err
		}
		return f, nil
	}
	return tok, nil // string, bool or nil
}

// MarshalJSON writes an ordered object as JSON in its key order, so data
// from ParseJSON survives encoding/json (undefined values are dropped, as
// JSON.stringify drops them).
func (o *object) MarshalJSON() ([]byte, error) {
	s, _ := jsonStringify(o, "")
	return []byte(s), nil
}
