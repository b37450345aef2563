package workflow

import (
	"context"
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func parseFull(t *testing.T) *Workflow {
	t.Helper()
	w, err := ParseFile(context.Background(), DirLoader{Dir: "testdata/full"}, "full.sw.yaml")
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestParseEveryField(t *testing.T) {
	w := parseFull(t)
	// With autoRetries on, retryableErrors is ignored; the file uses both
	// to show they parse.
	if f := Validate(context.Background(), w); len(f) != 1 || !strings.Contains(f[0].Message, "retryableErrors is ignored") {
		t.Errorf("full.sw.yaml should only warn about retryableErrors, got:\n%s", joinFindings(f))
	}
	check := func(name string, got, want any) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %#v, want %#v", name, got, want)
		}
	}
	check("id", w.ID, "full")
	check("key", w.Key, "full-key")
	check("version", w.Version, "2.0")
	check("specVersion", w.SpecVersion, "0.8")
	check("annotations", w.Annotations, []string{"workflow-type/infrastructure"})
	check("metadata", w.Metadata, map[string]any{"owner": "team-a"})
	check("keepActive", w.KeepActive, true)
	check("autoRetries", w.AutoRetries, true)
	check("dataInputSchema.ref", w.DataInputSchema.Ref, "schemas/input.json")
	check("dataInputSchema.fail", w.DataInputSchema.FailOnValidationErrors, false)
	if len(w.DataInputSchema.Document) == 0 || w.DataInputSchema.LoadErr != nil {
		t.Errorf("input schema not loaded: %v", w.DataInputSchema.LoadErr)
	}
	check("outputSchema.ref", w.OutputSchema.Ref, "schemas/output.json")
	check("outputSchema.fail", w.OutputSchema.FailOnValidationErrors, true)
	check("uriDefinitions", w.URIDefinitions, map[string]string{"petstore": "specs/petstore.yaml"})
	check("extensions", len(w.Extensions), 3)
	check("unknown extension", string(w.Extensions[2].Raw), `{"extensionid":"kpi","limit":3}`)
	check("start", w.Start, &Start{StateName: "Wait", Schedule: &Schedule{Cron: &Cron{Expression: "0 0 * * *", ValidUntil: "2030-01-01T00:00:00Z"}, Timezone: "Europe/Paris"}})

	// External files.
	check("functions", w.Function("getPet"), &Function{Name: "getPet", Operation: "petstore#getPetById", Type: FunctionREST, AuthRef: "basicAuth", Metadata: map[string]any{"k": "v"}})
	check("expression function", w.Function("double").Type, FunctionExpression)
	check("event", w.Event("Arrived"), &Event{Name: "Arrived", Source: "/arrivals", Type: "arrival", Kind: EventConsumed,
		Correlation: []*Correlation{{ContextAttributeName: "patientid", ContextAttributeValue: "p1"}}})
	check("produced event", w.Event("Done").Kind, EventProduced)
	check("produced event dataOnly", w.Event("Done").DataOnly, true)
	check("error", w.Error("notFound"), &ErrorDef{Name: "notFound", Code: "404", Description: "no such pet"})
	check("retry", w.Retry("backoff"), &Retry{Name: "backoff", Delay: "PT1S", MaxDelay: "PT10S", Increment: "PT2S", Multiplier: 1.5, Jitter: Jitter{Duration: "PT0.5S"}, MaxAttempts: 3})
	check("retry jitter fraction", w.Retry("fraction").Jitter, Jitter{Fraction: 0.25})
	check("secrets", w.Secrets, []string{"token", "password"})
	check("constants", w.Constants, map[string]any{"Translations": map[string]any{"Dog": map[string]any{"Spanish": "perro"}}})
	check("timeouts", w.Timeouts, &Timeouts{WorkflowExecTimeout: &WorkflowExecTimeout{Duration: "PT1H", RunBefore: "Set"}, ActionExecTimeout: "PT30S"})

	check("basic auth", w.AuthDef("basicAuth").Basic, &BasicAuth{Username: "u", Password: "p"})
	check("bearer auth", w.AuthDef("bearerAuth").Bearer, &BearerAuth{Token: "t"})
	check("oauth2", w.AuthDef("oauth").OAuth2, &OAuth2Auth{Authority: "https://idp", GrantType: "clientCredentials", ClientID: "id", ClientSecret: "secret", Scopes: []string{"a", "b"}, Audiences: []string{"x"}})
	check("auth by secret", w.AuthDef("fromSecret").PropertiesRef, "${ $SECRETS.token }")

	ev := w.State("Wait")
	check("exclusive from string", ev.Exclusive, false)
	check("onEvents", ev.OnEvents[0].EventRefs, []string{"Arrived"})
	check("onEvents actionMode", ev.OnEvents[0].ActionMode, ActionParallel)
	check("eventDataFilter", ev.OnEvents[0].EventDataFilter, &EventDataFilter{UseData: false, Data: ".payload", ToStateData: ".arrival"})
	check("state timeouts", ev.Timeouts, &Timeouts{EventTimeout: "PT1M", StateExecTimeout: &StateExecTimeout{Single: "PT1S", Total: "PT2S"}})
	check("transition shorthand", ev.Transition, &Transition{NextState: "Decide"})

	sw := w.State("Decide")
	check("dataCondition", sw.DataConditions[0], &DataCondition{Name: "big", Condition: "${ .size > 3 }",
		Transition: &Transition{NextState: "Work", Compensate: true, ProduceEvents: []*ProduceEvent{{EventRef: "Done", Data: ".x", ContextAttributes: map[string]any{"k": "v"}}}},
		Metadata:   map[string]any{"m": "n"}})
	check("defaultCondition", sw.DefaultCondition, &DefaultCondition{End: &End{Terminate: true, ProduceEvents: []*ProduceEvent{{EventRef: "Done", Data: map[string]any{"a": 1}}}}})

	op := w.State("Work")
	check("compensatedBy", op.CompensatedBy, "Undo")
	check("stateDataFilter", op.StateDataFilter, &StateDataFilter{Input: ".in", Output: ".out"})
	check("onErrors[0]", op.OnErrors[0], &OnError{ErrorRef: "notFound", Transition: &Transition{NextState: "Nap"}})
	check("onErrors[1]", op.OnErrors[1].Refs(), []string{"notFound", "timeout"})
	check("onErrors[1].end", op.OnErrors[1].End, &End{})
	check("action", op.Actions[0], &Action{ID: "a1", Name: "call",
		FunctionRef:        &FunctionRef{RefName: "getPet", Arguments: map[string]any{"id": "${ .id }", "literal": "hello"}, Invoke: InvokeAsync},
		RetryRef:           "backoff",
		RetryableErrors:    []string{"notFound"},
		NonRetryableErrors: []string{"timeout"},
		Sleep:              &ActionSleep{Before: "PT1S", After: "PT2S"},
		ActionDataFilter:   &ActionDataFilter{FromStateData: ".a", UseResults: false, Results: ".r", ToStateData: ".t"},
		Condition:          "${ .go }"})
	check("arguments as jq string", op.Actions[1].FunctionRef, &FunctionRef{RefName: "double", ArgumentsExpr: "{x: .n}", Invoke: InvokeSync})
	check("default actionDataFilter", op.Actions[1].ActionDataFilter, &ActionDataFilter{UseResults: true})
	check("eventRef", op.Actions[2].EventRef, &EventRef{TriggerEventRef: "Done", ResultEventRef: "Arrived", ResultEventTimeout: "PT5S", Data: ".d", Invoke: InvokeSync})
	check("subFlowRef shorthand", op.Actions[3].SubFlowRef, &SubFlowRef{WorkflowID: "child", Invoke: InvokeSync, OnParentComplete: "terminate"})
	check("subFlowRef", op.Actions[4].SubFlowRef, &SubFlowRef{WorkflowID: "child", Version: "1", Invoke: InvokeAsync, OnParentComplete: "continue"})

	check("sleep", w.State("Nap").Duration, "PT10S")
	par := w.State("Fan")
	check("completionType", par.CompletionType, CompletionAtLeast)
	check("numCompleted from string", par.NumCompleted, 1)
	check("branch", par.Branches[0].Name, "b1")
	check("branch timeouts", par.Branches[0].Timeouts, &Timeouts{BranchExecTimeout: "PT1M", ActionExecTimeout: "PT10S"})
	fe := w.State("Each")
	check("foreach", []any{fe.InputCollection, fe.OutputCollection, fe.IterationParam, fe.BatchSize, fe.Mode},
		[]any{"${ .items }", ".results", "item", 2, ForEachSequential})
	cb := w.State("Ask")
	check("callback action", cb.Action.FunctionRef.RefName, "getPet")
	check("callback eventRef", cb.EventRef, "Arrived")
	check("callback eventDataFilter", cb.EventDataFilter, &EventDataFilter{UseData: true, Data: ".answer"})
	set := w.State("Set")
	check("empty inject data", set.Data, map[string]any{})
	check("continueAs", set.End.ContinueAs, &ContinueAs{WorkflowID: "full", Version: "2.0", Data: "${ .next }",
		WorkflowExecTimeout: &WorkflowExecTimeout{Duration: "PT1H", Interrupt: true, RunBefore: "Set"}})
	check("usedForCompensation", w.State("Undo").UsedForCompensation, true)

	src, _ := os.ReadFile("testdata/full/full.sw.yaml")
	check("source kept", string(w.Source), string(src))
}

