package expr

import (
	"context"
	"encoding/json"
	"testing"
	"time"
)

// FuzzEvaluate checks that no expression text, input or template makes the
// package panic: everything must come back as a value or an *Error.
func FuzzEvaluate(f *testing.F) {
	seeds := []string{
		`${ .a }`, `.a`, `Hello \(.name)!`, `fn:isEnglish`, `$WORKFLOW.instanceId`, `$SECRET.x.y`,
		`.numbers | max_by(.x)`, `{result: .number, message: .message}`, `$.greeting $.name`,
		`${ {a: .a | } }`, `def f: f; f`, `[.[] | tostring]`, `"x \(fn:inc)"`, `.a |= . + 1`,
		`{{ .a }}`, `${`, `fn:`, `"`, `\(`, `limit(3; repeat(1))`, `getpath(["a","b"])`,
		`$.[?(@.age >= 18)]`, `$..a[*]`, `$['a','b'][0:2]`, `$[?(@.a =~ /x/i || !@.b)]`,
		`$__loc__`, `input`, `@base64d`, `ltrimstr(1)`, `tojson|fromjson`, `halt_error(1)`,
	}
	for _, s := range seeds {
		f.Add(s, `{"a": 1, "name": "x", "numbers": [{"x": 1}]}`)
	}
	f.Add(`.[0]`, `[1, "a", null, {"b": [2.5]}]`)
	f.Fuzz(fuzzOne)
}

func fuzzOne(t *testing.T, src, input string) {
	fns := map[string]string{"isEnglish": `.language == "English"`, "inc": `. + 1`, "self": `fn:self`}
	{
		var in any
		if json.Unmarshal([]byte(input), &in) != nil {
			in = input
		}
		ctx := context.Background()
		vars := Vars{Process: map[string]any{"item": in}, Workflow: Workflow{Input: in}}
		if e, err := Compile(src, WithFunctions(fns), WithTimeout(20*time.Millisecond)); err == nil {
			_, _ = e.Eval(ctx, in, vars)
			_, _ = e.Condition(ctx, in, vars)
			_, _ = e.Text(ctx, in, vars)
			_, _ = e.First(ctx, in, vars)
		} else if !IsCompileError(err) {
			t.Fatalf("Compile(%q) error is not a compile *Error: %v", src, err)
		}
		if e, err := Compile(src, WithLanguage(LangJSONPath), WithFunctions(fns)); err == nil {
			_, _ = e.Eval(ctx, in, vars)
			_, _ = e.Condition(ctx, in, vars)
		} else if !IsCompileError(err) {
			t.Fatalf("Compile(%q) as JSONPath: error is not a compile *Error: %v", src, err)
		}
		ev := Evaluator{Options: []Option{WithFunctions(fns), WithTimeout(20 * time.Millisecond)}}
		_, _ = ev.Template(ctx, map[string]any{"x": src, "l": []any{src}}, in, vars)
		_, _ = ev.MergeActionResult(ctx, ActionFilter{Results: src, ToStateData: src}, in, in, vars)
		_ = Merge(in, in, true)
		_, _ = ToStatePath(src)
	}
}
