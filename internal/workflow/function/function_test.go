package function_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/expr"
	"github.com/portico-dev/portico/internal/workflow/function"
)

const petstore = `openapi: 3.0.3
info: {title: Pet Store, version: "1"}
servers: [{url: /api/v3}]
paths:
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, required: true, schema: {type: integer}}
    get:
      operationId: getPet
      parameters:
        - {name: verbose, in: query, schema: {type: boolean}}
        - {name: X-Trace, in: header, schema: {type: string}}
      responses: {"200": {description: ok}}
  /pets:
    post:
      operationId: addPet
      requestBody:
        content:
          application/json:
            schema: {type: object}
      responses: {"200": {description: ok}}
  /reverse:
    post:
      operationId: reverse
      requestBody:
        content:
          text/plain:
            schema: {type: string}
      responses: {"200": {description: ok}}
  /tags:
    post:
      operationId: tags
      requestBody:
        content:
          application/json:
            schema: {type: array, items: {type: string}}
      responses: {"200": {description: ok}}
`

func workflowWith(t *testing.T, functions, extra string) *workflow.Workflow {
	t.Helper()
	src := "id: wf\nstart: S\nfunctions:\n" + functions + extra + "\nstates:\n  - name: S\n    type: inject\n    data: {}\n    end: true\n"
	w, err := workflow.Parse(context.Background(), "wf.sw.yaml", []byte(src), workflow.MapLoader{"specs/petstore.yaml": []byte(petstore)})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

type seen struct {
	method, path, query, ctype, auth, trace string
	body                                    string
}

func recorder(t *testing.T, last *seen, reply any) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		*last = seen{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), r.Header.Get("Authorization"), r.Header.Get("X-Trace"), string(b)}
		if s, ok := reply.(string); ok {
			w.Header().Set("Content-Type", "text/plain")
			io.WriteString(w, s)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(reply)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func call(w *workflow.Workflow, fn string, args any, props map[string]string) *engine.Call {
	return &engine.Call{Workflow: w, Function: w.Function(fn), Arguments: args, Properties: props, Evaluator: &expr.Evaluator{}}
}

func TestOpenAPIMapsArguments(t *testing.T) {
	var last seen
	srv := recorder(t, &last, map[string]any{"id": 4})
	w := workflowWith(t, "  - {name: getPet, operation: specs/petstore.yaml#getPet}\n  - {name: addPet, operation: specs/petstore.yaml#addPet}\n  - {name: reverse, operation: specs/petstore.yaml#reverse}\n  - {name: tags, operation: specs/petstore.yaml#tags}\n", "")
	inv := &function.Invoker{}
	ctx := context.Background()
	props := map[string]string{"quarkus.rest-client.petstore_yaml.url": srv.URL}

	res, err := inv.Invoke(ctx, call(w, "getPet", map[string]any{"petId": 4, "verbose": true, "X-Trace": "t1"}, props))
	if err != nil {
		t.Fatal(err)
	}
	if last.method != "GET" || last.path != "/pets/4" || last.query != "verbose=true" || last.trace != "t1" {
		t.Errorf("request %+v", last)
	}
	if r := res.(*engine.Response); r.Body.(map[string]any)["id"] != 4 {
		t.Errorf("result %v", r.Body)
	}

	if _, err := inv.Invoke(ctx, call(w, "addPet", map[string]any{"name": "Rex", "age": 3}, props)); err != nil {
		t.Fatal(err)
	}
	if last.method != "POST" || last.ctype != "application/json" || !strings.Contains(last.body, `"name":"Rex"`) {
		t.Errorf("request %+v", last)
	}

	if _, err := inv.Invoke(ctx, call(w, "reverse", "hello", props)); err != nil {
		t.Fatal(err)
	}
	if last.ctype != "text/plain" || last.body != "hello" {
		t.Errorf("text body: %+v", last)
	}

	if _, err := inv.Invoke(ctx, call(w, "tags", []any{"a", "b"}, props)); err != nil {
		t.Fatal(err)
	}
	if last.body != `["a","b"]` {
		t.Errorf("array body: %q", last.body)
	}
}

func TestOpenAPIBaseURLKeys(t *testing.T) {
	var last seen
	srv := recorder(t, &last, map[string]any{})
	w := workflowWith(t, "  - {name: getPet, operation: specs/petstore.yaml#getPet}\n", "")
	args := map[string]any{"petId": 1}
	for name, props := range map[string]map[string]string{
		"file name":             {"quarkus.rest-client.petstore_yaml.url": srv.URL},
		"quoted file name":      {`quarkus.rest-client."petstore_yaml".url`: srv.URL},
		"function name":         {"kogito.sw.operationIdStrategy": "FUNCTION_NAME", "quarkus.rest-client.wf_getPet.url": srv.URL},
		"spec title":            {"kogito.sw.operationIdStrategy": "SPEC_TITLE", "quarkus.rest-client.Pet_Store.url": srv.URL},
		"orchestrator property": {"orchestrator.functions.getPet.url": srv.URL},
	} {
		last = seen{}
		if _, err := (&function.Invoker{}).Invoke(context.Background(), call(w, "getPet", args, props)); err != nil {
			t.Errorf("%s: %v", name, err)
		} else if last.path != "/pets/1" {
			t.Errorf("%s: path %q", name, last.path)
		}
	}
	_, err := (&function.Invoker{}).Invoke(context.Background(), call(w, "getPet", args, nil))
	if err == nil || !strings.Contains(err.Error(), "quarkus.rest-client.petstore_yaml.url") {
		t.Errorf("no URL: %v", err)
	}
}

func TestNon2xxIsAnErrorWithTheStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "nope", http.StatusNotFound) }))
	defer srv.Close()
	w := workflowWith(t, "  - {name: getPet, operation: specs/petstore.yaml#getPet}\n", "")
	_, err := (&function.Invoker{}).Invoke(context.Background(), call(w, "getPet", map[string]any{"petId": 1}, map[string]string{"orchestrator.functions.getPet.url": srv.URL}))
	var he *function.HTTPError
	if !errors.As(err, &he) || he.StatusCode() != 404 {
		t.Fatalf("error %v, want an HTTPError 404", err)
	}
}

