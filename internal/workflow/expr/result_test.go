package expr

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"math/big"
	"sync"
	"testing"
	"time"
)

func TestCondition(t *testing.T) {
	// SonataFlow reads a condition with Jackson's JsonNode.asBoolean
	// (kogito JsonObjectUtils.convertValue): only true, the text "true" and
	// non-zero integers are true.
	tests := []struct {
		src  string
		want bool
	}{
		{`true`, true},
		{`false`, false},
		{`null`, false},
		{`empty`, false},
		{`"true"`, true},
		{`" true "`, true},
		{`"TRUE"`, false},
		{`"yes"`, false},
		{`1`, true},
		{`0`, false},
		{`-3`, true},
		{`1.5`, false},
		{`2.0`, true},
		{`[true]`, false},
		{`{}`, false},
		{`true, true`, false}, // two outputs collect into an array
		{`.language == "English"`, true},
		{`${ .language == "Spanish" }`, false},
	}
	input := map[string]any{"language": "English"}
	for _, tt := range tests {
		e, err := Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Condition(context.Background(), input, Vars{})
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("Condition(%s) = %v, want %v", tt.src, got, tt.want)
		}
	}
	if !Truthy(big.NewInt(5)) || Truthy(json.Number("0")) || !Truthy(json.Number("7")) {
		t.Error("Truthy on big.Int or json.Number is wrong")
	}
}

func TestText(t *testing.T) {
	tests := []struct{ src, want string }{
		{`.name`, `Ann`},
		{`.n`, `3`},
		{`.missing`, ``},
		{`.name, .n`, `Ann 3`},
		{`.name, .missing`, `Ann `},
		{`.obj`, `{"a":1}`},
		{`"Result is: "+(.n|tostring)`, `Result is: 3`},
		{`Hello \(.name)`, `Hello Ann`},
	}
	input := map[string]any{"name": "Ann", "n": 3, "obj": map[string]any{"a": 1}}
	for _, tt := range tests {
		e, err := Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		got, err := e.Text(context.Background(), input, Vars{})
		if err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("Text(%s) = %q, want %q", tt.src, got, tt.want)
		}
	}
}

func TestTemplate(t *testing.T) {
	ev := Evaluator{Cache: NewCache(64), Options: []Option{WithFunctions(map[string]string{"greet": `"Hi " + .name`})}}
	input := js(t, `{"kind": "k", "lang": "en", "caller": "me", "name": "Ann", "result": 3, "a": "x"}`)
	tests := []struct {
		name, tmpl, want string
	}{
		// corpus custom-rest-interpolation-prefixes: arguments of a custom rest function.
		{"corpus: rest arguments",
			`{"kind": ".kind", "QUERY_lang": ".lang", "HEADER_X-Caller": ".caller", "explicit": "${ \"Hi \\(.name)\" }", "implicit": "Hello \\(.name)!"}`,
			`{"kind": "k", "QUERY_lang": "en", "HEADER_X-Caller": "me", "explicit": "Hi Ann", "implicit": "Hello Ann!"}`},
		// corpus expression-const-secret-workflow-vars: sysout message.
		{"corpus: sysout message", `{"message": "\"Result is: \"+(.result|tostring)"}`, `{"message": "Result is: 3"}`},
		{"plain text is kept",
			`{"a": "Hello world", "b": "application/json", "c": "https://example.com/x?y=1", "d": "$.greeting $.name", "e": "Hi ${ .name }", "f": "hello", "g": ""}`,
			`{"a": "Hello world", "b": "application/json", "c": "https://example.com/x?y=1", "d": "$.greeting $.name", "e": "Hi ${ .name }", "f": "hello", "g": ""}`},
		{"jq literals become values", `{"t": "true", "n": "42", "z": "null"}`, `{"t": true, "n": 42, "z": null}`},
		{"SonataFlow: failing expression keeps its text", `{"bad": ".a + 1"}`, `{"bad": ".a + 1"}`},
		{"non-strings kept, nested values evaluated", `{"n": 1, "b": false, "z": null, "list": [".name", 2, {"deep": "${ .lang }"}]}`,
			`{"n": 1, "b": false, "z": null, "list": ["Ann", 2, {"deep": "en"}]}`},
		{"keys are not evaluated", `{".name": ".name"}`, `{".name": "Ann"}`},
		{"fn: in a template", `{"m": "fn:greet"}`, `{"m": "Hi Ann"}`},
		{"a bare string", `"${ .kind }"`, `"k"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ev.Template(context.Background(), js(t, tt.tmpl), input, Vars{})
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, js(t, tt.want)) {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
	t.Run("timeout is an error", func(t *testing.T) {
		ev := Evaluator{Options: []Option{WithTimeout(20 * time.Millisecond)}}
		_, err := ev.Template(context.Background(), map[string]any{"x": "last(range(1e15))"}, nil, Vars{})
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want deadline exceeded", err)
		}
	})
	t.Run("Go values from a YAML decoder", func(t *testing.T) {
		got, err := ev.Template(context.Background(), map[string]any{"n": int64(3), "l": []string{".name"}}, input, Vars{})
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, got, js(t, `{"n": 3, "l": ["Ann"]}`)) {
			t.Errorf("got %v", got)
		}
	})
}

func TestNormalize(t *testing.T) {
	type point struct {
		X int `json:"x"`
	}
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"map[string]int", map[string]int{"a": 1}, `{"a": 1}`},
		{"[]int", []int{1, 2}, `[1, 2]`},
		{"struct", point{X: 3}, `{"x": 3}`},
		{"pointer to struct", &point{X: 4}, `{"x": 4}`},
		{"nested typed map", map[string]any{"m": map[string]int{"a": 1}, "s": []string{"x"}}, `{"m": {"a": 1}, "s": ["x"]}`},
		{"int64 and uint8", []any{int64(5), uint8(6), float32(1.5)}, `[5, 6, 1.5]`},
		{"json.Number", []any{json.Number("12"), json.Number("1.25")}, `[12, 1.25]`},
		{"map[any]any from YAML", map[any]any{"a": map[any]any{1: true}}, `{"a": {"1": true}}`},
		{"[]map[string]any", []map[string]any{{"a": 1}}, `[{"a": 1}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, js(t, tt.want)) {
				t.Errorf("got %#v, want %s", got, tt.want)
			}
			// And jq accepts it.
			e, _ := Compile(`.`)
			if _, err := e.Eval(context.Background(), tt.in, Vars{}); err != nil {
				t.Errorf("Eval: %v", err)
			}
		})
	}
	big := uint64(math.MaxUint64)
	if v, err := Normalize(big); err != nil || v.(interface{ String() string }).String() != "18446744073709551615" {
		t.Errorf("Normalize(MaxUint64) = %v, %v", v, err)
	}
	cyclic := map[string]any{}
	cyclic["self"] = cyclic
	bad := []any{make(chan int), math.NaN(), func() {}, cyclic, map[string]any{"x": math.Inf(1)}}
	for _, v := range bad {
		if _, err := Normalize(v); err == nil {
			t.Errorf("Normalize(%T) gave no error", v)
		}
		e, _ := Compile(`.`)
		_, err := e.Eval(context.Background(), v, Vars{})
		var xe *Error
		if !errors.As(err, &xe) || xe.Kind != KindInput {
			t.Errorf("Eval(%T) error = %v, want an input *Error", v, err)
		}
		_, err = e.Eval(context.Background(), nil, Vars{Const: v})
		if err != nil {
			t.Errorf("unused $CONST was converted: %v", err)
		}
	}
	e, _ := Compile(`$CONST`)
	if _, err := e.Eval(context.Background(), nil, Vars{Const: make(chan int)}); err == nil {
		t.Error("a bad $CONST value gave no error")
	}
}

