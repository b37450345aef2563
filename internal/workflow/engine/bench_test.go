package engine_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/expr"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// chainWorkflow is n inject states each followed by a data switch.
func chainWorkflow(n int) string {
	var b strings.Builder
	b.WriteString("id: chain\nversion: '1.0'\nstart: I0\nstates:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - name: I%d\n    type: inject\n    data: {step%d: %d}\n    transition: S%d\n", i, i%4, i, i)
		next := fmt.Sprintf("I%d", i+1)
		if i == n-1 {
			fmt.Fprintf(&b, "  - name: S%d\n    type: switch\n    dataConditions:\n      - condition: .step0 >= 0\n        end: true\n    defaultCondition: {end: true}\n", i)
			continue
		}
		fmt.Fprintf(&b, "  - name: S%d\n    type: switch\n    dataConditions:\n      - condition: .step0 >= 0\n        transition: %s\n    defaultCondition: {transition: %s}\n", i, next, next)
	}
	return b.String()
}

// BenchmarkTransitions measures state transitions per second of an
// inject -> switch chain run in memory, journal included.
func BenchmarkTransitions(b *testing.B) {
	const n = 50
	eng := engine.NewEngine(&function.Invoker{})
	def := prepareYAML(b, eng, chainWorkflow(n), nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		j := &engine.MemoryJournal{}
		_, out, err := def.Start(ctx, j, engine.StartOptions{InstanceID: "bench", Input: map[string]any{"x": 1}})
		if err != nil || out.Status != engine.StatusCompleted {
			b.Fatal(err, out)
		}
	}
	b.ReportMetric(float64(2*n)*float64(b.N)/b.Elapsed().Seconds(), "transitions/s")
}

const greeting = `
id: greeting
version: '1.0'
start: ChooseOnLanguage
functions:
  - name: greetFunction
    type: custom
    operation: sysout
states:
  - name: ChooseOnLanguage
    type: switch
    dataConditions:
      - condition: .language == "English"
        transition: GreetInEnglish
      - condition: .language == "Spanish"
        transition: GreetInSpanish
    defaultCondition: {transition: GreetInEnglish}
  - name: GreetInEnglish
    type: inject
    data: {greeting: "Hello from YAML Workflow, "}
    transition: GreetPerson
  - name: GreetInSpanish
    type: inject
    data: {greeting: "Saludos desde YAML Workflow, "}
    transition: GreetPerson
  - name: GreetPerson
    type: operation
    actions:
      - name: greetAction
        functionRef:
          refName: greetFunction
          arguments:
            message: .greeting + .name
    end: true
`

// BenchmarkGreeting runs the 3-state greeting (switch, inject, operation
// with sysout) end to end in memory; sysout logs to a discarding logger.
func BenchmarkGreeting(b *testing.B) {
	eng := engine.NewEngine(&function.Invoker{})
	def := prepareYAML(b, eng, greeting, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		_, out, err := def.Start(ctx, &engine.MemoryJournal{}, engine.StartOptions{InstanceID: "bench", Input: map[string]any{"language": "Spanish", "name": "Ada"}})
		if err != nil || out.Status != engine.StatusCompleted {
			b.Fatal(err, out)
		}
	}
}

// BenchmarkJQ compares evaluating a condition with the shared cache and
// compiling it on every evaluation.
func BenchmarkJQ(b *testing.B) {
	ctx := context.Background()
	data := map[string]any{"language": "English", "name": "Ada", "items": []any{1, 2, 3}}
	const src = `.language == "English" and (.items | length) > 2`
	b.Run("cached", func(b *testing.B) {
		ev := &expr.Evaluator{Cache: expr.NewCache(128)}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.Condition(ctx, src, data, expr.Vars{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("uncached", func(b *testing.B) {
		ev := &expr.Evaluator{}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ev.Condition(ctx, src, data, expr.Vars{}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
