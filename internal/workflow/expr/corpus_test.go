package expr

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
)

type corpusExpr struct {
	kind, text, file, lang string
}

func readCorpus(t *testing.T) []corpusExpr {
	t.Helper()
	f, err := os.Open("testdata/corpus-expressions.tsv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []corpusExpr
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Split(line, "\t")
		if len(parts) != 4 {
			t.Fatalf("bad line %q", line)
		}
		var text string
		if err := json.Unmarshal([]byte(parts[1]), &text); err != nil {
			t.Fatalf("bad text in %q: %v", line, err)
		}
		out = append(out, corpusExpr{parts[0], text, parts[2], parts[3]})
	}
	return out
}

// TestCorpus compiles every expression of the workflow corpus: conditions,
// data filters and expression-function operations must compile (except in
// the reject-* workflows that exist to be refused), and arguments evaluate
// as templates; workflows whose expressionLang is jsonpath are compiled as
// JSONPath.
func TestCorpus(t *testing.T) {
	rejected := map[string]bool{`${ .age >= }`: true, `${ {a: .a | } }`: true}
	jq := &Evaluator{Cache: NewCache(256)}
	jsonPath := &Evaluator{Cache: jq.Cache, Options: []Option{WithLanguage(LangJSONPath),
		WithFunctions(map[string]string{"isEnglish": `$.[?(@.language  == 'English')]`})}}
	vars := Vars{Workflow: Workflow{InstanceID: "6f1c", Headers: map[string]string{"pepe": "pepa"}}, Process: map[string]any{"item": 1}}
	input := map[string]any{"name": "Ann", "language": "English", "result": 1, "counts": map[string]any{"current": 1, "max": 3}}
	for _, c := range readCorpus(t) {
		ev := jq
		if c.lang == LangJSONPath {
			ev = jsonPath
		}
		t.Run(c.kind+" "+c.text, func(t *testing.T) {
			if c.kind == "template" {
				if _, err := ev.Template(context.Background(), c.text, input, vars); err != nil {
					t.Fatalf("%s: %v", c.file, err)
				}
				return
			}
			_, err := ev.Compile(c.text)
			switch {
			case rejected[c.text] && err == nil:
				t.Errorf("%s: %q compiled, want an error", c.file, c.text)
			case !rejected[c.text] && err != nil:
				t.Errorf("%s: %v", c.file, err)
			}
		})
	}
	got, err := jq.Template(context.Background(), map[string]any{
		"message": `${"multiple_timer_instances_event_state_timeouts_event_state_timeouts: " + $WORKFLOW.instanceId + " has started."}`,
		"id":      "$WORKFLOW.instanceId",
		"headers": `${ "Lock received " + .name + " -- with headers " + ($WORKFLOW.headers | tostring) }`,
	}, input, vars)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"message": "multiple_timer_instances_event_state_timeouts_event_state_timeouts: 6f1c has started.",
		"id":      "6f1c",
		"headers": `Lock received Ann -- with headers {"pepe":"pepa"}`,
	}
	if !sameJSON(t, got, want) {
		t.Errorf("got %v, want %v", got, want)
	}
}