func TestParseDefaultsAndShorthands(t *testing.T) {
	w := mustParse(t, `{"id": "x", "states": [
		{"name": "A", "type": "operation", "actions": [{"functionRef": "f"}], "end": "true"},
		{"name": "B", "type": "event", "onEvents": [{"eventRefs": ["e"]}], "end": {"terminate": "true"}}],
	 "functions": [{"name": "f", "operation": "sysout", "type": "custom"}],
	 "events": [{"name": "e", "type": "t", "source": "s"}]}`)
	if w.ExpressionLang != "jq" {
		t.Errorf("expressionLang = %q", w.ExpressionLang)
	}
	if !w.Start.Implicit || w.Start.StateName != "A" {
		t.Errorf("start = %+v, want the first state, implicit", w.Start)
	}
	a := w.State("A")
	if a.End == nil || a.End.Terminate || a.ActionMode != ActionSequential {
		t.Errorf("state A = %+v", a)
	}
	if b := w.State("B"); !b.Exclusive || !b.End.Terminate || b.OnEvents[0].ActionMode != ActionSequential {
		t.Errorf("state B = %+v", b)
	}
	if e := w.Event("e"); e.Kind != EventConsumed || !e.DataOnly {
		t.Errorf("event = %+v", e)
	}
	if w.Function("nope") != nil || w.State("nope") != nil {
		t.Error("lookups of unknown names must return nil")
	}
}