func TestCache(t *testing.T) {
	c := NewCache(2)
	a1, err := c.Compile(".a")
	if err != nil {
		t.Fatal(err)
	}
	a2, _ := c.Compile(".a")
	if a1.prog != a2.prog {
		t.Error("same text compiled twice")
	}
	f1, _ := c.Compile("fn:x", WithFunctions(map[string]string{"x": ".a"}))
	f2, _ := c.Compile("fn:x", WithFunctions(map[string]string{"x": ".b"}))
	if f1.prog == f2.prog {
		t.Error("different function sets share a program")
	}
	if c.Len() != 2 {
		t.Errorf("Len = %d, want 2 (bounded)", c.Len())
	}
	_, err1 := c.Compile("Hello world")
	_, err2 := c.Compile("Hello world")
	if err1 == nil || err1 != err2 {
		t.Errorf("compile errors not cached: %v, %v", err1, err2)
	}
	var nilCache *Cache
	if _, err := nilCache.Compile(".a"); err != nil {
		t.Errorf("nil cache: %v", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	e, err := Compile(`{greeting: "Hello \(.name)", id: $WORKFLOW.instanceId, item: $item}`)
	if err != nil {
		t.Fatal(err)
	}
	cache := NewCache(8)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				input := map[string]any{"name": "n", "i": i}
				vars := Vars{Workflow: Workflow{InstanceID: "inst"}, Process: map[string]any{"item": g}}
				v, err := e.Eval(context.Background(), input, vars)
				if err != nil {
					t.Error(err)
					return
				}
				m := v.(map[string]any)
				if m["item"] != g || m["id"] != "inst" || m["greeting"] != "Hello n" {
					t.Errorf("goroutine %d got %v", g, m)
					return
				}
				src := []string{".a", ".b", ".c", "fn:x", ".name"}[i%5]
				ce, err := cache.Compile(src, WithFunctions(map[string]string{"x": ".i"}))
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := ce.Eval(context.Background(), input, vars); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestEvaluatorHelpers(t *testing.T) {
	ev := &Evaluator{Cache: NewCache(8), Options: []Option{WithVariables("$extra"), WithTimeout(time.Second)}}
	ctx := context.Background()
	in := map[string]any{"a": 1}
	if s, err := ev.Text(ctx, `Value: \(.a)`, in, Vars{}); err != nil || s != "Value: 1" {
		t.Errorf("Text = %q, %v", s, err)
	}
	if ok, err := ev.Condition(ctx, `$extra == null`, in, Vars{}); err != nil || !ok {
		t.Errorf("Condition = %v, %v", ok, err)
	}
	if _, err := ev.Text(ctx, `Hello world`, in, Vars{}); !IsCompileError(err) {
		t.Errorf("Text of plain text: %v", err)
	}
	if _, err := ev.Condition(ctx, `.a.b`, in, Vars{}); err == nil {
		t.Error("Condition of a failing expression gave no error")
	}
	_, err := Compile(`.a |`)
	want := `jq expression ".a |": compile error: syntax error at offset 4: unexpected EOF`
	if err == nil || err.Error() != want {
		t.Errorf("error text = %v, want %s", err, want)
	}
}
