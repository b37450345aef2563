package catalog

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParseYAMLDocuments(t *testing.T) {
	src := `# comment only document
---
apiVersion: v1
kind: A
metadata: {name: a}
---
---
- just
- a list
---
base: &base
  x: 1
copy: *base
<<: {merged: false}
num: 0x1F
float: 1.5e3
big: 12345678901234567890
yes: yes
when: 2001-12-14
null_value: ~
---
"a string"
`
	docs, err := ParseYAML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 4 {
		t.Fatalf("got %d documents, want 4 (empty ones skipped): %+v", len(docs), docs)
	}
	if docs[0].Line != 3 || docs[0].Err != nil {
		t.Errorf("doc 0: line %d err %v", docs[0].Line, docs[0].Err)
	}
	if docs[1].Err == nil || !strings.Contains(docs[1].Err.Error(), "got a list") || docs[1].Line != 8 {
		t.Errorf("doc 1: line %d err %v", docs[1].Line, docs[1].Err)
	}
	got, _ := json.Marshal(docs[2].Value)
	want := `{"\u003c\u003c":{"merged":false},"base":{"x":1},"big":12345678901234567890,"copy":{"x":1},"float":1500,"null_value":null,"num":31,"when":"2001-12-14","yes":"yes"}`
	if string(got) != want {
		t.Errorf("doc 2:\n got %s\nwant %s", got, want)
	}
	if docs[3].Err == nil || !strings.Contains(docs[3].Err.Error(), "got a string") {
		t.Errorf("doc 3: %v", docs[3].Err)
	}
}

func TestParseYAMLErrors(t *testing.T) {
	tests := []struct {
		src      string
		line     int
		want     string
		whole    bool // an error for the whole file rather than one document
		document int
	}{
		{src: "a: 1\nb: [\n", whole: true, want: "malformed YAML"},
		{src: "a: 1\n  b: 2\n", whole: true, want: "malformed YAML", line: 2},
		{src: "ok: 1\nname: caf\xe9\n", whole: true, want: "not valid UTF-8", line: 2},
		{src: "a: 1\nb: 2\na: 3\n", line: 3, want: `duplicate key "a" (first at line 1)`},
		{src: "a: .inf\n", line: 1, want: "cannot be represented in JSON"},
		{src: "? [a, b]\n: c\n", line: 1, want: "mapping keys must be strings"},
	}
	for _, tt := range tests {
		docs, err := ParseYAML([]byte(tt.src))
		if tt.whole {
			if err == nil {
				t.Errorf("%q: no error", tt.src)
				continue
			}
		} else {
			if err != nil || len(docs) != 1 {
				t.Errorf("%q: err %v, %d docs", tt.src, err, len(docs))
				continue
			}
			err = docs[0].Err
		}
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.Contains(se.Msg, tt.want) || (tt.line != 0 && se.Line != tt.line) {
			t.Errorf("%q: got %v, want line %d %q", tt.src, err, tt.line, tt.want)
		}
	}
}

func TestParseYAMLAliasBomb(t *testing.T) {
	src := "a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\n"
	docs, err := ParseYAML([]byte(src))
	if err == nil && (len(docs) != 1 || docs[0].Err == nil) {
		t.Fatal("an alias bomb should be rejected")
	}
}

func TestFieldLine(t *testing.T) {
	src := `apiVersion: v1
kind: Component
metadata:
  name: x
  labels:
    example.com/team: a
  tags:
    - ok
    - "bad tag"
spec:
  dependsOn: [a, b]
`
	docs, err := ParseYAML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	d := &docs[0]
	for field, want := range map[string]int{
		"":                                 1,
		"kind":                             2,
		"metadata.name":                    4,
		"metadata.labels.example.com/team": 6,
		"metadata.tags.1":                  9,
		"spec.dependsOn.1":                 11,
		"spec.owner":                       10, // missing: the enclosing field
		"relations":                        1,
	} {
		if got := d.FieldLine(field); got != want {
			t.Errorf("FieldLine(%q) = %d, want %d", field, got, want)
		}
	}
}
