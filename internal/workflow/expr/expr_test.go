package expr

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// js decodes a JSON literal for use as an input or expected value.
func js(t testing.TB, s string) any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatalf("bad JSON %s: %v", s, err)
	}
	n, err := Normalize(v)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func sameJSON(t testing.TB, got, want any) bool {
	t.Helper()
	g, err := json.Marshal(got)
	if err != nil {
		t.Fatalf("marshal %v: %v", got, err)
	}
	w, _ := json.Marshal(want)
	var gv, wv any
	_ = json.Unmarshal(g, &gv)
	_ = json.Unmarshal(w, &wv)
	return reflect.DeepEqual(gv, wv)
}

func TestEval(t *testing.T) {
	vars := Vars{
		Const:   js(t, `{"dog": {"castellano": "perro"}}`),
		Secrets: SecretsFromProperties(map[string]string{"expression.my_name": "javi", "token": "t0k"}),
		Workflow: Workflow{
			ID: "greeting", Name: "Greeting workflow", InstanceID: "6f1c",
			Headers:          map[string]string{"pepe": "pepa"},
			PrevActionResult: 4,
			Identity:         "user:default/ann",
			Input:            js(t, `{"numbers": [{"x": 2}]}`),
			Extra:            map[string]any{"responseHeaders": map[string]any{"X-Custom-Header": "MyHeaderValue"}},
		},
		Process: map[string]any{
			"item":            3,
			"initiatorEntity": "user:default/ann",
		},
	}
	fns := map[string]string{
		"max":       "{max: .numbers | max_by(.x), min: .numbers | min_by(.y)}",
		"isEnglish": `.language == "English"`,
		"double":    "$WORKFLOW.prevActionResult*2",
		"increase":  "$item + 1",
		"wrapped":   "${ .language }",
		"alias":     "fn:isEnglish",
	}
	input := `{"language": "English", "name": "Ann", "numbers": [{"x": 1, "y": 5}, {"x": 7, "y": 2}], "message": "hi"}`
	tests := []struct {
		name, src, want string
	}{
		// ${ } is optional (reference §1.6; corpus switch conditions use both forms).
		{"wrapped", `${ .language == "English" }`, `true`},
		{"bare", `.language == "English"`, `true`},
		{"wrapped no spaces", `${.name}`, `"Ann"`},
		{"legacy braces", `{{ .name }}`, `"Ann"`},
		{"wrapper surrounded by spaces", `  ${ .name }  `, `"Ann"`},
		// SonataFlow's string-interpolation fallback (JqExpression.handleStringInterpolation).
		{"interpolation fallback", `Hello \(.name)!`, `"Hello Ann!"`},
		{"interpolation fallback in wrapper", `${ Hello \(.name) }`, `"Hello Ann"`},
		{"explicit jq string", `${ "Hi \(.name)" }`, `"Hi Ann"`},
		// Variables.
		{"$CONST", `$CONST.dog.castellano`, `"perro"`},
		{"$SECRET path", `$SECRET.expression.my_name`, `"javi"`},
		{"$SECRET flat key", `$SECRET["expression.my_name"]`, `"javi"`},
		{"$SECRETS alias", `$SECRETS.token`, `"t0k"`},
		{"$WORKFLOW.instanceId", `$WORKFLOW.instanceId`, `"6f1c"`},
		{"$WORKFLOW.id and name", `[$WORKFLOW.id, $WORKFLOW.name]`, `["greeting", "Greeting workflow"]`},
		{"$WORKFLOW.headers", `.message |=.+" and the header pepe is "+$WORKFLOW.headers.pepe`, `{"language": "English", "name": "Ann", "numbers": [{"x": 1, "y": 5}, {"x": 7, "y": 2}], "message": "hi and the header pepe is pepa"}`},
		{"$WORKFLOW.identity", `$WORKFLOW.identity`, `"user:default/ann"`},
		{"$WORKFLOW.input", `$WORKFLOW.input.numbers[0].x`, `2`},
		{"$WORKFLOW extra key", `$WORKFLOW.responseHeaders["X-Custom-Header"] == "MyHeaderValue"`, `true`},
		{"$WORKFLOW.prevActionResult", `$WORKFLOW.prevActionResult*2`, `8`},
		{"process variable", `$initiatorEntity`, `"user:default/ann"`},
		{"foreach item", `$item + 1`, `4`},
		{"missing process variable is null", `$targetEntity`, `null`},
		{"local variable shadows", `. as $item | $item.name`, `"Ann"`},
		// fn: expression functions.
		{"fn: whole", `fn:isEnglish`, `true`},
		{"fn: wrapped", `${ fn:isEnglish }`, `true`},
		{"fn: object", `fn:max`, `{"max": {"x": 7, "y": 2}, "min": {"x": 7, "y": 2}}`},
		{"fn: with variables", `fn:double`, `8`},
		{"fn: operation wrapped", `fn:wrapped`, `"English"`},
		{"fn: to fn:", `fn:alias`, `true`},
		{"fn: inside jq", `[fn:increase, (fn:max | .max.x)]`, `[4, 7]`},
		{"fn: inside interpolation", `"n=\(fn:increase)"`, `"n=4"`},
		{"fn: inside interpolation fallback", `n=\(fn:increase)`, `"n=4"`},
		{"object key fn is not a reference", `{fn: .name}`, `{"fn": "Ann"}`},
		// Results.
		{"several outputs become an array", `.numbers[].x`, `[1, 7]`},
		{"no output is null", `empty`, `null`},
		{"halt stops cleanly", `1, halt, 2`, `1`},
		{"literal", `true`, `true`},
		{"env is empty", `$ENV | length`, `0`},
		{"env builtin is empty", `env | length`, `0`},
		{"try catch", `try error("x") catch .`, `"x"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := Compile(tt.src, WithFunctions(fns))
			if err != nil {
				t.Fatal(err)
			}
			got, err := e.Eval(context.Background(), js(t, input), vars)
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, js(t, tt.want)) {
				t.Errorf("Eval(%s) = %#v, want %s", tt.src, got, tt.want)
			}
		})
	}
}

func TestCompileErrors(t *testing.T) {
	fns := map[string]string{"loop1": "fn:loop2", "loop2": "fn:loop1", "a": "1 + fn:b", "b": "fn:a + 1"}
	tests := []string{
		``,
		`${ }`,
		`hello`,         // a function that does not exist
		`Hello world`,   // plain text: no interpolation to fall back to
		`Hi ${ .name }`, // SonataFlow does not interpolate ${ } inside text
		`$.greeting $.name`,
		`${ {a: .a | } }`, // reject-invalid-jq-filter corpus
		`"unterminated`,
		`fn:nope`,
		`fn:loop1`,
		`fn:a`,
		`.x | fn:b`,
		`.a | input`, // input/inputs are disabled
	}
	for _, src := range tests {
		t.Run(src, func(t *testing.T) {
			_, err := Compile(src, WithFunctions(fns))
			var e *Error
			if !errors.As(err, &e) || e.Kind != KindCompile {
				t.Fatalf("Compile(%q) error = %v, want a compile *Error", src, err)
			}
			if e.Expr != src {
				t.Errorf("Error.Expr = %q, want %q", e.Expr, src)
			}
			if !IsCompileError(Check(src, WithFunctions(fns))) {
				t.Errorf("Check(%q) did not report a compile error", src)
			}
		})
	}
}

func TestRuntimeErrors(t *testing.T) {
	tests := []struct{ src, input string }{
		{`.a + 1`, `{"a": "x"}`},
		{`error("boom")`, `{}`},
		{`.[0]`, `{"a": 1}`},
		{`halt_error`, `"bye"`},
	}
	for _, tt := range tests {
		e, err := Compile(tt.src)
		if err != nil {
			t.Fatal(err)
		}
		_, err = e.Eval(context.Background(), js(t, tt.input), Vars{})
		var xe *Error
		if !errors.As(err, &xe) || xe.Kind != KindRuntime || xe.Expr != tt.src {
			t.Errorf("Eval(%q) error = %v, want a runtime *Error", tt.src, err)
		}
	}
}

func TestFirst(t *testing.T) {
	e, _ := Compile(`.[]`)
	v, err := e.First(context.Background(), []any{1, 2}, Vars{})
	if err != nil || v != 1 {
		t.Errorf("First = %v, %v; want 1", v, err)
	}
	_, err = e.First(context.Background(), []any{}, Vars{})
	if !errors.Is(err, ErrNoOutput) {
		t.Errorf("First on no output: error = %v, want ErrNoOutput", err)
	}
}

func TestTimeout(t *testing.T) {
	for _, src := range []string{`def f: f; f`, `last(range(1e15))`, `[repeat(1)] | length`} {
		t.Run(src, func(t *testing.T) {
			e, err := Compile(src, WithTimeout(50*time.Millisecond))
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = e.Eval(context.Background(), nil, Vars{})
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("error = %v, want deadline exceeded", err)
			}
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("took %v to stop", d)
			}
		})
	}
	t.Run("caller context", func(t *testing.T) {
		e, _ := Compile(`last(range(1e15))`, WithTimeout(time.Hour))
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if _, err := e.Eval(ctx, nil, Vars{}); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("error = %v, want deadline exceeded", err)
		}
	})
	t.Run("cancelled before start", func(t *testing.T) {
		e, _ := Compile(`.`)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := e.Eval(ctx, 1, Vars{}); !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want canceled", err)
		}
	})
}

func TestDeepNestingIsFast(t *testing.T) {
	// Text is scanned once for fn: references, however strings and
	// interpolations nest.
	src := strings.Repeat(`"\(`, 2000) + "fn:one" + strings.Repeat(`)"`, 2000)
	start := time.Now()
	_, _ = Compile(src, WithFunctions(map[string]string{"one": "1"}))
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("compiling took %v", d)
	}
	defs, body, err := inlineFunctions(`"a\("b\(fn:one)c")d" # fn:one`+"\n"+`| fn:one`, map[string]string{"one": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if text, want := defs+body, `def __fn_one: 1; "a\("b\(__fn_one)c")d" # fn:one`+"\n"+`| __fn_one`; text != want {
		t.Errorf("inlineFunctions = %q, want %q", text, want)
	}
}

func TestVariables(t *testing.T) {
	e, err := Compile(`$WORKFLOW.instanceId + $item + "\($initiatorEntity)" | . as $x | $x`)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Join(e.Variables(), ",")
	if want := "WORKFLOW,initiatorEntity,item,x"; got != want {
		t.Errorf("Variables() = %s, want %s", got, want)
	}
}