func TestParseJSONWithTabs(t *testing.T) {
	w := mustParse(t, "{\n\t\"id\": \"x\",\n\t\"start\": \"A\",\n\t\"states\": [\n\t\t{\"name\": \"A\", \"type\": \"inject\", \"data\": {}, \"end\": true}\n\t]\n}")
	if got := w.Position("states[0].name"); got.Line != 5 {
		t.Errorf("position = %+v, want line 5", got)
	}
}

func TestParseErrorsNameFileLineAndPath(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"bad yaml", "id: x\nstates: [\n", "w.sw.yaml:2: not valid YAML or JSON"},
		{"empty", "", "w.sw.yaml: the file is empty"},
		{"not an object", "- a\n- b\n", "w.sw.yaml:1: expected an object, found a list"},
		{"states not a list", "id: x\nstates: {a: 1}\n", "w.sw.yaml:2: states: expected a list, found an object"},
		{"bad bool", "id: x\nstates:\n  - name: A\n    type: inject\n    end: maybe\n", `w.sw.yaml:5: states[0].end: expected true or false, found "maybe"`},
		{"bad number", "id: x\nretries:\n  - name: r\n    maxAttempts: lots\n", `w.sw.yaml:4: retries[0].maxAttempts: expected a whole number, found "lots"`},
		{"bad invoke", "id: x\nstates:\n  - name: A\n    type: operation\n    actions:\n      - functionRef: {refName: f, invoke: later}\n", `w.sw.yaml:6: states[0].actions[0].functionRef.invoke: invoke must be sync or async, found "later"`},
		{"inject data list", "id: x\nstates:\n  - name: A\n    type: inject\n    data: [1]\n", "w.sw.yaml:5: states[0].data: expected an object to inject"},
		{"duplicate key", "id: x\nstates: []\nid: y\n", `w.sw.yaml:3: id: duplicate field "id" (also on line 1); keep one`},
		{"external without loader", "id: x\nfunctions: specs/f.json\n", `w.sw.yaml:2: functions: refers to file "specs/f.json" but no loader was given`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(context.Background(), "w.sw.yaml", []byte(tt.src), nil)
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("err = %v, want a *ParseError", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error:\n%s\nwant it to contain:\n%s", err, tt.want)
			}
		})
	}
}

