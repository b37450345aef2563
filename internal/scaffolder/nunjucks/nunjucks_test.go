package nunjucks_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
)

func render(t *testing.T, env *nunjucks.Environment, src string, data map[string]any) string {
	t.Helper()
	out, err := env.RenderString(context.Background(), src, data)
	if err != nil {
		t.Fatalf("render %q: %v", src, err)
	}
	return out
}

func TestRenderString(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{})
	data := map[string]any{
		"parameters": map[string]any{"name": "svc", "count": 3, "tags": []string{"a", "b"}},
		"n":          int64(7),
	}
	tests := []struct{ name, src, want string }{
		{"output", "Hello ${{ parameters.name }}", "Hello svc"},
		{"go int", "${{ parameters.count + 1 }}", "4"},
		{"go []string", "${{ parameters.tags | join('-') }} ${{ parameters.tags.length }}", "a-b 2"},
		{"int64", "${{ n * 2 }}", "14"},
		{"macro", "{% macro f(a, b='d') %}${{ a }}${{ b }}{% endmacro %}${{ f('x') }}${{ f('y', 'z') }}${{ f('k', b='w') }}", "xdyzkw"},
		{"for-else", "{% for x in [] %}x{% else %}empty{% endfor %}", "empty"},
		{"cookiecutter delimiters are text", "{{ x }}", "{{ x }}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(t, env, tt.src, data); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestRenderValue(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{})
	data := map[string]any{
		"parameters": map[string]any{"name": "svc", "port": 8080.0, "on": true, "tags": []any{"a", "b"}, "meta": map[string]any{"k": "v"}},
	}
	tests := []struct {
		name string
		src  string
		want any
	}{
		{"number", "${{ parameters.port }}", 8080.0},
		{"bool", "${{ parameters.on }}", true},
		// Text around the expression, white space included, makes a string
		// (a YAML block scalar ends with a newline).
		{"bool with a newline", "${{ parameters.on }}\n", "true\n"},
		{"array", "${{ parameters.tags }}", []any{"a", "b"}},
		{"object", "${{ parameters.meta }}", map[string]any{"k": "v"}},
		{"literal object", "${{ {a: 1, b: [true, none]} }}", map[string]any{"a": 1.0, "b": []any{true, nil}}},
		{"undefined", "${{ parameters.nope }}", nil},
		{"string", "${{ parameters.name }}", "svc"},
		{"mixed text is a string", "port ${{ parameters.port }}", "port 8080"},
		{"two expressions are a string", "${{ parameters.port }}${{ parameters.on }}", "8080true"},
		{"plain text", "hello", "hello"},
		{"block makes a string", "{% if true %}${{ parameters.port }}{% endif %}", "8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := env.RenderValue(context.Background(), tt.src, data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestCustomFiltersAndGlobals(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{
		Filters: map[string]nunjucks.Filter{
			"shout": func(v any, args ...any) (any, error) { return strings.ToUpper(v.(string)) + "!", nil },
			"fail":  func(v any, args ...any) (any, error) { return nil, errors.New("boom") },
		},
		Globals: map[string]any{"site": map[string]any{"name": "portico"}},
	})
	if got := render(t, env, "${{ site.name | shout }}", nil); got != "PORTICO!" {
		t.Errorf("got %q", got)
	}
	_, err := env.RenderString(context.Background(), "x\n  ${{ 1 | fail }}", nil)
	var te *nunjucks.Error
	if !errors.As(err, &te) || te.Line != 2 || !strings.Contains(err.Error(), "boom") {
		t.Errorf("got %v, want a line 2 error mentioning boom", err)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name     string
		opts     nunjucks.Options
		src      string
		line     int
		col      int
		contains string
		is       error
	}{
		{name: "unknown filter", src: "a\nb ${{ x | nosuch }}", line: 2, col: 11, contains: "filter not found: nosuch"},
		{name: "unclosed if", src: "{% if x %}\nyes", contains: "expected elif, else, or endif"},
		{name: "syntax error position", src: "line one\nline ${{ 1 + }}", line: 2, col: 14, contains: "unexpected token"},
		{name: "unknown tag", src: "{% frob %}", line: 1, col: 4, contains: "unknown block tag: frob"},
		{name: "include rejected", src: "{% include 'x' %}", contains: "not supported"},
		{name: "unclosed comment", src: "{# x", line: 1, col: 1, contains: "end of comment"},
		{name: "call undefined", src: "${{ nope() }}", contains: "Unable to call `nope`"},
		{name: "step budget", opts: nunjucks.Options{MaxSteps: 1000}, src: "{% for i in range(100000) %}${{ i }}{% endfor %}", contains: "step budget", is: nunjucks.ErrStepLimit},
		{name: "output cap", opts: nunjucks.Options{MaxOutputBytes: 100}, src: "{% for i in range(1000) %}xxxxxxxxxx{% endfor %}", contains: "output limit", is: nunjucks.ErrOutputLimit},
		{name: "string growth cap", opts: nunjucks.Options{MaxOutputBytes: 1000}, src: "{% set s = 'xx' %}{% for i in range(20) %}{% set s = s ~ s %}{% endfor %}", is: nunjucks.ErrOutputLimit},
		{name: "nesting", src: "${{ " + strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000) + " }}", contains: "nests too deeply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := strings.ReplaceAll(tt.src, "${{", tt.opts.VariableStart+"${{")
			if tt.opts.VariableStart == "" {
				src = tt.src
			}
			_, err := nunjucks.New(tt.opts).RenderString(context.Background(), src, map[string]any{"x": "v"})
			if err == nil {
				t.Fatal("want an error")
			}
			if tt.contains != "" && !strings.Contains(err.Error(), tt.contains) {
				t.Errorf("error %q does not contain %q", err, tt.contains)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %v is not %v", err, tt.is)
			}
			var te *nunjucks.Error
			if !errors.As(err, &te) {
				t.Fatalf("error %T is not a *nunjucks.Error", err)
			}
			if tt.line != 0 && (te.Line != tt.line || te.Column != tt.col) {
				t.Errorf("position %d:%d, want %d:%d (%v)", te.Line, te.Column, tt.line, tt.col, err)
			}
		})
	}
}

func TestContextCancel(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{MaxSteps: 1 << 30})
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := env.RenderString(ctx, "{% for i in range(1000000) %}{% for j in range(1000000) %}{% endfor %}{% endfor %}", nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
}

func TestConcurrentUse(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{CacheSize: 4})
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				src := "${{ name }}-" + strings.Repeat("x", (g+i)%7) + "${{ [1, 2] | random | string | replace(r/./, '') }}"
				out, err := env.RenderString(context.Background(), src, map[string]any{"name": "n"})
				if err != nil || !strings.HasPrefix(out, "n-") {
					t.Errorf("got %q, %v", out, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestFiltersNeverPanic calls every built-in filter, method and test with
// values of every kind as input and arguments: errors are fine (Nunjucks
// raises TypeErrors too), a recovered panic ("internal error") is not.
func TestFiltersNeverPanic(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{MaxSteps: 100000, MaxOutputBytes: 1 << 20})
	data := map[string]any{
		"s": "héllo wörld", "e": "", "n": -2.5, "z": 0.0, "big": 1e308, "t": true, "nul": nil,
		"arr": []any{3.0, "b", nil, true, []any{1.0}}, "ea": []any{}, "obj": map[string]any{"a": 1.0, "b": []any{"x"}},
	}
	values := []string{"missing", "nul", "t", "n", "z", "big", "(0/0)", "s", "e", "arr", "ea", "obj", "r/l+/g"}
	filters := []string{"abs", "batch", "capitalize", "center", "default", "dictsort", "dump", "escape", "first", "float",
		"forceescape", "groupby", "indent", "int", "join", "last", "length", "list", "lower", "nl2br", "random", "reject",
		"rejectattr", "replace", "reverse", "round", "safe", "select", "selectattr", "slice", "sort", "string", "striptags",
		"sum", "title", "trim", "truncate", "upper", "urlencode", "urlize", "wordcount"}
	argSets := [][]string{{}}
	for _, a := range values {
		argSets = append(argSets, []string{a}, []string{a, a}, []string{a, a, a})
	}
	argSets = append(argSets, []string{"width=n", "x=obj"}, []string{"reverse=t", "attribute='a'"})
	check := func(src string) {
		_, err := env.RenderString(context.Background(), src, data)
		if err != nil && strings.Contains(err.Error(), "internal error") {
			t.Errorf("%s: %v", src, err)
		}
	}
	for _, f := range filters {
		for _, v := range values {
			for _, args := range argSets {
				check("${{ " + v + " | " + f + "(" + strings.Join(args, ", ") + ") }}")
			}
		}
	}
	methods := []string{"toUpperCase", "split", "replace", "replaceAll", "startsWith", "endsWith", "includes", "slice", "substring",
		"substr", "indexOf", "lastIndexOf", "charAt", "at", "concat", "repeat", "padStart", "padEnd", "match", "join", "toFixed", "toString", "trim"}
	for _, m := range methods {
		for _, v := range values {
			for _, args := range argSets[:20] {
				check("${{ " + v + "." + m + "(" + strings.Join(args, ", ") + ") }}")
			}
		}
	}
	for _, test := range []string{"defined", "divisibleby(n)", "even", "odd", "lower", "upper", "iterable", "mapping", "gt(s)", "equalto(arr)", "number", "callable"} {
		for _, v := range values {
			check("${{ " + v + " is " + test + " }}")
		}
	}
}

// TestErrorMessagesReadable logs what template authors see, for review.
func TestErrorMessagesReadable(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{})
	for _, src := range []string{
		"${{ parameters.name | nosuch }}",
		"line1\n{% if x %}\nno end",
		"${{ 5 | upper }}",
		"${{ parameters.x.y() }}",
		"${{ 'a' in 5 }}",
		"{% for x in %}{% endfor %}",
		"${{ parameters.name",
		"text #} text",
	} {
		_, err := env.RenderString(context.Background(), src, map[string]any{"parameters": map[string]any{"name": "n"}})
		if err == nil {
			t.Errorf("%q: want an error", src)
			continue
		}
		t.Logf("%q → %v", src, err)
	}
}

// TestToFixed checks Number.prototype.toFixed against values node prints.
func TestToFixed(t *testing.T) {
	env := nunjucks.New(nunjucks.Options{})
	want := "3 1 1.3 1.00 -3 -0.00 123.5 9.99 0.000 100 100000000000000000000.00"
	got := render(t, env, "${{ (2.5).toFixed(0) }} ${{ (0.5).toFixed(0) }} ${{ (1.25).toFixed(1) }} ${{ (1.005).toFixed(2) }} "+
		"${{ (-2.5).toFixed(0) }} ${{ (-0.0001).toFixed(2) }} ${{ (123.456).toFixed(1) }} ${{ (9.995).toFixed(2) }} "+
		"${{ (0.000001).toFixed(3) }} ${{ (99.5).toFixed(0) }} ${{ (100000000000000000000).toFixed(2) }}", nil)
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestParseJSONKeepsKeyOrder(t *testing.T) {
	v, err := nunjucks.ParseJSON([]byte(`{"zeta": 1, "alpha": {"y": [1, 2.5, "x", null, true], "b": "c"}, "2": "two", "1": "one"}`))
	if err != nil {
		t.Fatal(err)
	}
	env := nunjucks.New(nunjucks.Options{})
	got := render(t, env, "${{ p | dump }}|{% for k, v in p %}${{ k }},{% endfor %}|${{ p.alpha.y[1] }}", map[string]any{"p": v})
	want := `{"1":"one","2":"two","zeta":1,"alpha":{"y":[1,2.5,"x",null,true],"b":"c"}}|1,2,zeta,alpha,|2.5`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if m, ok := nunjucks.ToGo(v).(map[string]any); !ok || m["zeta"] != 1.0 {
		t.Errorf("ToGo: %#v", nunjucks.ToGo(v))
	}
	for _, bad := range []string{`{"a": }`, `[1, 2`, `{} {}`, strings.Repeat("[", 2000) + strings.Repeat("]", 2000)} {
		if _, err := nunjucks.ParseJSON([]byte(bad)); err == nil {
			t.Errorf("%.20s: want an error", bad)
		}
	}
}

func TestParseJSONMarshalsBack(t *testing.T) {
	v, err := nunjucks.ParseJSON([]byte(`{"b": [1, {"d": 2, "c": 3}], "a": "<x>"}`))
	if err != nil {
		t.Fatal(err)
	}
	out, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != `{"b":[1,{"d":2,"c":3}],"a":"\u003cx\u003e"}` {
		t.Errorf("got %s", out)
	}
}

func TestArrayGrowthIsBounded(t *testing.T) {
	_, err := nunjucks.New(nunjucks.Options{}).RenderString(context.Background(),
		"{% set a = [1] %}{% for i in range(40) %}{% set a = a.concat(a) %}{% endfor %}${{ a.length }}", nil)
	if !errors.Is(err, nunjucks.ErrOutputLimit) {
		t.Fatalf("got %v, want ErrOutputLimit", err)
	}
}

func TestSelfSharingArraysAreBounded(t *testing.T) {
	for _, src := range []string{
		"{% set a = [1, 2, 3, 4] %}{% for i in range(40) %}{% set a = [a, a] %}{% endfor %}${{ a }}",
		"{% set a = [1, 2, 3, 4] %}{% for i in range(40) %}{% set a = [a, a] %}{% endfor %}${{ a | dump }}",
	} {
		_, err := nunjucks.New(nunjucks.Options{}).RenderString(context.Background(), src, nil)
		if !errors.Is(err, nunjucks.ErrOutputLimit) {
			t.Errorf("%s: got %v, want ErrOutputLimit", src, err)
		}
	}
}
