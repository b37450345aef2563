package jsonorder_test

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/portico-dev/portico/internal/jsonorder"
)

func TestRoundTripKeepsOrder(t *testing.T) {
	docs := []string{
		`{"zeta":1,"alpha":{"mid":true,"beta":null,"aa":[{"z":"x","a":"<&>"},2.5,"s"]},"mid":[]}`,
		`[{"b":1,"a":2},{}]`,
		`"text"`,
		`1e+21`,
		`{}`,
		`{"unicode \u2028":"é\u0000"}`,
	}
	for _, doc := range docs {
		v, err := jsonorder.Unmarshal([]byte(doc))
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		out, err := jsonorder.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		// encoding/json spells scalars the same way; only HTML escaping
		// differs, and Marshal does not escape.
		var plain any
		if err := json.Unmarshal([]byte(doc), &plain); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(jsonorder.Plain(v), plain) {
			t.Errorf("%s: decoded values differ from encoding/json's: %#v", doc, jsonorder.Plain(v))
		}
		var want strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(json.RawMessage(doc))
		if string(out) != strings.TrimSuffix(want.String(), "\n") {
			t.Errorf("round trip of %s = %s", doc, out)
		}
		// Nested in other values, encoding/json writes it in order too.
		wrapped, err := json.Marshal(map[string]any{"v": v})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(wrapped), strings.NewReplacer("<", `\u003c`, ">", `\u003e`, "&", `\u0026`).Replace(string(out))) {
			t.Errorf("json.Marshal of %s = %s", doc, wrapped)
		}
	}
}

func TestObjectMethods(t *testing.T) {
	var o jsonorder.Object // the zero value is usable
	o.Set("zeta", 1)
	o.Set("alpha", 2)
	o.Set("mid", 3)
	o.Set("zeta", 4) // keeps its place
	if got := o.Keys(); !reflect.DeepEqual(got, []string{"zeta", "alpha", "mid"}) {
		t.Errorf("keys = %v", got)
	}
	if v, ok := o.Get("zeta"); !ok || v != 4 {
		t.Errorf("zeta = %v %v", v, ok)
	}
	o.Delete("alpha")
	o.Delete("missing")
	var seen []string
	for k := range o.All() {
		seen = append(seen, k)
	}
	if !reflect.DeepEqual(seen, []string{"zeta", "mid"}) || o.Len() != 2 {
		t.Errorf("after delete: %v (len %d)", seen, o.Len())
	}
	b, err := json.Marshal(&o)
	if err != nil || string(b) != `{"zeta":4,"mid":3}` {
		t.Errorf("marshal = %s %v", b, err)
	}
	var nilObj *jsonorder.Object
	if nilObj.Len() != 0 || nilObj.Keys() != nil {
		t.Error("a nil object is not empty")
	}
	if _, ok := nilObj.Get("x"); ok {
		t.Error("a nil object has a key")
	}
}

func TestUnmarshalJSONIntoObject(t *testing.T) {
	var s struct {
		Schema *jsonorder.Object `json:"schema"`
	}
	if err := json.Unmarshal([]byte(`{"schema":{"b":{"y":1,"x":2},"a":[{"q":1,"p":2}]}}`), &s); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(s)
	if string(b) != `{"schema":{"b":{"y":1,"x":2},"a":[{"q":1,"p":2}]}}` {
		t.Errorf("got %s", b)
	}
	var o jsonorder.Object
	if err := json.Unmarshal([]byte(`[1]`), &o); err == nil {
		t.Error("an array decoded into an object")
	}
	o.Set("kept", true)
	if err := o.UnmarshalJSON([]byte(`null`)); err != nil || o.Len() != 1 {
		t.Errorf("null: %v, %d keys", err, o.Len())
	}
}