func TestExternalFiles(t *testing.T) {
	files := MapLoader{
		"flows/hello.sw.yaml":   []byte("id: hello\nstart: A\nfunctions: ../shared/functions.yaml\nstates:\n  - name: A\n    type: operation\n    actions: [{functionRef: f}]\n    end: true\n"),
		"shared/functions.yaml": []byte("functions:\n  - name: f\n    type: graphql\n    operation: https://x/graphql#query#pets\n"),
		"flows/bare.sw.yaml":    []byte("id: bare\nstart: A\nerrors: errors.json\nstates:\n  - name: A\n    type: inject\n    data: {}\n    end: true\n"),
		"flows/errors.json":     []byte(`[{"name": "e1", "code": "500"}]`),
	}
	ctx := context.Background()
	w, err := ParseFile(ctx, files, "flows/hello.sw.yaml")
	if err != nil {
		t.Fatal(err)
	}
	findings := Validate(ctx, w)
	want := `shared/functions.yaml:3: functions[0].type: function "f" has type graphql, which Portico does not support yet`
	if len(findings) != 1 || !strings.HasPrefix(findings[0].String(), want) {
		t.Errorf("findings = %v, want one starting with %q", findings, want)
	}
	w, err = ParseFile(ctx, files, "flows/bare.sw.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if w.Error("e1") == nil {
		t.Error("errors given as a bare list in a file were not loaded")
	}

	for _, tt := range []struct{ ref, want string }{
		{"missing.json", `functions: cannot load "missing.json"`},
		{"https://example.com/f.json", "remote references are not supported"},
	} {
		src := "id: x\nfunctions: " + tt.ref + "\nstates: []\n"
		_, err := Parse(ctx, "flows/x.sw.yaml", []byte(src), files)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ref %s: err = %v, want %q", tt.ref, err, tt.want)
		}
	}
}

func TestDirLoaderStaysInside(t *testing.T) {
	l := DirLoader{Dir: "testdata/full"}
	ctx := context.Background()
	if _, err := l.Load(ctx, "specs/errors.json"); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"../corpus/README.md", "/etc/passwd"} {
		if _, err := l.Load(ctx, p); err == nil {
			t.Errorf("Load(%q) escaped the root", p)
		}
	}
	// A reference climbing out of the root is clamped to it, then refused
	// by the root when the file is not there.
	if _, err := Parse(ctx, "full.sw.yaml", []byte("id: x\nfunctions: ../../parse.go\nstates: []\n"), l); err == nil {
		t.Error("a reference outside the loader's root must fail")
	}
}

