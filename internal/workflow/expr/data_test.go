package expr

import (
	"context"
	"errors"
	"testing"
)

// Inputs and expected outputs below marked "spec" come from the "Workflow
// Data" section of serverlessworkflow/specification branch 0.8.x,
// specification.md (lines 301-1044 at cf44dda); those marked "SonataFlow"
// come from kogito-runtimes 3ce1f258ed (MergeUtils, ExpressionHandlerUtils,
// CompositeContextNodeHandler.filterAndMergeNode).

const specFruitsAndVeggies = `{
  "fruits": [ "apple", "orange", "pear" ],
  "vegetables": [
    {"veggieName": "potato", "veggieLike": true},
    {"veggieName": "broccoli", "veggieLike": false}
  ]
}`

const specGreetings = `{
  "hello": {"english": "Hello", "spanish": "Hola", "german": "Hallo", "russian": "Здравствуйте"},
  "goodbye": {"english": "Goodbye", "spanish": "Adiós", "german": "Auf Wiedersehen", "russian": "Прощай"}
}`

func TestStateFilter(t *testing.T) {
	var ev Evaluator
	tests := []struct {
		name, filter, data, want string
	}{
		{"spec: input selects fruits", `${ {fruits: .fruits} }`, specFruitsAndVeggies,
			`{"fruits": ["apple", "orange", "pear"]}`},
		{"spec: input selects vegetables", `${ {vegetables: .vegetables} }`, specFruitsAndVeggies,
			`{"vegetables": [{"veggieName": "potato", "veggieLike": true}, {"veggieName": "broccoli", "veggieLike": false}]}`},
		{"spec: output selects veggie-like", `${ {vegetables: .vegetables[] | select(.veggieLike == true)} }`,
			`{"vegetables": [{"veggieName": "potato", "veggieLike": true}, {"veggieName": "broccoli", "veggieLike": false}]}`,
			`{"vegetables": {"veggieName": "potato", "veggieLike": true}}`},
		{"spec: input with trailing space", `${ .greetings } `, `{"greetings": ` + specGreetings + `}`, specGreetings},
		{"spec: output selects the final greeting", `${ .finalCustomerGreeting }`, `{"finalCustomerGreeting": "Hola John Michaels!"}`,
			`"Hola John Michaels!"`},
		{"corpus: output shorthand object", `{result}`, `{"result": 3, "number": 9}`, `{"result": 3}`},
		{"empty filter keeps data", ``, `{"a": 1}`, `{"a": 1}`},
		{"spec: selecting nothing keeps data", `.missing`, `{"a": 1}`, `{"a": 1}`},
		{"spec: no output keeps data", `empty`, `{"a": 1}`, `{"a": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ev.StateFilter(context.Background(), tt.filter, js(t, tt.data), Vars{})
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, js(t, tt.want)) {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
}

func TestActionFilter(t *testing.T) {
	breadAndPasta := `{"breads": ["baguette", "brioche", "rye"], "pasta": ["penne", "spaghetti", "ravioli"]}`
	tests := []struct {
		name   string
		filter ActionFilter
		data   string
		result string
		want   string
	}{
		{"spec: results select breads", ActionFilter{Results: `${ {breads: .breads} }`}, `{}`, breadAndPasta,
			`{"breads": ["baguette", "brioche", "rye"]}`},
		{"spec: results into itemsToBuyAtStore",
			ActionFilter{Results: `${ [ .breads[0], .pasta[1] ] }`, ToStateData: `${ .itemsToBuyAtStore }`},
			`{"itemsToBuyAtStore": []}`, breadAndPasta,
			`{"itemsToBuyAtStore": ["baguette", "spaghetti"]}`},
		{"spec: useResults false adds nothing",
			ActionFilter{Results: `${ .breads }`, ToStateData: `${ .x }`, IgnoreResults: true},
			`{"a": 1}`, breadAndPasta, `{"a": 1}`},
		{"spec: multiple filters step 3", ActionFilter{
			FromStateData: `${ .hello }`, Results: `${ .greetingMessageResult }`, ToStateData: `${ .finalCustomerGreeting }`},
			`{"hello": {"spanish": "Hola"}, "customerInfo": {"name": "John Michaels"}}`,
			`{"execInfo": {"execTime": "10ms", "failures": false}, "greetingMessageResult": "Hola John Michaels!"}`,
			`{"hello": {"spanish": "Hola"}, "customerInfo": {"name": "John Michaels"}, "finalCustomerGreeting": "Hola John Michaels!"}`},
		{"no filter merges the whole result", ActionFilter{}, `{"a": 1, "c": {"x": 1}}`, `{"b": 2, "c": {"y": 2}}`,
			`{"a": 1, "b": 2, "c": {"x": 1, "y": 2}}`},
		{"corpus: results and toStateData", ActionFilter{Results: `.max.x`, ToStateData: `.number`},
			`{"numbers": [{"x": 7}]}`, `{"max": {"x": 7}}`, `{"numbers": [{"x": 7}], "number": 7}`},
		{"SonataFlow: scalar result merged into object goes to response", ActionFilter{}, `{"a": 1}`, `5`,
			`{"a": 1, "response": 5}`},
		{"SonataFlow: scalar result into empty data replaces it", ActionFilter{}, `{}`, `"hi"`, `"hi"`},
		{"null result changes nothing", ActionFilter{}, `{"a": 1}`, `null`, `{"a": 1}`},
		{"toStateData creates nested objects", ActionFilter{ToStateData: `.counts.current`}, `{"counts": 3}`, `{"n": 1}`,
			`{"counts": {"current": {"n": 1}}}`},
		{"toStateData keeps sibling keys", ActionFilter{ToStateData: `.a.b`}, `{"a": {"keep": true}}`, `1`,
			`{"a": {"keep": true, "b": 1}}`},
		{"toStateData merges objects", ActionFilter{ToStateData: `.a`}, `{"a": {"x": 1, "y": 1}}`, `{"y": 2}`,
			`{"a": {"x": 1, "y": 2}}`},
		{"SonataFlow: results filter sees the result only", ActionFilter{Results: `.result+1`}, `{"result": 100}`, `{"result": 1}`,
			`{"result": 100, "response": 2}`},
	}
	var ev Evaluator
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			data := js(t, tt.data)
			before := js(t, tt.data)
			if _, err := ev.ActionInput(ctx, tt.filter, data, Vars{}); err != nil {
				t.Fatal(err)
			}
			got, err := ev.MergeActionResult(ctx, tt.filter, data, js(t, tt.result), Vars{})
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, js(t, tt.want)) {
				t.Errorf("got %v, want %s", got, tt.want)
			}
			if !sameJSON(t, data, before) {
				t.Errorf("state data was modified: %v", data)
			}
		})
	}
	t.Run("spec: fromStateData selects hello", func(t *testing.T) {
		got, err := ev.ActionInput(context.Background(), ActionFilter{FromStateData: `${ .hello }`}, js(t, specGreetings), Vars{})
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, got, js(t, `{"english": "Hello", "spanish": "Hola", "german": "Hallo", "russian": "Здравствуйте"}`)) {
			t.Errorf("got %v", got)
		}
	})
}

func TestEventFilter(t *testing.T) {
	customer := `{"customer": {"name": "John Michaels", "address": "111 Some Street, SomeCity, SomeCountry", "age": 40}}`
	var ev Evaluator
	tests := []struct {
		name   string
		filter EventFilter
		data   string
		want   string
	}{
		{"spec: multiple filters step 2",
			EventFilter{Data: `${ .customer }`, ToStateData: `${ .customerInfo }`}, specGreetings,
			`{"hello": {"english": "Hello", "spanish": "Hola", "german": "Hallo", "russian": "Здравствуйте"},
			  "goodbye": {"english": "Goodbye", "spanish": "Adiós", "german": "Auf Wiedersehen", "russian": "Прощай"},
			  "customerInfo": {"name": "John Michaels", "address": "111 Some Street, SomeCity, SomeCountry", "age": 40}}`},
		{"spec: default merges the whole payload", EventFilter{}, `{"a": 1}`,
			`{"a": 1, "customer": {"name": "John Michaels", "address": "111 Some Street, SomeCity, SomeCountry", "age": 40}}`},
		{"spec: useData false adds nothing", EventFilter{Data: `.customer`, IgnoreData: true}, `{"a": 1}`, `{"a": 1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ev.MergeEventData(context.Background(), tt.filter, js(t, tt.data), js(t, customer), Vars{})
			if err != nil {
				t.Fatal(err)
			}
			if !sameJSON(t, got, js(t, tt.want)) {
				t.Errorf("got %v, want %s", got, tt.want)
			}
		})
	}
	t.Run("SonataFlow: start event state builds data from the event", func(t *testing.T) {
		got, err := ev.StartEventData(context.Background(), EventFilter{Data: `.customer`, ToStateData: `.who`}, js(t, customer), Vars{})
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(t, got, js(t, `{"who": {"name": "John Michaels", "address": "111 Some Street, SomeCity, SomeCountry", "age": 40}}`)) {
			t.Errorf("got %v", got)
		}
		got, _ = ev.StartEventData(context.Background(), EventFilter{IgnoreData: true}, js(t, customer), Vars{})
		if !sameJSON(t, got, map[string]any{}) {
			t.Errorf("useData false: got %v, want {}", got)
		}
	})
}

