package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestWorkflowRun(t *testing.T) {
	dir := t.TempDir()
	greet := writeFile(t, dir, "greet.sw.yaml", `
id: greet
start: Hello
functions:
  - {name: log, type: custom, operation: sysout}
events:
  - {name: go, type: go, source: cli}
states:
  - name: Hello
    type: inject
    data: {greeting: Hello}
    transition: Wait
  - name: Wait
    type: event
    onEvents: [{eventRefs: [go], eventDataFilter: {toStateData: .event}}]
    transition: Nap
  - name: Nap
    type: sleep
    duration: PT1H
    transition: Say
  - name: Say
    type: operation
    actions: [{functionRef: {refName: log, arguments: {message: '.greeting + " " + .name'}}}]
    end: true
`)
	fail := writeFile(t, dir, "fail.sw.yaml", `
id: fail
start: Divide
functions:
  - {name: div, type: expression, operation: .a / .b}
states:
  - {name: Divide, type: operation, actions: [{functionRef: div}], end: true}
`)
	bad := writeFile(t, dir, "bad.sw.yaml", "id: bad\nstart: Nowhere\nstates:\n  - {name: A, type: inject, data: {}, end: true}\n")
	writeFile(t, dir, "input.json", `{"name":"Ada"}`)

	run := func(o runOptions) (string, string, int) {
		var stdout, stderr bytes.Buffer
		err := runWorkflow(context.Background(), &stdout, &stderr, o)
		code := 0
		if err != nil {
			code = exitCode(err)
			stderr.WriteString(err.Error())
		}
		return stdout.String(), stderr.String(), code
	}

	out, errOut, code := run(runOptions{file: greet, input: "@" + filepath.Join(dir, "input.json"), events: []string{`{"type":"go","data":{"x":1}}`}, fast: true})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var data map[string]any
	if err := json.Unmarshal([]byte(out), &data); err != nil || data["greeting"] != "Hello" || data["name"] != "Ada" {
		t.Errorf("stdout %q", out)
	}
	for _, want := range []string{`state "Hello" entered`, `state "Nap" entered (TimerNode)`, "Hello Ada", "completed"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}

	// Without the event the instance can never finish.
	if _, errOut, code := run(runOptions{file: greet, fast: true}); code != 1 || !strings.Contains(errOut, "go") {
		t.Errorf("no event: exit %d, %s", code, errOut)
	}
	if _, errOut, code := run(runOptions{file: fail, input: `{"a":1,"b":"x"}`}); code != 1 || !strings.Contains(errOut, `state "Divide"`) {
		t.Errorf("failure: exit %d, %s", code, errOut)
	}
	if _, errOut, code := run(runOptions{file: bad}); code != 2 {
		t.Errorf("invalid definition: exit %d, %s", code, errOut)
	}
	var ee *exitError
	if err := runWorkflow(context.Background(), &bytes.Buffer{}, &bytes.Buffer{}, runOptions{file: fail, input: "{not json"}); !errors.As(err, &ee) || ee.code != 1 {
		t.Errorf("bad input: %v", err)
	}
}