func TestParseDuration(t *testing.T) {
	d, err := ParseDuration("PT1M30S")
	if err != nil || d.Seconds() != 90 {
		t.Errorf("PT1M30S = %v, %v", d, err)
	}
	for _, bad := range []string{"", "90s", "P", "-PT1S"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}

func mustParse(t *testing.T, src string) *Workflow {
	t.Helper()
	w, err := Parse(context.Background(), "w.sw.yaml", []byte(src), nil)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestParseAliasesCannotExplode(t *testing.T) {
	tests := []struct{ src, want string }{
		{"id: x\nstates:\n  - name: A\n    type: inject\n    data: &a {x: *a}\n    end: true\n", "states[0].data: alias *a refers to a value that contains it"},
		{"id: x\na: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\nconstants: {g: [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]}\nstates: []\n",
			"constants: the value is too large"},
		{"id: x\nconstants: {a: " + strings.Repeat("[", 600) + strings.Repeat("]", 600) + "}\nstates: []\n", "nested more than 500 levels"},
	}
	for _, tt := range tests {
		_, err := Parse(context.Background(), "x.sw.yaml", []byte(tt.src), nil)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("err = %v, want %q", err, tt.want)
		}
	}
	// Aliases that do not loop are fine.
	w := mustParse(t, "id: x\nstart: A\nstates:\n  - name: A\n    type: inject\n    data: &d {a: 1}\n    transition: B\n  - name: B\n    type: inject\n    data: *d\n    end: true\n")
	if !reflect.DeepEqual(w.State("B").Data, map[string]any{"a": 1}) {
		t.Errorf("alias data = %v", w.State("B").Data)
	}
}

func TestFilesAreFoundLikeOnTheClasspath(t *testing.T) {
	// The RHDH layout: a sub-flow one directory down names specs/ and
	// schemas/ of the resources root, and output schemas refer to a shared
	// schema that sits above the workflow's own folder.
	files := MapLoader{
		"res/subflows/child.sw.yaml": []byte(`id: child
start: A
dataInputSchema: schemas/in.json
extensions:
  - extensionid: workflow-output-schema
    outputSchema: schemas/out.json
functions:
  - {name: get, operation: 'specs/api.yaml#get'}
  - {name: post, operation: 'classpath:/specs/api.yaml#post'}
states:
  - {name: A, type: operation, actions: [{functionRef: get}, {functionRef: post}], end: true}
`),
		"res/specs/api.yaml":         []byte("openapi: 3.0.0\n"),
		"res/schemas/in.json":        []byte(`{"type": "object"}`),
		"res/schemas/out.json":       []byte(`{"type": "object", "properties": {"result": {"$ref": "../shared/result.json"}}}`),
		"shared/result.json":         []byte(`{"type": "object"}`),
		"res/subflows/elsewhere.txt": nil,
	}
	ctx := context.Background()
	w, err := ParseFile(ctx, files, "res/subflows/child.sw.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if f := Validate(ctx, w); len(f) > 0 {
		t.Errorf("want no findings, got:\n%s", joinFindings(f))
	}
	p, doc, err := w.OpenAPIDocument(ctx, w.Function("post"))
	if err != nil || p != "res/specs/api.yaml" || string(doc) != "openapi: 3.0.0\n" {
		t.Errorf("OpenAPIDocument = %q, %q, %v", p, doc, err)
	}
	if _, _, err := w.OpenAPIDocument(ctx, &Function{Name: "x", Operation: "https://example.com/api.yaml#op"}); !errors.Is(err, ErrRemoteReference) {
		t.Errorf("remote document: err = %v, want ErrRemoteReference", err)
	}
}

func TestSDKGoLeniencies(t *testing.T) {
	w := mustParse(t, `id: x
start: A
states:
  - name: A
    type: switch
    dataConditions: [{condition: '{{ .ok }}', end: true}]
    defaultCondition: B
  - {name: B, type: inject, data: {}, end: true}
`)
	if got := w.State("A").DefaultCondition.Transition; got == nil || got.NextState != "B" {
		t.Errorf("defaultCondition shorthand = %+v", got)
	}
	if f := Validate(context.Background(), w); len(f) > 0 {
		t.Errorf("want no findings, got:\n%s", joinFindings(f))
	}
}