func TestMerge(t *testing.T) {
	specCustomers := `{"customers": [{"name": "John", "address": "1234 street", "zip": "12345"}, {"name": "Jane", "address": "4321 street", "zip": "54321"}]}`
	specState := `{"customers": [{"name": "Michael", "address": "6789 street", "zip": "6789"}]}`
	tests := []struct {
		name         string
		src, target  string
		concatArrays bool
		want         string
	}{
		{"spec: objects", `{"customer": {"name": "John", "zip": "54321"}}`,
			`{"customer": {"name": "John", "address": "1234 street", "zip": "12345"}}`, false,
			`{"customer": {"name": "John", "address": "1234 street", "zip": "54321"}}`},
		{"spec: arrays concatenate unique elements", specCustomers, specState, true,
			`{"customers": [{"name": "Michael", "address": "6789 street", "zip": "6789"}, {"name": "John", "address": "1234 street", "zip": "12345"}, {"name": "Jane", "address": "4321 street", "zip": "54321"}]}`},
		{"SonataFlow: arrays replace", specCustomers, specState, false, specCustomers},
		{"spec: numbers overwrite", `{"age": 30}`, `{"age": 20}`, false, `{"age": 30}`},
		{"spec: strings overwrite", `{"name": "b"}`, `{"name": "a"}`, false, `{"name": "b"}`},
		{"concat skips duplicates", `[1, 2, 2, 3]`, `[1.0]`, true, `[1.0, 2, 3]`},
		{"SonataFlow: element appended to array", `3`, `[1, 2]`, false, `[1, 2, 3]`},
		{"SonataFlow: element already in array", `2`, `[1, 2]`, false, `[1, 2]`},
		{"null into array", `null`, `[1]`, false, `[1]`},
		{"SonataFlow: array into scalar prepends it", `[2, 3]`, `1`, false, `[1, 2, 3]`},
		{"SonataFlow: array into scalar already there", `[1, 2]`, `1`, false, `[1, 2]`},
		{"SonataFlow: object into scalar keeps it as _target", `{"a": 1}`, `"x"`, false, `{"a": 1, "_target": "x"}`},
		{"SonataFlow: scalar into object goes to response", `"r"`, `{"a": 1}`, false, `{"a": 1, "response": "r"}`},
		{"anything into null", `[1]`, `null`, false, `[1]`},
		{"null into empty object", `null`, `{}`, false, `{}`},
		{"object into empty object", `{"a": 1}`, `{}`, false, `{"a": 1}`},
		{"null into scalar", `null`, `1`, false, `null`},
		{"deep merge", `{"a": {"b": {"c": 1}}}`, `{"a": {"b": {"d": 2}, "e": 3}}`, false, `{"a": {"b": {"c": 1, "d": 2}, "e": 3}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			target := js(t, tt.target)
			got := Merge(js(t, tt.src), target, tt.concatArrays)
			if !sameJSON(t, got, js(t, tt.want)) {
				t.Errorf("got %v, want %s", got, tt.want)
			}
			if !sameJSON(t, target, js(t, tt.target)) {
				t.Errorf("target modified: %v", target)
			}
		})
	}
	t.Run("spec: arrays through the evaluator", func(t *testing.T) {
		ev := Evaluator{ConcatArrays: true}
		got, err := ev.MergeActionResult(context.Background(), ActionFilter{}, js(t, specState), js(t, specCustomers), Vars{})
		if err != nil {
			t.Fatal(err)
		}
		if len(got.(map[string]any)["customers"].([]any)) != 3 {
			t.Errorf("got %v", got)
		}
	})
}

func TestToStatePath(t *testing.T) {
	tests := map[string][]string{
		".a":                      {"a"},
		"${ .itemsToBuyAtStore }": {"itemsToBuyAtStore"},
		".counts.current":         {"counts", "current"},
		"a.b":                     {"a", "b"},
	}
	for src, want := range tests {
		got, err := ToStatePath(src)
		if err != nil || len(got) != len(want) {
			t.Errorf("ToStatePath(%q) = %v, %v; want %v", src, got, err, want)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("ToStatePath(%q) = %v, want %v", src, got, want)
			}
		}
	}
	for _, src := range []string{".a[0]", ".", ""} {
		if _, err := ToStatePath(src); err == nil {
			t.Errorf("ToStatePath(%q) gave no error", src)
		}
	}
	var ev Evaluator
	_, err := ev.MergeActionResult(context.Background(), ActionFilter{ToStateData: ".x"}, "not an object", 1, Vars{})
	var e *Error
	if !errors.As(err, &e) || e.Kind != KindRuntime {
		t.Errorf("toStateData into a string: error = %v, want a runtime *Error", err)
	}
}

func TestAssign(t *testing.T) {
	var ev Evaluator
	tests := []struct{ path, data, value, want string }{
		// A foreach outputCollection gathering iteration results.
		{`.output`, `{"input": [1, 2]}`, `[4, 6]`, `{"input": [1, 2], "output": [4, 6]}`},
		{`${ .a.b }`, `{"a": {"b": {"x": 1}}}`, `{"y": 2}`, `{"a": {"b": {"x": 1, "y": 2}}}`},
		{`.a.b`, `{"a": [1]}`, `1`, `{"a": {"b": 1}}`},
	}
	for _, tt := range tests {
		got, err := ev.Assign(tt.path, js(t, tt.data), js(t, tt.value))
		if err != nil {
			t.Fatalf("Assign(%s): %v", tt.path, err)
		}
		if !sameJSON(t, got, js(t, tt.want)) {
			t.Errorf("Assign(%s) = %v, want %s", tt.path, got, tt.want)
		}
	}
	if _, err := ev.Assign(`.a[0]`, map[string]any{}, 1); !IsCompileError(err) {
		t.Errorf("Assign to .a[0]: %v, want a compile error", err)
	}
}
