package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/expr"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// corpusCase runs one workflow of testdata/corpus. Expected outputs come
// from the folder names, the specification and SonataFlow's documented
// behaviour.
type corpusCase struct {
	dir, file string
	input     string
	vars      map[string]any
	headers   map[string]string
	props     map[string]string // "URL" in a value is replaced by the stub's URL
	events    []*engine.Event
	start     *engine.Event // an event that starts the instance
	stub      http.HandlerFunc
	status    engine.Status // COMPLETED when empty
	want      string        // JSON the output must contain (object keys compared recursively)
	wantErr   string        // text the error message must contain
	startErr  bool          // Start itself must fail (invalid input)
	produced  []string      // types of the events that must be produced
	stuck     bool          // the instance is left waiting for an event never given
}

func ev(typ string, data any, ext ...string) *engine.Event {
	e := &engine.Event{ID: typ + "-1", Type: typ, Source: "test", Data: data, Extensions: map[string]any{}}
	for i := 0; i+1 < len(ext); i += 2 {
		e.Extensions[ext[i]] = ext[i+1]
	}
	return e
}

func jsonHandler(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
}

var corpusCases = []corpusCase{
	{dir: "spec-example-helloworld", want: `{"result":"Hello World!"}`},
	{dir: "inject-helloworld-empty-body", want: `{"result":"Hello World!"}`},
	{dir: "inject-helloworld-no-body", want: `{"result":"Hello World!"}`},
	{dir: "event-state-by-business-key", events: []*engine.Event{ev("move", map[string]any{"moved": true})}, want: `{"moved":true}`},
	{dir: "event-state-by-instance-id", events: []*engine.Event{ev("move", map[string]any{"moved": true})}, want: `{"moved":true}`},
	{dir: "event-state-wrong-instance-ignored", events: []*engine.Event{ev("other", map[string]any{"moved": false})}, status: engine.StatusActive, stuck: true},
	{dir: "event-state-timeout-continues", want: `{}`},
	{dir: "expression-output-schema-rejects", input: `{"numbers":[{"x":1,"y":2}]}`, status: engine.StatusError, wantErr: "output schema"},
	{dir: "inject-helloworld-workflowdata-empty-string", want: `{"result":"Hello World!"}`},
	{dir: "rhdh-fail-switch-ok", input: `{"switch":"OK"}`, want: `{"result":{"message":"Success"}}`},
	{dir: "rhdh-fail-switch-ko-errors", input: `{"switch":"KO"}`, status: engine.StatusError, wantErr: "sendFailingGet"},
	{dir: "spec-filter-action-results", want: `{"breads":["baguette","brioche","rye"]}`},
	{dir: "spec-filter-action-tostatedata", want: `{"itemsToBuyAtStore":["baguette","spaghetti"]}`},
	{dir: "spec-filter-action-useresults-false", input: `{"a":1}`, want: `{"a":1}`},
	{dir: "spec-merge-number-overwrite", input: `{"age":25}`, want: `{"age":30}`},
	{dir: "spec-merge-objects", input: `{"customer":{"name":"Jane","address":"1 Main St"}}`, want: `{"customer":{"name":"John","address":"1 Main St","zip":"54321"}}`},
	{dir: "spec-example-fill-glass-loop", input: `{"counts":{"current":0,"max":10}}`, want: `{"counts":{"current":10,"max":10}}`},
	{dir: "switch-event-timeout-default-to-denied", produced: []string{"process_result_event_transition2"}},
	{dir: "switch-event-timeout-default-end-produces", produced: []string{"process_result_event_condition_end"}},
	{dir: "subflow-nested-waiting-children", file: "main-flow.sw.yml", events: []*engine.Event{ev("event1", map[string]any{}), ev("event2", map[string]any{}), ev("event1", map[string]any{}), ev("event2", map[string]any{})}},
	{dir: "openapi-array-body", input: `{"inputArray":[1,2,3]}`,
		props: map[string]string{"quarkus.rest-client.array_yaml.url": "URL"},
		stub: func(w http.ResponseWriter, r *http.Request) {
			var in []float64
			json.NewDecoder(r.Body).Decode(&in)
			jsonHandler([]float64{in[2], in[1], in[0]})(w, r)
		},
		want: `{"response":[3,2,1]}`},
	{dir: "openapi-enum-request-body", props: map[string]string{"quarkus.rest-client.enum_parameter_yaml.url": "URL"},
		stub: func(w http.ResponseWriter, r *http.Request) {
			var in map[string]any
			json.NewDecoder(r.Body).Decode(&in)
			jsonHandler(map[string]any{"echoedMsgType": in["msgType"]})(w, r)
		},
		want: `{"msgType":"text","echoedMsgType":"text"}`},
	{dir: "openapi-text-plain", input: `{"name":"Hello"}`, props: map[string]string{"quarkus.rest-client.stringResource_json.url": "URL"},
		stub: func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			rs := []rune(string(b))
			for i, j := 0, len(rs)-1; i < j; i, j = i+1, j-1 {
				rs[i], rs[j] = rs[j], rs[i]
			}
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, string(rs))
		},
		want: `{"name":"Hello","response":"olleH"}`},
	{dir: "openapi-path-param", props: map[string]string{"quarkus.rest-client.petstore_openapi_yaml.url": "URL"},
		stub: func(w http.ResponseWriter, r *http.Request) {
			jsonHandler(map[string]any{"path": r.URL.Path, "name": "doggie"})(w, r)
		},
		want: `{"path":"/pet/4","name":"doggie"}`},
	{dir: "event-headers-token-propagation", start: ev("lock-event", map[string]any{"name": "door"}),
		props: map[string]string{"quarkus.rest-client.simple_server_yaml.url": "URL"},
		stub:  jsonHandler(map[string]any{"ok": true}), produced: []string{"id-event"}, want: `{"name":"door","ok":true}`},
	{dir: "compensation-triggered", input: `{"shouldCompensate":true}`, want: `{"compensated":true,"compensating_more":"Real Betis Balompie"}`},
	{dir: "compensation-not-triggered", input: `{"shouldCompensate":false}`, want: `{"compensated":false}`},
	{dir: "foreach-prev-action-result", input: `{"input":[1,2,3]}`, want: `{"output":[4,6,8]}`},
	{dir: "foreach-subflow", file: "foreach_parent.sw.json", input: `{"numbers":[1,2,3],"constant":2}`, want: `{"products":[2,4,6]}`},
	{dir: "foreach-custom-rest-query", input: `{"input":[2,4,6],"divisor":2}`,
		props: map[string]string{"kogito.sw.functions.division.host": "HOST", "kogito.sw.functions.division.port": "PORT"},
		stub: func(w http.ResponseWriter, r *http.Request) {
			var a, b int
			json.Unmarshal([]byte(r.URL.Query().Get("dividend")), &a)
			json.Unmarshal([]byte(r.URL.Query().Get("divisor")), &b)
			jsonHandler(map[string]any{"result": a / b})(w, r)
		},
		want: `{"output":[2,3,4]}`},
	{dir: "parallel-at-least-two", input: `{"numCompleted":2}`, want: `{"firstPart":"A","secondPart":"B"}`},
	{dir: "parallel-all-branches", input: `{"numCompleted":3}`, want: `{"firstPart":"A","secondPart":"B","thirdPart":"C"}`},
	{dir: "parallel-branches-merge", input: `{"number":4}`, want: `{"half":2,"double":8}`},
	{dir: "sleep-state-timer", want: `{}`},
	{dir: "switch-data-transition-approved", input: `{"age":20}`, want: `{"decision":"Approved"}`},
	{dir: "switch-data-transition-denied", input: `{"age":12}`, want: `{"decision":"Denied"}`},
	{dir: "switch-data-transition-default", input: `{"age":-1}`, want: `{"decision":"Denied"}`},
	{dir: "switch-data-end", input: `{"age":20}`, want: `{"decision":"EndDecision"}`},
	{dir: "switch-event-approved", events: []*engine.Event{ev("visa_approved_in_transition", map[string]any{})}, produced: []string{"process_result_event_transition"}},
	{dir: "switch-event-timeout-default", produced: []string{"process_result_event_transition"}},
	{dir: "switch-jsonpath-greet-english", input: `{"language":"English"}`},
	{dir: "switch-jsonpath-greet-spanish", input: `{"language":"Spanish"}`},
	{dir: "switch-jsonpath-greet-default", input: `{"language":"French"}`},
	{dir: "keepactive-stays-active", input: `{"keepActive":true}`, status: engine.StatusActive, want: `{"message":"this will never end"}`},
	{dir: "keepactive-terminate-ends", input: `{"keepActive":false}`, want: `{"message":"this will end right now"}`},
	{dir: "error-jq-runtime-retrigger", input: `{"number1":1,"number2":"x"}`, status: engine.StatusError, wantErr: "cannot divide"},
	{dir: "errormetadata-odd-fails", input: `{"number":3}`, status: engine.StatusError, wantErr: "Is Odd number"},
	{dir: "errormetadata-even-completes", input: `{"number":4}`, want: `{"number":4}`},
	{dir: "workflow-exec-timeout-aborts", status: engine.StatusAborted},
	{dir: "event-state-all-events-required", events: []*engine.Event{ev("quiet", map[string]any{"a": 1}), ev("never", map[string]any{"b": 2})}, want: `[{"a":1}]`},
	{dir: "event-state-exclusive-second", events: []*engine.Event{ev("event2Exclusive", map[string]any{"second": true})}, want: `{"second":true}`},
	{dir: "event-state-timeout-no-event", want: `{}`},
	{dir: "event-start-produce-on-end", start: ev("start_event", map[string]any{"hi": "there"}), produced: []string{"exit_event"},
		want: `{"originalMessage":{"hi":"there"},"greeting":"Hello World","mantra":"Serverless Workflow is awesome!"}`},
	{dir: "event-start-tostatedata", start: ev("customer-arrival-type", map[string]any{"customer": map[string]any{"name": "Ada"}}), want: `{"customerInfo":{"name":"Ada"}}`},
	{dir: "event-state-tostatedata-literal", events: []*engine.Event{ev("multiple_timer_instances_event_state_timeouts_event_type", map[string]any{})},
		want: `{"exitMessage":"The multiple_timer_instances_event_state_timeouts_event was received."}`},
	{dir: "event-correlation-attribute", events: []*engine.Event{
		ev("correlation_start_event_type", map[string]any{"step": 1}, "userid", "u1"),
		ev("correlation_event_type", map[string]any{"step": 2}, "userid", "other"),
		ev("correlation_event_type", map[string]any{"step": 3}, "userid", "u1"),
	}, want: `{"step":3}`},
	{dir: "callback-event-completes", input: `{"query":"q"}`,
		props:  map[string]string{"quarkus.rest-client.external_service_yaml.url": "URL"},
		stub:   jsonHandler(map[string]any{}),
		events: []*engine.Event{ev("callback_state_event_type", map[string]any{"answer": 42})},
		want:   `{"answer":42,"lastExecutedState":"FinalizeSuccessful"}`},
	{dir: "callback-timeout-continues", input: `{"query":"q"}`,
		props: map[string]string{"quarkus.rest-client.external_service_yaml.url": "URL"},
		stub:  jsonHandler(map[string]any{}),
		want:  `{"lastExecutedState":"FinalizeSuccessful"}`},
	{dir: "callback-action-error-handled", input: `{"query":"q"}`,
		props: map[string]string{"quarkus.rest-client.external_service_yaml.url": "URL"},
		stub:  func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) },
		want:  `{"lastExecutedState":"FinalizeWithError"}`},
	{dir: "callback-timeout-variant-io-error", input: `{"query":"q"}`,
		props: map[string]string{"quarkus.rest-client.external_service_yaml.url": "http://127.0.0.1:1"},
		want:  `{"lastExecutedState":"FinalizeWithError"}`},
	{dir: "spec-filter-state-input", input: `{"fruits":["apple","orange","pear"],"vegetables":[{"veggieName":"potato","veggieLike":true},{"veggieName":"broccoli","veggieLike":false}]}`,
		want: `{"fruits":["apple","orange","pear"]}`},
	{dir: "rhdh-greeting-english", input: `{"language":"English"}`, want: `{"result":{"message":"Greeting workflow completed successfully"}}`},
	{dir: "rhdh-greeting-spanish", input: `{"language":"Spanish"}`, want: `{"greeting":"Saludos desde YAML Workflow"}`},
	{dir: "rhdh-greeting-input-schema-rejects", input: `{"language":"Klingon"}`, startErr: true},
	{dir: "expression-input-schema-rejects", input: `{"numbers":"nope"}`, startErr: true},
	{dir: "expression-functions-sqrt", input: `{"numbers":[{"x":9,"y":1},{"x":4,"y":2}]}`, want: `{"result":3}`},
	{dir: "expression-const-secret-workflow-vars", input: `{"numbers":[{"x":9,"y":1},{"x":4,"y":2}]}`, headers: map[string]string{"pepe": "pepa"},
		want: `{"message":"my name is javierito and in my native language dog is translated to perro and the header pepe is pepa"}`},
	{dir: "openapi-uri-alias-configkey", input: `{"fahrenheit":100}`,
		props: map[string]string{"quarkus.rest-client.subtraction_yaml.url": "URL/sub", "quarkus.rest-client..clusterName.url": "URL/mul"},
		stub:  mathStub,
		want:  `{"celsius":37.7808}`},
	{dir: "openapi-service-500-error", input: `{"fahrenheit":100}`,
		props:  map[string]string{"quarkus.rest-client.subtraction_yaml.url": "URL/fail", "quarkus.rest-client..clusterName.url": "URL/mul"},
		stub:   mathStub,
		status: engine.StatusError, wantErr: "HTTP 500"},
	{dir: "openapi-configkey-missing", input: `{"fahrenheit":100}`,
		props:  map[string]string{"quarkus.rest-client.subtraction_yaml.url": "URL/sub"},
		stub:   mathStub,
		status: engine.StatusError, wantErr: "no URL for the service"},
	{dir: "custom-rest-response-headers",
		props: map[string]string{"kogito.sw.functions.workflowHeaders.host": "HOST", "kogito.sw.functions.workflowHeaders.port": "PORT"},
		stub: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("X-Custom-Header", "MyHeaderValue")
			jsonHandler(map[string]any{"ok": true})(w, r)
		},
		want: `{"message":"X-Custom-Header had the value MyHeaderValue"}`},
	{dir: "custom-rest-interpolation-prefixes", input: `{"kind":"greeting","lang":"en","caller":"tester","name":"Ada"}`,
		props: map[string]string{"kogito.sw.functions.echo.host": "HOST", "kogito.sw.functions.echo.port": "PORT"},
		stub: func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			json.NewDecoder(r.Body).Decode(&body)
			jsonHandler(map[string]any{"reply": map[string]any{
				"path": r.URL.Path, "lang": r.URL.Query().Get("lang"), "caller": r.Header.Get("X-Caller"),
				"explicit": body["explicit"], "implicit": body["implicit"],
			}})(w, r)
		},
		want: `{"answer":{"path":"/echo/greeting","lang":"en","caller":"tester","explicit":"Hi Ada","implicit":"Hello Ada!"}}`},
}