func TestDuplicateKeys(t *testing.T) {
	// As JSON.parse: the first place, the last value.
	v, err := jsonorder.Unmarshal([]byte(`{"a":1,"b":2,"a":3}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := jsonorder.Marshal(v)
	if string(b) != `{"a":3,"b":2}` {
		t.Errorf("got %s", b)
	}
}

func TestInvalid(t *testing.T) {
	for _, doc := range []string{``, `{`, `{"a"}`, `{"a":1,}`, `[1,]`, `{"a":1} x`, `{1:2}`, `nul`, `{"a":1}{}`} {
		if _, err := jsonorder.Unmarshal([]byte(doc)); err == nil {
			t.Errorf("%q decoded", doc)
		}
		if json.Valid([]byte(doc)) {
			t.Errorf("test case %q is valid JSON", doc)
		}
	}
}

func TestDepthBounds(t *testing.T) {
	deep := func(n int, open, close string) []byte {
		return []byte(strings.Repeat(open, n) + strings.Repeat(close, n))
	}
	// encoding/json's own limit: what it accepts is accepted here.
	for _, c := range []struct{ open, close string }{{"[", "]"}, {`{"a":`, "}"}} {
		ok := deep(jsonorder.MaxDepth, c.open, c.close)
		if c.open != "[" {
			ok = []byte(strings.Repeat(c.open, jsonorder.MaxDepth) + "1" + strings.Repeat(c.close, jsonorder.MaxDepth))
		}
		v, err := jsonorder.Unmarshal(ok)
		if err != nil {
			t.Fatalf("%d levels of %s: %v", jsonorder.MaxDepth, c.open, err)
		}
		if _, err := jsonorder.Marshal(v); err != nil {
			t.Errorf("encode %d levels: %v", jsonorder.MaxDepth, err)
		}
		var plain any
		if err := json.Unmarshal(ok, &plain); err != nil {
			t.Fatalf("encoding/json refuses %d levels: %v", jsonorder.MaxDepth, err)
		}
		tooDeep := append([]byte(c.open), ok...)
		tooDeep = append(tooDeep, c.close...)
		if _, err := jsonorder.Unmarshal(tooDeep); !errors.Is(err, jsonorder.ErrTooDeep) {
			t.Errorf("%d levels: err = %v, want ErrTooDeep", jsonorder.MaxDepth+1, err)
		}
	}
	// A tree built in Go deeper than the bound (or a cycle) fails to
	// encode instead of recursing without end.
	o := &jsonorder.Object{}
	o.Set("self", o)
	if _, err := jsonorder.Marshal(o); !errors.Is(err, jsonorder.ErrTooDeep) {
		t.Errorf("cycle: err = %v", err)
	}
}

func TestPlain(t *testing.T) {
	v, _ := jsonorder.Unmarshal([]byte(`{"b":[{"d":1}],"a":{"c":"x"}}`))
	want := map[string]any{"b": []any{map[string]any{"d": float64(1)}}, "a": map[string]any{"c": "x"}}
	if got := jsonorder.Plain(v); !reflect.DeepEqual(got, want) {
		t.Errorf("Plain = %#v", got)
	}
	if jsonorder.Plain("s") != "s" || jsonorder.Plain(nil) != nil {
		t.Error("scalars change")
	}
	// Plain copies: changing the copy leaves the original alone.
	p := jsonorder.Plain(v).(map[string]any)
	p["a"].(map[string]any)["c"] = "changed"
	if c, _ := v.(*jsonorder.Object).Get("a"); c.(*jsonorder.Object).Len() != 1 {
		t.Error("original changed")
	} else if s, _ := c.(*jsonorder.Object).Get("c"); s != "x" {
		t.Errorf("original changed: %v", s)
	}
}

func TestMarshalMapsAndOtherValues(t *testing.T) {
	o := &jsonorder.Object{}
	o.Set("z", map[string]any{"b": 1, "a": []string{"<x>"}})
	o.Set("a", struct {
		N int `json:"n"`
	}{3})
	b, err := jsonorder.Marshal(o)
	if err != nil || string(b) != `{"z":{"a":["<x>"],"b":1},"a":{"n":3}}` {
		t.Errorf("got %s %v", b, err)
	}
	if _, err := jsonorder.Marshal(map[string]any{"f": func() {}}); err == nil {
		t.Error("a func encoded")
	}
}

func TestOrderLikeYAML(t *testing.T) {
	src := `
zeta: {type: string}
alpha:
  type: object
  properties:
    z2: {type: number}
    a2: {type: string}
list:
  items:
    - {y: 1, x: 2}
base: &base {m: 1, k: 2}
merged:
  <<: *base
  c: 3
ref: *base
`
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	// A conversion that sorted the keys (json.Marshal of a map).
	var m map[string]any
	if err := n.Decode(&m); err != nil {
		t.Fatal(err)
	}
	sorted, _ := json.Marshal(m)
	v, err := jsonorder.Unmarshal(sorted)
	if err != nil {
		t.Fatal(err)
	}
	jsonorder.OrderLikeYAML(v, &n)
	b, _ := jsonorder.Marshal(v)
	want := `{"zeta":{"type":"string"},"alpha":{"type":"object","properties":{"z2":{"type":"number"},"a2":{"type":"string"}}},` +
		`"list":{"items":[{"y":1,"x":2}]},"base":{"m":1,"k":2},"merged":{"c":3,"k":2,"m":1},"ref":{"m":1,"k":2}}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	// A node of another shape changes nothing.
	jsonorder.OrderLikeYAML(v, &yaml.Node{Kind: yaml.ScalarNode, Value: "x"})
	jsonorder.OrderLikeYAML(v, nil)
	if b2, _ := jsonorder.Marshal(v); string(b2) != want {
		t.Errorf("a scalar node changed the order: %s", b2)
	}
}

// stdEncode is what httpapi.WriteJSON writes for v.
func stdEncode(t testing.TB, v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

func TestScalarsAsEncodingJSON(t *testing.T) {
	values := []any{
		"", "plain", `quote " backslash \ slash /`, "<html> & co", "\x00\x01\b\f\n\r\t\x1f\x7f",
		"é ü 日本 🙂", "\u2028\u2029", "bad \xff utf-8 \xc3", "\xed\xa0\x80 surrogate",
		0.0, math.Copysign(0, -1), 1.0, -1.5, 1e20, 1e21, 1e-6, 1e-7, 123456789012345678, 5e-324, 1.7976931348623157e308, 0.1 + 0.2,
		true, false, nil,
		int64(42), json.Number("1.50"), []string{"a<b"}, map[string]int{"b": 1, "a": 2},
	}
	for _, v := range values {
		o := &jsonorder.Object{}
		o.Set("k", v)
		o.Set("\n<key>", []any{v})
		got, err := jsonorder.Marshal(o)
		if err != nil {
			t.Fatalf("%#v: %v", v, err)
		}
		want := stdEncode(t, map[string]any{"k": v}) // one key: no order question
		wantList := stdEncode(t, []any{v})
		if w := strings.TrimSuffix(want, "}") + `,"\n<key>":` + wantList + "}"; string(got) != w {
			t.Errorf("%#v: got %s, want %s", v, got, w)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1)} {
		if _, err := jsonorder.Marshal([]any{bad}); err == nil {
			t.Errorf("%v encoded", bad)
		}
	}
}

func FuzzStringsAsEncodingJSON(f *testing.F) {
	for _, s := range []string{"", "a\"b", "\xff", "\u2028", "<&>", "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := jsonorder.Marshal(s)
		if err != nil {
			t.Fatal(err)
		}
		if want := stdEncode(t, s); string(got) != want {
			t.Errorf("%q: got %s, want %s", s, got, want)
		}
	})
}

// FuzzUnmarshalAsEncodingJSON: the same values (and the same documents
// refused) as json.Unmarshal into an any.
func FuzzUnmarshalAsEncodingJSON(f *testing.F) {
	for _, s := range []string{`{"b":1,"a":[true,null,"x\u00e9\n"]}`, `{"a":1,"a":{"c":2}}`, `1e999`, `"\ud800"`, "\"\xff\"", `[1,]`, ` {} `, `-0.0e-5`, `{"a":"\/"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var want any
		wantErr := json.Unmarshal(data, &want)
		got, err := jsonorder.Unmarshal(data)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("%q: err = %v, encoding/json's = %v", data, err, wantErr)
		}
		if err == nil && !reflect.DeepEqual(jsonorder.Plain(got), want) {
			t.Fatalf("%q: got %#v, want %#v", data, jsonorder.Plain(got), want)
		}
	})
}
