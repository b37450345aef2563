package jsonorder_test

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/jsonorder"
)

// benchSchema is a form schema of the size RHDH workflows have: 40
// properties, each with a title, a description, a default and a nested
// object of 5 more; about 20 KB.
func benchSchema() []byte {
	var b strings.Builder
	b.WriteString(`{"$schema":"http://json-schema.org/draft-07/schema#","type":"object","title":"Bench","properties":{`)
	for i := range 40 {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"field%02d":{"type":"object","title":"Field %d","description":"What field %d is for, in a sentence <b>or two</b>.","properties":{`, 39-i, i, i)
		for j := range 5 {
			if j > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `"sub%d":{"type":"string","default":"value %d","maxLength":%d,"enum":["a","b","c"]}`, 4-j, j, 100+j)
		}
		b.WriteString(`},"required":["sub0"]}`)
	}
	b.WriteString(`},"required":["field00","field01"]}`)
	return []byte(b.String())
}

// BenchmarkEncode compares what a schema route costs to encode (with
// SetEscapeHTML(false), as httpapi.WriteJSON does): the plain map before,
// the ordered object now.
func BenchmarkEncode(b *testing.B) {
	doc := benchSchema()
	ordered, err := jsonorder.Unmarshal(doc)
	if err != nil {
		b.Fatal(err)
	}
	plain := jsonorder.Plain(ordered)
	for _, c := range []struct {
		name string
		v    any
	}{{"map", plain}, {"object", ordered}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(doc)))
			b.ReportAllocs()
			for b.Loop() {
				enc := json.NewEncoder(io.Discard)
				enc.SetEscapeHTML(false)
				if err := enc.Encode(c.v); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkDecode compares decoding a schema into maps and into ordered
// objects (done once per workflow version, when it is loaded).
func BenchmarkDecode(b *testing.B) {
	doc := benchSchema()
	b.Run("map", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			var v any
			if err := json.Unmarshal(doc, &v); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("object", func(b *testing.B) {
		b.SetBytes(int64(len(doc)))
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jsonorder.Unmarshal(doc); err != nil {
				b.Fatal(err)
			}
		}
	})
}