// mathStub serves the subtraction and multiplication services of the
// temperature-conversion workflows.
func mathStub(w http.ResponseWriter, r *http.Request) {
	var body map[string]float64
	json.NewDecoder(r.Body).Decode(&body)
	switch {
	case strings.HasPrefix(r.URL.Path, "/sub"):
		jsonHandler(map[string]any{"difference": body["leftElement"] - body["rightElement"]})(w, r)
	case strings.HasPrefix(r.URL.Path, "/mul"):
		if r.Header.Get("pepe") != "pepa" {
			http.Error(w, "missing header pepe", 400)
			return
		}
		jsonHandler(map[string]any{"product": body["leftElement"] * body["rightElement"]})(w, r)
	default:
		http.Error(w, "failure", 500)
	}
}

func TestCorpus(t *testing.T) {
	for _, c := range corpusCases {
		t.Run(c.dir, func(t *testing.T) {
			runCorpusCase(t, c)
		})
	}
}

// loadDir parses every workflow of a corpus folder.
func loadDir(t testing.TB, eng *engine.Engine, dir string, props map[string]string) map[string]*engine.Definition {
	t.Helper()
	ctx := context.Background()
	loader := workflow.DirLoader{Dir: dir}
	files, _ := filepath.Glob(filepath.Join(dir, "*.sw.*"))
	defs := map[string]*engine.Definition{}
	for _, f := range files {
		name := filepath.Base(f)
		w, err := workflow.ParseFile(ctx, loader, name)
		if err != nil {
			t.Fatalf("parse %s: %v", name, err)
		}
		if fs := workflow.Validate(ctx, w); workflow.HasErrors(fs) {
			t.Fatalf("validate %s: %v", name, fs)
		}
		d, err := eng.Prepare(ctx, w, props)
		if err != nil {
			t.Fatalf("prepare %s: %v", name, err)
		}
		defs[name] = d
		defs["id:"+w.ID] = d
	}
	return defs
}