func TestAuth(t *testing.T) {
	var last seen
	srv := recorder(t, &last, map[string]any{})
	var tokenCalls atomic.Int64
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tokenCalls.Add(1)
		r.ParseForm()
		if r.Form.Get("grant_type") != "client_credentials" || r.Form.Get("client_id") != "portico" || r.Form.Get("client_secret") != "s3cret" {
			http.Error(w, "bad client", http.StatusUnauthorized)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"access_token": "tok-1", "expires_in": 300})
	}))
	defer idp.Close()
	fns := "  - {name: basic, operation: specs/petstore.yaml#getPet, authRef: b}\n  - {name: bearer, operation: specs/petstore.yaml#getPet, authRef: t}\n  - {name: oauth, operation: specs/petstore.yaml#getPet, authRef: o}\n"
	auth := "auth:\n  - {name: b, scheme: basic, properties: {username: ann, password: pw}}\n  - {name: t, scheme: bearer, properties: {token: $SECRET.api_token}}\n" +
		"  - {name: o, scheme: oauth2, properties: {authority: " + idp.URL + "/realms/x, grantType: clientCredentials, clientId: portico, clientSecret: s3cret}}\n"
	w := workflowWith(t, fns, auth)
	props := map[string]string{"quarkus.rest-client.petstore_yaml.url": srv.URL, "api_token": "from-secret"}
	inv := &function.Invoker{}
	for fn, want := range map[string]string{
		"basic":  "Basic " + base64.StdEncoding.EncodeToString([]byte("ann:pw")),
		"bearer": "Bearer from-secret",
		"oauth":  "Bearer tok-1",
	} {
		c := call(w, fn, map[string]any{"petId": 1}, props)
		c.Vars = expr.Vars{Secrets: expr.SecretsFromProperties(props)}
		if _, err := inv.Invoke(context.Background(), c); err != nil {
			t.Fatalf("%s: %v", fn, err)
		}
		if last.auth != want {
			t.Errorf("%s: Authorization %q, want %q", fn, last.auth, want)
		}
	}
	c := call(w, "oauth", map[string]any{"petId": 1}, props)
	if _, err := inv.Invoke(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if tokenCalls.Load() != 1 {
		t.Errorf("token endpoint called %d times, want 1 (cached)", tokenCalls.Load())
	}
}

func TestCustomREST(t *testing.T) {
	var last seen
	srv := recorder(t, &last, map[string]any{"ok": true})
	h, p, _ := strings.Cut(strings.TrimPrefix(srv.URL, "http://"), ":")
	w := workflowWith(t, "  - {name: echo, type: custom, operation: \"rest:post:/echo/{kind}\"}\n  - {name: full, type: custom, operation: \"rest:get:"+srv.URL+"/items\"}\n", "")
	props := map[string]string{"kogito.sw.functions.echo.host": h, "kogito.sw.functions.echo.port": p}
	inv := &function.Invoker{}
	if _, err := inv.Invoke(context.Background(), call(w, "echo", map[string]any{"kind": "a b", "QUERY_lang": "en", "HEADER_X-Trace": "t", "msg": "hi"}, props)); err != nil {
		t.Fatal(err)
	}
	if last.path != "/echo/a b" || last.query != "lang=en" || last.trace != "t" || last.body != `{"msg":"hi"}` {
		t.Errorf("request %+v", last)
	}
	if _, err := inv.Invoke(context.Background(), call(w, "full", map[string]any{"page": 2}, nil)); err != nil {
		t.Fatal(err)
	}
	if last.method != "GET" || last.path != "/items" || last.query != "page=2" {
		t.Errorf("request %+v", last)
	}
}

