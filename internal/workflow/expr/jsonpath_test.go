package expr

import (
	"context"
	"testing"
)

func TestJSONPath(t *testing.T) {
	input := `{
		"name": "John", "age": 20, "language": "English", "greeting": "Hello",
		"query": {"q": "x"},
		"store": {"book": [
			{"title": "A", "price": 8, "tags": ["x"]},
			{"title": "B", "price": 12},
			{"title": "C", "price": 30, "isbn": "1"}
		]}
	}`
	vars := Vars{Const: js(t, `{"dog": "perro"}`), Workflow: Workflow{InstanceID: "6f1c"},
		Secrets: map[string]any{"token": "t0k"}}
	fns := map[string]string{"isEnglish": `$.[?(@.language  == 'English')]`}
	tests := []struct{ src, want string }{
		// Definite paths give the value.
		{`$`, ``},
		{`$.name`, `"John"`},
		{`${ $.query }`, `{"q": "x"}`},
		{`{{ $['name'] }}`, `"John"`},
		{`$.store.book[1].title`, `"B"`},
		{`$.store.book[-1].title`, `"C"`},
		{`$WORKFLOW.instanceId`, `"6f1c"`},
		{`$CONST.dog`, `"perro"`},
		{`$SECRET.token`, `"t0k"`},
		// Indefinite paths give an array.
		{`$.store.book[*].title`, `["A", "B", "C"]`},
		{`$.store.book[0,2].price`, `[8, 30]`},
		{`$.store.book[:2].title`, `["A", "B"]`},
		{`$.store.book[-1:].title`, `["C"]`},
		{`$..price`, `[8, 12, 30]`},
		{`$.store.book[?(@.price > 10)].title`, `["B", "C"]`},
		{`$.store.book[?(@.price >= 8 && @.price < 12)].title`, `["A"]`},
		{`$.store.book[?(@.price == 8 || @.title == 'C')].title`, `["A", "C"]`},
		{`$.store.book[?(!(@.price > 10))].title`, `["A"]`},
		{`$.store.book[?(@.isbn)].title`, `["C"]`},
		{`$.store.book[?(@.title =~ /b/i)].price`, `[12]`},
		{`$.store.book[?(@.price > $.age)].title`, `["C"]`},
		{`$.store.book[*].missing`, `[]`},
		{`$.store.book[?(@.isbn == null)].title`, `[]`},
		{`$.store.book[?(@.price == 12.0)].title`, `["B"]`},
		{`$.store.book[?(@.title != "A")].title`, `["B", "C"]`},
		{`$.store.book[?(@.tags && @.price < 1e2)].title`, `["A"]`},
		{`$[?(@.query.q == 'x' && true == true)].name`, `["John"]`},
		{`$.store.*`, `[[{"title": "A", "price": 8, "tags": ["x"]}, {"title": "B", "price": 12}, {"title": "C", "price": 30, "isbn": "1"}]]`},
		{`$['name','age']`, `[{"name": "John", "age": 20}]`},
		// Jayway puts "$." before a path without a root.
		{`name`, `"John"`},
		{`.price`, `[8, 12, 30]`},
		// corpus: a filter on the root object tests the object itself.
		{`$.[?(@.age  >= 18)]`, `[` + input + `]`},
		{`$.[?((@.age  >= 0) && (@.age  < 18))]`, `[]`},
		{`fn:isEnglish`, `[` + input + `]`},
	}
	ev := Evaluator{Cache: NewCache(64), Options: []Option{WithLanguage(LangJSONPath), WithFunctions(fns)}}
	for _, tt := range tests {
		t.Run(tt.src, func(t *testing.T) {
			got, err := ev.Eval(context.Background(), tt.src, js(t, input), vars)
			if err != nil {
				t.Fatal(err)
			}
			want := tt.want
			if want == "" {
				want = input
			}
			if !sameJSON(t, got, js(t, want)) {
				t.Errorf("got %v, want %s", got, want)
			}
		})
	}

	conditions := []struct {
		src  string
		want bool
	}{
		// corpus switch-data-*: SonataFlow reads a JSONPath condition as true
		// when the filter matched something.
		{`{{ $.[?(@.age  >= 18)] }}`, true},
		{`{{ $.[?((@.age  >= 0) && (@.age  < 18))] }}`, false},
		{`${ $.[?(@.language  == 'Spanish')] }`, false},
		{`fn:isEnglish`, true},
		{`$.age`, true}, // an integral number other than 0
	}
	for _, tt := range conditions {
		got, err := ev.Condition(context.Background(), tt.src, js(t, input), vars)
		if err != nil {
			t.Fatalf("%s: %v", tt.src, err)
		}
		if got != tt.want {
			t.Errorf("Condition(%s) = %v, want %v", tt.src, got, tt.want)
		}
	}

	for _, src := range []string{`$.greeting $.name`, `Hello world`, `$.length()`, `$[?(@.a in ['x'])]`, `$[`, `$.a[1:2:3]`, `$[?(@.a =~ /(/)]`} {
		if err := Check(src, WithLanguage(LangJSONPath)); !IsCompileError(err) {
			t.Errorf("Check(%q) = %v, want a compile error", src, err)
		}
	}
	if _, err := ev.Eval(context.Background(), `$.missing`, js(t, input), vars); err == nil {
		t.Error("a missing definite path gave no error")
	}
	// corpus: "$.greeting $.name" is not JSONPath, so a template keeps it.
	got, err := ev.Template(context.Background(), map[string]any{"message": "$.greeting $.name", "query": "$.query"}, js(t, input), vars)
	if err != nil {
		t.Fatal(err)
	}
	if !sameJSON(t, got, js(t, `{"message": "$.greeting $.name", "query": {"q": "x"}}`)) {
		t.Errorf("template got %v", got)
	}
	if err := Check(".a", WithLanguage("python")); !IsCompileError(err) {
		t.Errorf("unknown language: %v", err)
	}
}