func runCorpusCase(t *testing.T, c corpusCase) {
	ctx := context.Background()
	var calls atomic.Int64
	props := map[string]string{"expression.my_name": "javierito"}
	if c.stub != nil {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			calls.Add(1)
			c.stub(w, r)
		}))
		t.Cleanup(srv.Close)
		host := strings.TrimPrefix(srv.URL, "http://")
		h, p, _ := strings.Cut(host, ":")
		for k, v := range c.props {
			v = strings.ReplaceAll(v, "URL", srv.URL)
			v = strings.ReplaceAll(v, "HOST", h)
			props[k] = strings.ReplaceAll(v, "PORT", p)
		}
	} else {
		for k, v := range c.props {
			props[k] = v
		}
	}
	eng := engine.NewEngine(&function.Invoker{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	dir := filepath.Join("testdata", "corpus", c.dir)
	defs := loadDir(t, eng, dir, props)
	def := defs[c.file]
	if c.file == "" {
		if len(defs) != 2 {
			t.Fatalf("%s holds %d workflows; name one", dir, len(defs)/2)
		}
		for k, d := range defs {
			if !strings.HasPrefix(k, "id:") {
				def = d
			}
		}
	}
	var produced []string
	host := &engine.LocalHost{
		Events:     append([]*engine.Event(nil), c.events...),
		FastTimers: true,
		SubFlow: func(_ context.Context, id, _ string) (*engine.Definition, error) {
			if d := defs["id:"+id]; d != nil {
				return d, nil
			}
			return nil, errors.New("no sub-flow " + id)
		},
		OnProduced: func(e engine.Event) { produced = append(produced, e.Type) },
	}
	input := map[string]any{}
	if c.input != "" {
		if err := json.Unmarshal([]byte(c.input), &input); err != nil {
			t.Fatal(err)
		}
	}
	_, out, err := host.Run(ctx, def, engine.StartOptions{Input: input, Variables: c.vars, Headers: c.headers, Event: c.start})
	if c.startErr {
		if !errors.Is(err, engine.ErrInvalidInput) {
			t.Fatalf("Start error = %v, want ErrInvalidInput", err)
		}
		return
	}
	if c.stuck && errors.Is(err, engine.ErrStuck) {
		err = nil
	}
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	want := c.status
	if want == "" {
		want = engine.StatusCompleted
	}
	if out.Status != want {
		t.Fatalf("status %s (error %v), want %s; data %v", out.Status, out.Error, want, out.Data)
	}
	if c.wantErr != "" && (out.Error == nil || !strings.Contains(out.Error.Error(), c.wantErr)) {
		t.Fatalf("error %v, want one containing %q", out.Error, c.wantErr)
	}
	if c.want != "" {
		var w any
		if err := json.Unmarshal([]byte(c.want), &w); err != nil {
			t.Fatal(err)
		}
		if !contains(out.Data, w) {
			got, _ := json.Marshal(out.Data)
			t.Fatalf("output %s does not contain %s", got, c.want)
		}
	}
	for _, typ := range c.produced {
		found := false
		for _, p := range produced {
			found = found || p == typ
		}
		if !found {
			t.Errorf("no %q event produced (got %v)", typ, produced)
		}
	}
}

// contains reports whether got holds want: objects key by key, arrays and
// scalars equal (numbers compared as float64).
func contains(got, want any) bool {
	g, _ := expr.Normalize(got)
	switch w := want.(type) {
	case map[string]any:
		gm, ok := g.(map[string]any)
		if !ok {
			return false
		}
		for k, v := range w {
			if !contains(gm[k], v) {
				return false
			}
		}
		return true
	case []any:
		ga, ok := g.([]any)
		if !ok || len(ga) != len(w) {
			return false
		}
		for i := range w {
			if !contains(ga[i], w[i]) {
				return false
			}
		}
		return true
	case float64:
		switch n := g.(type) {
		case int:
			return float64(n) == w
		case float64:
			return n-w < 1e-9 && w-n < 1e-9
		}
		return false
	}
	return reflect.DeepEqual(g, want)
}

func TestMain(m *testing.M) {
	os.Exit(m.Run())
}