func TestLimitsAndCancellation(t *testing.T) {
	big := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(bytes.Repeat([]byte("x"), 2048))
	}))
	defer big.Close()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer slow.Close()
	w := workflowWith(t, "  - {name: big, type: custom, operation: \"rest:get:"+big.URL+"/\"}\n  - {name: slow, type: custom, operation: \"rest:get:"+slow.URL+"/\"}\n", "")
	inv := &function.Invoker{MaxResponseBytes: 1024, Timeout: 100 * time.Millisecond}
	if _, err := inv.Invoke(context.Background(), call(w, "big", nil, nil)); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("big response: %v", err)
	}
	start := time.Now()
	if _, err := inv.Invoke(context.Background(), call(w, "slow", nil, nil)); err == nil {
		t.Error("slow call: no error")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := (&function.Invoker{}).Invoke(ctx, call(w, "slow", nil, nil)); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("cancelled call: %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("timeouts took %v", time.Since(start))
	}
}

func TestExpressionAndSysout(t *testing.T) {
	w := workflowWith(t, "  - {name: sum, type: expression, operation: \".a + .b\"}\n  - {name: log, type: custom, operation: \"sysout:WARN\"}\n", "")
	inv := &function.Invoker{}
	res, err := inv.Invoke(context.Background(), call(w, "sum", map[string]any{"a": 1, "b": 2}, nil))
	if err != nil || res != 3 {
		t.Fatalf("sum = %v, %v", res, err)
	}
	var buf bytes.Buffer
	inv = &function.Invoker{Logger: slog.New(slog.NewTextHandler(&buf, nil))}
	if _, err := inv.Invoke(context.Background(), call(w, "log", map[string]any{"message": "hello"}, nil)); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "level=WARN") || !strings.Contains(buf.String(), "hello") {
		t.Errorf("log %q", buf.String())
	}
}

func TestNotSupported(t *testing.T) {
	w := workflowWith(t, "  - {name: a, type: asyncapi, operation: \"x.yaml#op\"}\n  - {name: g, type: graphql, operation: \"http://x#query#q\"}\n  - {name: py, type: custom, operation: \"script:python\"}\n  - {name: j, type: custom, operation: \"service:java:A::b\"}\n  - {name: r, type: rpc, operation: \"x.proto#S#m\"}\n  - {name: o, type: odata, operation: \"http://x#Set\"}\n", "")
	for _, fn := range []string{"a", "g", "py", "j", "r", "o"} {
		_, err := (&function.Invoker{}).Invoke(context.Background(), call(w, fn, nil, nil))
		if !errors.Is(err, function.ErrNotSupported) || !strings.Contains(err.Error(), `"`+fn+`"`) {
			t.Errorf("%s: %v", fn, err)
		}
	}
}

const secured = `openapi: 3.0.3
info: {title: Notifications, version: "1"}
paths:
  /notifications:
    post:
      operationId: createNotification
      security: [{BearerToken: []}]
      requestBody: {content: {application/json: {schema: {type: object}}}}
      responses: {"200": {description: ok}}
  /keyed:
    get:
      operationId: keyed
      security: [{ApiKey: []}]
      responses: {"200": {description: ok}}
components:
  securitySchemes:
    BearerToken: {type: http, scheme: bearer}
    ApiKey: {type: apiKey, in: header, name: X-API-Key}
`

func TestOpenAPISecuritySchemes(t *testing.T) {
	var last seen
	var apiKey string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		last.auth, apiKey = r.Header.Get("Authorization"), r.Header.Get("X-API-Key")
		w.Write([]byte("{}"))
	}))
	defer srv.Close()
	src := "id: wf\nstart: S\nfunctions:\n  - {name: notify, operation: specs/notifications.yaml#createNotification}\n  - {name: keyed, operation: specs/notifications.yaml#keyed}\nstates:\n  - {name: S, type: inject, data: {}, end: true}\n"
	w, err := workflow.Parse(context.Background(), "wf.sw.yaml", []byte(src), workflow.MapLoader{"specs/notifications.yaml": []byte(secured)})
	if err != nil {
		t.Fatal(err)
	}
	inv := &function.Invoker{}
	props := map[string]string{
		"quarkus.rest-client.notifications_yaml.url":                            srv.URL,
		"quarkus.openapi-generator.notifications.auth.BearerToken.bearer-token": "static-token",
		"quarkus.openapi-generator.notifications_yaml.auth.ApiKey.api-key":      "k-1",
	}
	if _, err := inv.Invoke(context.Background(), call(w, "notify", map[string]any{"title": "hi"}, props)); err != nil {
		t.Fatal(err)
	}
	if last.auth != "Bearer static-token" {
		t.Errorf("Authorization %q", last.auth)
	}
	if _, err := inv.Invoke(context.Background(), call(w, "keyed", nil, props)); err != nil {
		t.Fatal(err)
	}
	if apiKey != "k-1" {
		t.Errorf("X-API-Key %q", apiKey)
	}
	// Token propagation from the headers the instance was started with.
	props["quarkus.openapi-generator.notifications.auth.BearerToken.token-propagation"] = "true"
	c := call(w, "notify", map[string]any{"title": "hi"}, props)
	c.Vars.Workflow.Headers = map[string]string{"x-authorization-bearertoken": "user-token"}
	if _, err := inv.Invoke(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	if last.auth != "Bearer user-token" {
		t.Errorf("propagated Authorization %q", last.auth)
	}
}
