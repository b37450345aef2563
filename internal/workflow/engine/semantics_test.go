package engine_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// semanticsCase is a small workflow written for one rule of the
// specification (timeouts, retries, errors, compensation, events).
type semanticsCase struct {
	name    string
	src     string
	input   string
	events  []*engine.Event
	stub    http.HandlerFunc
	status  engine.Status
	want    string
	wantErr string
	calls   int64 // stub calls expected, when not 0
}

const header = `
id: t
version: "1.0"
functions:
  - name: call
    type: custom
    operation: rest:post:/call
  - name: boom
    type: expression
    operation: .a / .b
errors:
  - name: timeout
    code: TimeoutError
  - name: server
    code: "500"
  - name: notFound
    code: "404"
  - name: jq
    code: ExpressionError
  - name: unavailable
    code: "503"
  - name: anything
    code: java.lang.Exception
  - name: byMessage
    code: "(?i)quota"
events:
  - name: ping
    type: ping
    source: test
  - name: reply
    type: reply
    source: test
  - name: request
    type: request
    kind: produced
`

func status(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Error(w, "status "+http.StatusText(code), code) }
}

var semanticsCases = []semanticsCase{
	{name: "stateExecTimeout interrupts a sleep and onErrors catches it", src: header + `
start: Nap
timeouts: {stateExecTimeout: PT1S}
states:
  - name: Nap
    type: sleep
    duration: PT1H
    onErrors: [{errorRef: timeout, transition: Late}]
    end: true
  - name: Late
    type: inject
    data: {late: true}
    end: true
`, want: `{"late":true}`},
	{name: "stateExecTimeout of the state wins over the workflow's", src: header + `
start: Nap
timeouts: {stateExecTimeout: PT1S}
states:
  - name: Nap
    type: sleep
    duration: PT2S
    timeouts: {stateExecTimeout: PT1H}
    end: true
`, want: `{}`},
	{name: "actionExecTimeout cancels a slow call", src: header + `
start: Call
states:
  - name: Call
    type: operation
    timeouts: {actionExecTimeout: PT0.2S}
    actions: [{functionRef: {refName: call, arguments: {x: 1}}}]
    onErrors: [{errorRef: timeout, transition: Late}]
    end: true
  - name: Late
    type: inject
    data: {late: true}
    end: true
`, stub: func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(time.Second):
		}
	}, want: `{"late":true}`},
	{name: "eventTimeout lets an event state go on without the event", src: header + `
start: Wait
states:
  - name: Wait
    type: event
    timeouts: {eventTimeout: PT5S}
    onEvents: [{eventRefs: [ping]}]
    transition: After
  - name: After
    type: inject
    data: {after: true}
    end: true
`, want: `{"after":true}`},
	{name: "an event that arrives is merged", src: header + `
start: Wait
states:
  - name: Wait
    type: event
    timeouts: {eventTimeout: PT5S}
    onEvents: [{eventRefs: [ping], eventDataFilter: {toStateData: .ping}}]
    end: true
`, events: []*engine.Event{ev("ping", map[string]any{"n": 1})}, want: `{"ping":{"n":1}}`},
	{name: "workflowExecTimeout runs runBefore then ends", src: header + `
start: Wait
timeouts:
  workflowExecTimeout: {duration: PT10S, runBefore: Report}
states:
  - name: Wait
    type: event
    onEvents: [{eventRefs: [ping]}]
    end: true
  - name: Report
    type: inject
    data: {reported: true}
    end: true
`, want: `{"reported":true}`},
	{name: "workflowExecTimeout aborts", src: header + `
start: Nap
timeouts: {workflowExecTimeout: PT10S}
states:
  - name: Nap
    type: sleep
    duration: PT1H
    end: true
`, status: engine.StatusAborted},
	{name: "resultEventTimeout fails an eventRef action", src: header + `
start: Ask
states:
  - name: Ask
    type: operation
    actions:
      - eventRef: {triggerEventRef: request, resultEventRef: reply, resultEventTimeout: PT3S, data: "{q: .q}"}
    onErrors: [{errorRef: timeout, transition: NoReply}]
    end: true
  - name: NoReply
    type: inject
    data: {replied: false}
    end: true
`, input: `{"q":1}`, want: `{"replied":false}`},
	{name: "eventRef result event is the action result", src: header + `
start: Ask
states:
  - name: Ask
    type: operation
    actions:
      - eventRef: {triggerEventRef: request, resultEventRef: reply, data: "{q: .q}"}
        actionDataFilter: {toStateData: .answer}
    end: true
`, input: `{"q":1}`, events: []*engine.Event{ev("reply", map[string]any{"a": 2})}, want: `{"answer":{"a":2}}`},
	{name: "branchExecTimeout fails a slow branch", src: header + `
start: Fan
states:
  - name: Fan
    type: parallel
    branches:
      - name: slow
        timeouts: {branchExecTimeout: PT1S}
        actions: [{functionRef: {refName: boom}, sleep: {before: PT1H}}]
      - name: fast
        actions: [{functionRef: {refName: boom}}]
    onErrors: [{errorRef: timeout, transition: Late}]
    end: true
  - name: Late
    type: inject
    data: {late: true}
    end: true
`, input: `{"a":4,"b":2}`, want: `{"late":true}`},
	{name: "retries up to maxAttempts then fail", src: header + `
start: Call
retries: [{name: thrice, delay: PT1S, maxAttempts: 2, multiplier: 2}]
states:
  - name: Call
    type: operation
    actions: [{functionRef: {refName: call}, retryRef: thrice}]
    end: true
`, stub: status(503), status: engine.StatusError, wantErr: "HTTP 503", calls: 3},
	{name: "retryableErrors limits what is retried", src: header + `
start: Call
retries: [{name: r, delay: PT1S, maxAttempts: 5}]
states:
  - name: Call
    type: operation
    actions: [{functionRef: {refName: call}, retryRef: r, retryableErrors: [unavailable]}]
    end: true
`, stub: status(404), status: engine.StatusError, wantErr: "HTTP 404", calls: 1},
	{name: "autoRetries skips nonRetryableErrors", src: header + `
start: Call
autoRetries: true
states:
  - name: Call
    type: operation
    actions: [{functionRef: {refName: call}, nonRetryableErrors: [notFound]}]
    end: true
`, stub: status(404), status: engine.StatusError, calls: 1},
	{name: "autoRetries retries with the default policy", src: header + `
start: Call
autoRetries: true
states:
  - name: Call
    type: operation
    actions: [{functionRef: {refName: call}}]
    end: true
`, stub: status(500), status: engine.StatusError, calls: 4},
	{name: "HTTP 500 is caught by its status code", src: header + `
start: Call
states:
  - name: Call
    type: operation
    actions: [{functionRef: {refName: call}}]
    onErrors: [{errorRef: server, transition: Handled}]
    end: true
  - name: Handled
    type: inject
    data: {handled: true}
    end: true
`, stub: status(500), want: `{"handled":true}`},
	{name: "a message regex catches an error", src: header + `
start: Call
states:
  - name: Call
    type: operation
    actions: [{functionRef: {refName: call}}]
    onErrors: [{errorRef: byMessage, transition: Handled}]
    end: true
  - name: Handled
    type: inject
    data: {handled: true}
    end: true
`, stub: func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "Quota exceeded", http.StatusTooManyRequests)
	}, want: `{"handled":true}`},
	{name: "a jq runtime error is caught", src: header + `
start: Divide
states:
  - name: Divide
    type: operation
    actions: [{functionRef: boom}]
    onErrors: [{errorRef: jq, end: true}]
    end: true
`, input: `{"a":1,"b":"x"}`, want: `{"a":1}`},
	{name: "an unhandled error fails the instance", src: header + `
start: Divide
states:
  - name: Divide
    type: operation
    actions: [{functionRef: boom}]
    end: true
`, input: `{"a":1,"b":"x"}`, status: engine.StatusError, wantErr: `state "Divide"`},
	{name: "an unreachable service is an error, not a panic", src: header + `
start: Call
states:
  - name: Call
    type: operation
    actions: [{functionRef: call}]
    onErrors: [{errorRef: anything, transition: Handled}]
    end: true
  - name: Handled
    type: inject
    data: {handled: true}
    end: true
`, want: `{"handled":true}`},
	{name: "action condition skips an action", src: header + `
start: Maybe
states:
  - name: Maybe
    type: operation
    actions:
      - functionRef: boom
        condition: .run
        actionDataFilter: {toStateData: .result}
    end: true
`, input: `{"run":false,"a":1,"b":"x"}`, want: `{"run":false}`},
	{name: "useResults false discards the result", src: header + `
start: Do
states:
  - name: Do
    type: operation
    actions:
      - functionRef: boom
        actionDataFilter: {useResults: false}
    end: true
`, input: `{"a":4,"b":2}`, want: `{"a":4,"b":2}`},
	{name: "parallel actions merge in definition order", src: header + `
start: Do
states:
  - name: Do
    type: operation
    actionMode: parallel
    actions:
      - functionRef: boom
        actionDataFilter: {toStateData: .x}
      - functionRef: boom
        actionDataFilter: {results: ". * 10", toStateData: .y}
    end: true
`, input: `{"a":4,"b":2}`, want: `{"x":2,"y":20}`},
	{name: "foreach in parallel batches", src: header + `
start: Each
states:
  - name: Each
    type: foreach
    inputCollection: .items
    iterationParam: it
    outputCollection: .out
    batchSize: 2
    actions: [{functionRef: {refName: call, arguments: {v: "${ $it }"}}, actionDataFilter: {results: .v}}]
    end: true
`, input: `{"items":[1,2,3,4,5]}`, stub: func(w http.ResponseWriter, r *http.Request) {
		var b map[string]any
		json.NewDecoder(r.Body).Decode(&b)
		jsonHandler(b)(w, r)
	}, want: `{"out":[1,2,3,4,5]}`, calls: 5},
	{name: "end.compensate runs compensation in reverse order", src: header + `
start: A
states:
  - name: A
    type: inject
    data: {log: []}
    compensatedBy: UndoA
    transition: B
  - name: B
    type: inject
    data: {b: true}
    compensatedBy: UndoB
    end: {compensate: true}
  - name: UndoA
    type: operation
    usedForCompensation: true
    actions: [{functionRef: {refName: boom}, condition: "false"}]
    stateDataFilter: {output: ".log += [\"A\"]"}
  - name: UndoB
    type: operation
    usedForCompensation: true
    actions: []
    stateDataFilter: {output: ".log += [\"B\"]"}
`, want: `{"log":["B","A"],"b":true}`},
	{name: "produceEvents on a transition", src: header + `
start: A
states:
  - name: A
    type: inject
    data: {x: 1}
    transition: {nextState: B, produceEvents: [{eventRef: request, data: "{x: .x}"}]}
  - name: B
    type: inject
    data: {y: 2}
    end: true
`, want: `{"x":1,"y":2}`},
}

