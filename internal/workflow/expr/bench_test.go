package expr

import (
	"context"
	"testing"
)

// benchSrc is a realistic workflow expression: the state data filter of
// the corpus workflow expression-const-secret-workflow-vars.
const benchSrc = `${ {result: .number, message: .message, originalFirstX: $WORKFLOW.input.numbers[0].x} }`

func benchInput() (any, Vars) {
	input := map[string]any{"number": 7, "message": "my name is javi", "numbers": []any{map[string]any{"x": 7, "y": 2}}}
	vars := Vars{Workflow: Workflow{ID: "expression", InstanceID: "6f1c", Input: map[string]any{"numbers": []any{map[string]any{"x": 1}}}}}
	return input, vars
}

// BenchmarkEvalCached looks the expression up in a cache and runs it, as
// the interpreter does for every state.
func BenchmarkEvalCached(b *testing.B) {
	input, vars := benchInput()
	cache := NewCache(1024)
	ctx := context.Background()
	for b.Loop() {
		e, err := cache.Compile(benchSrc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Eval(ctx, input, vars); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalCompileEach compiles the expression for every run.
func BenchmarkEvalCompileEach(b *testing.B) {
	input, vars := benchInput()
	ctx := context.Background()
	for b.Loop() {
		e, err := Compile(benchSrc)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := e.Eval(ctx, input, vars); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCondition runs a precompiled switch condition.
func BenchmarkCondition(b *testing.B) {
	e, err := Compile(`.language == "English"`)
	if err != nil {
		b.Fatal(err)
	}
	input := map[string]any{"language": "English", "name": "John"}
	ctx := context.Background()
	for b.Loop() {
		if ok, err := e.Condition(ctx, input, Vars{}); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}

// BenchmarkEvaluatorEval is the interpreter's path: an Evaluator with the
// workflow's expression functions and a shared cache.
func BenchmarkEvaluatorEval(b *testing.B) {
	input, vars := benchInput()
	ev := Evaluator{Cache: NewCache(1024), Options: []Option{WithFunctions(map[string]string{
		"max": "{max: .numbers | max_by(.x), min: .numbers | min_by(.y)}", "square": ".number | sqrt",
	})}}
	ctx := context.Background()
	for b.Loop() {
		if _, err := ev.Eval(ctx, benchSrc, input, vars); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkEvalPrecompiled runs an already compiled expression: the floor
// under the cached figures.
func BenchmarkEvalPrecompiled(b *testing.B) {
	input, vars := benchInput()
	e, err := Compile(benchSrc)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	for b.Loop() {
		if _, err := e.Eval(ctx, input, vars); err != nil {
			b.Fatal(err)
		}
	}
}