func TestSemantics(t *testing.T) {
	for _, c := range semanticsCases {
		t.Run(c.name, func(t *testing.T) {
			var calls atomic.Int64
			props := map[string]string{"kogito.sw.functions.call.host": "127.0.0.1", "kogito.sw.functions.call.port": "1"}
			if c.stub != nil {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					calls.Add(1)
					c.stub(w, r)
				}))
				defer srv.Close()
				h, p, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
				props["kogito.sw.functions.call.host"], props["kogito.sw.functions.call.port"] = h, p
			}
			eng := engine.NewEngine(&function.Invoker{})
			eng.Rand = func() float64 { return 0.5 }
			def := prepareYAML(t, eng, c.src, props)
			input := map[string]any{}
			if c.input != "" {
				if err := json.Unmarshal([]byte(c.input), &input); err != nil {
					t.Fatal(err)
				}
			}
			host := &engine.LocalHost{FastTimers: true, Events: c.events}
			_, out, err := host.Run(context.Background(), def, engine.StartOptions{Input: input})
			if err != nil {
				t.Fatal(err)
			}
			want := c.status
			if want == "" {
				want = engine.StatusCompleted
			}
			if out.Status != want {
				t.Fatalf("status %s (%v), want %s; data %v", out.Status, out.Error, want, out.Data)
			}
			if c.wantErr != "" && (out.Error == nil || !strings.Contains(out.Error.Error(), c.wantErr)) {
				t.Fatalf("error %v, want %q", out.Error, c.wantErr)
			}
			if c.want != "" {
				var w any
				json.Unmarshal([]byte(c.want), &w)
				if !contains(out.Data, w) {
					got, _ := json.Marshal(out.Data)
					t.Fatalf("output %s does not contain %s", got, c.want)
				}
			}
			if c.calls != 0 && calls.Load() != c.calls {
				t.Fatalf("%d calls, want %d", calls.Load(), c.calls)
			}
		})
	}
}
