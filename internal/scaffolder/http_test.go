package scaffolder_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/auth"
)

// httpTemplate uses the real built-in debug:log, so it runs in a whole
// server.
const httpTemplate = `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: hello
  title: Say hello
  description: Logs a greeting
spec:
  type: service
  owner: group:default/team
  presentation:
    buttonLabels: {createButtonText: Go}
  parameters:
    - title: Who
      required: [name]
      properties:
        name: {type: string, "ui:autofocus": true}
  steps:
    - id: hello
      name: Hello
      action: debug:log
      input:
        message: "Hello, ${{ parameters.name }}!"
  output:
    text:
      - title: Greeting
        content: "Said hello to ${{ parameters.name }}"
`

// startServer starts a whole Portico with one template in its catalog.
func startServer(t *testing.T, extraConfig string) *apptest.Instance {
	t.Helper()
	return startServerWith(t, httpTemplate, []string{"hello"}, extraConfig)
}

// startServerWith starts a whole Portico whose catalog holds the templates
// of templatesYAML, and waits until those named are served.
func startServerWith(t *testing.T, templatesYAML string, names []string, extraConfig string) *apptest.Instance {
	t.Helper()
	dir := t.TempDir()
	tpl := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(tpl, []byte(templatesYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	inst := apptest.Start(t, apptest.Options{Config: `
auth:
  providers:
    guest: {allowUnauthenticated: true, dangerouslyAllowOutsideDevelopment: true}
catalog:
  locations:
    - type: file
      target: ` + tpl + `
      rules:
        - allow: [Template]
` + extraConfig})
	for _, name := range names {
		waitFor(t, "the template "+name+" in the catalog", func() bool {
			resp, err := http.Get(inst.URL + "/api/scaffolder/v2/templates/default/template/" + name + "/parameter-schema")
			if err != nil {
				return false
			}
			resp.Body.Close()
			return resp.StatusCode == http.StatusOK
		})
	}
	return inst
}

type response struct {
	status int
	body   []byte
}

func call(t testing.TB, method, url, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, b}
}

func (r response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

func TestHTTPTaskLifecycle(t *testing.T) {
	inst := startServer(t, "")
	api := inst.URL + "/api/scaffolder"

	var ps map[string]any
	psResp := call(t, "GET", api+"/v2/templates/default/template/hello/parameter-schema", "")
	golden(t, "parameter-schema.json", psResp.body)
	psResp.decode(t, &ps)
	steps, _ := ps["steps"].([]any)
	if ps["title"] != "Say hello" || len(steps) != 1 || steps[0].(map[string]any)["title"] != "Who" {
		t.Errorf("parameter schema = %v", ps)
	}
	schema := steps[0].(map[string]any)["schema"].(map[string]any)
	if schema["properties"].(map[string]any)["name"].(map[string]any)["ui:autofocus"] != true {
		t.Errorf("ui:* keys not passed through: %v", schema)
	}

	var acts []map[string]any
	call(t, "GET", api+"/v2/actions", "").decode(t, &acts)
	var ids []string
	for _, a := range acts {
		ids = append(ids, a["id"].(string))
	}
	if !strings.Contains(strings.Join(ids, ","), "debug:log") {
		t.Errorf("actions = %v", ids)
	}

	created := call(t, "POST", api+"/v2/tasks", `{"templateRef":"template:default/hello","values":{"name":"World"}}`)
	if created.status != http.StatusCreated {
		t.Fatalf("create: %d %s", created.status, created.body)
	}
	var c struct{ ID string }
	created.decode(t, &c)

	// The event stream ends with the completion event.
	resp, err := http.Get(api + "/v2/tasks/" + c.ID + "/eventstream")
	if err != nil {
		t.Fatal(err)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Errorf("content type %q", ct)
	}
	var types, messages []string
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			types = append(types, v)
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			var ev struct {
				Body struct{ Message string }
			}
			_ = json.Unmarshal([]byte(v), &ev)
			messages = append(messages, ev.Body.Message)
		}
	}
	resp.Body.Close()
	if len(types) == 0 || types[len(types)-1] != "completion" {
		t.Fatalf("stream types = %v", types)
	}
	if !strings.Contains(strings.Join(messages, "\n"), "Hello, World!") {
		t.Errorf("messages = %v", messages)
	}

	var task map[string]any
	call(t, "GET", api+"/v2/tasks/"+c.ID, "").decode(t, &task)
	if task["status"] != "completed" || task["createdBy"] != "user:development/guest" {
		t.Errorf("task = %v", task)
	}
	spec := task["spec"].(map[string]any)
	info := spec["templateInfo"].(map[string]any)
	if info["entityRef"] != "template:default/hello" || !strings.HasPrefix(info["baseUrl"].(string), "file:///") {
		t.Errorf("templateInfo = %v", info)
	}
	if _, ok := task["secrets"]; ok {
		t.Error("the task answer carries secrets")
	}

	// Long poll: after the last event, the completion is repeated.
	var evs []map[string]any
	call(t, "GET", api+"/v2/tasks/"+c.ID+"/events", "").decode(t, &evs)
	last := evs[len(evs)-1]
	if last["type"] != "completion" {
		t.Errorf("events end with %v", last)
	}

	var list struct {
		Tasks      []map[string]any
		TotalTasks int
	}
	call(t, "GET", api+"/v2/tasks?createdBy=user:development/guest&status=completed&limit=1&order=asc:created_at", "").decode(t, &list)
	if list.TotalTasks != 1 || len(list.Tasks) != 1 {
		t.Errorf("list = %+v", list)
	}

	retried := call(t, "POST", api+"/v2/tasks/"+c.ID+"/retry", `{}`)
	if retried.status != http.StatusCreated {
		t.Errorf("retry: %d %s", retried.status, retried.body)
	}
}

func TestHTTPBadInput(t *testing.T) {
	inst := startServer(t, "")
	api := inst.URL + "/api/scaffolder"
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"values fail the schema", "POST", "/v2/tasks", `{"templateRef":"template:default/hello","values":{"name":5}}`, 400, `"property":"instance.name"`},
		{"missing value", "POST", "/v2/tasks", `{"templateRef":"hello","values":{}}`, 400, `requires property \"name\"`},
		{"unknown template", "POST", "/v2/tasks", `{"templateRef":"template:default/nope","values":{}}`, 404, "template:default/nope"},
		{"no template ref", "POST", "/v2/tasks", `{"values":{}}`, 400, "templateRef is required"},
		{"malformed body", "POST", "/v2/tasks", `{"templateRef":`, 400, "malformed JSON"},
		{"unknown task", "GET", "/v2/tasks/6c1b3a2e-0000-4000-8000-000000000000", "", 404, "No task with id"},
		{"bad status filter", "GET", "/v2/tasks?status=weird", "", 400, "not a task status"},
		{"bad order", "GET", "/v2/tasks?order=sideways:created_at", "", 400, "asc or desc"},
		{"bad after", "GET", "/v2/tasks/x/events?after=abc", "", 400, "after must be"},
		{"unknown autocomplete provider", "POST", "/v2/autocomplete/nope/repos", `{"token":"t","context":{}}`, 400, "Unsupported provider"},
		{"dry run without template", "POST", "/v2/dry-run", `{"values":{}}`, 400, "template is required"},
		{"dry run bad apiVersion", "POST", "/v2/dry-run", `{"template":{"apiVersion":"backstage.io/v1alpha1","kind":"Template","spec":{"steps":[]}},"values":{}}`, 400, "Unsupported apiVersion"},
		{"parameter schema of unknown template", "GET", "/v2/templates/default/template/nope/parameter-schema", "", 404, "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(t, tc.method, api+tc.path, tc.body)
			if r.status != tc.status || !bytes.Contains(r.body, []byte(tc.contains)) {
				t.Errorf("%d %s, want %d containing %q", r.status, r.body, tc.status, tc.contains)
			}
		})
	}
	t.Run("body over 10 MiB", func(t *testing.T) {
		big := `{"templateRef":"hello","values":{"name":"` + strings.Repeat("x", 11<<20) + `"}}`
		r := call(t, "POST", api+"/v2/tasks", big)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Errorf("%d %s, want 413", r.status, r.body[:min(len(r.body), 200)])
		}
	})
}

func TestHTTPDryRunAndExtensions(t *testing.T) {
	inst := startServer(t, "")
	api := inst.URL + "/api/scaffolder"
	body := `{"template":` + string(templateYAML(t, httpTemplate)) + `,"values":{"name":"Dry"},"directoryContents":[{"path":"a.txt","base64Content":"aGk="}]}`
	r := call(t, "POST", api+"/v2/dry-run", body)
	if r.status != 200 {
		t.Fatalf("dry run: %d %s", r.status, r.body)
	}
	var res struct {
		Log               []struct{ Body map[string]any }
		DirectoryContents []map[string]any
		Output            map[string]any
	}
	r.decode(t, &res)
	if len(res.DirectoryContents) != 1 || !strings.Contains(string(r.body), "Hello, Dry!") {
		t.Errorf("dry run = %s", r.body)
	}
	ext := call(t, "GET", api+"/v2/templating-extensions", "")
	if ext.status != 200 || !bytes.Contains(ext.body, []byte(`"filters"`)) {
		t.Errorf("templating extensions: %d %s", ext.status, ext.body)
	}
	dec := call(t, "GET", api+"/v2/form-decorators", "")
	if dec.status != 200 || !bytes.Contains(dec.body, []byte(`"decorators"`)) {
		t.Errorf("form decorators: %d %s", dec.status, dec.body)
	}
}

// denyPolicy denies the named permissions.
type denyPolicy []string

func (d denyPolicy) Decide(_ context.Context, _ auth.Principal, req auth.Request) (auth.Decision, error) {
	if slices.Contains(d, req.Permission.Name) {
		return auth.Deny, nil
	}
	return auth.Allow, nil
}

func TestHTTPPermissions(t *testing.T) {
	inst := startServer(t, "")
	api := inst.URL + "/api/scaffolder"
	inst.App.Env().Permissions.SetPolicy(denyPolicy{"scaffolder.task.create", "scaffolder.task.read"})
	if r := call(t, "POST", api+"/v2/tasks", `{"templateRef":"hello","values":{"name":"x"}}`); r.status != http.StatusForbidden {
		t.Errorf("create without permission: %d %s", r.status, r.body)
	}
	if r := call(t, "GET", api+"/v2/tasks", ""); r.status != http.StatusForbidden {
		t.Errorf("list without permission: %d %s", r.status, r.body)
	}
	if r := call(t, "POST", api+"/v2/dry-run", `{"template":`+string(templateYAML(t, httpTemplate))+`,"values":{"name":"x"}}`); r.status != http.StatusForbidden {
		t.Errorf("dry run without permission: %d %s", r.status, r.body)
	}
}

// actionPolicy denies scaffolder.action.execute of one action to one
// user and records who was asked about.
type actionPolicy struct {
	action, user string
	mu           sync.Mutex
	asked        []string
}

func (p *actionPolicy) Decide(_ context.Context, pr auth.Principal, req auth.Request) (auth.Decision, error) {
	if req.Permission.Name != "scaffolder.action.execute" {
		return auth.Allow, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.asked = append(p.asked, pr.Subject+" "+req.ResourceRef)
	if req.ResourceRef == p.action && pr.Subject == p.user {
		return auth.Deny, nil
	}
	return auth.Allow, nil
}

func TestActionExecutePermission(t *testing.T) {
	inst := startServer(t, "")
	api := inst.URL + "/api/scaffolder"
	policy := &actionPolicy{action: "debug:log", user: "user:development/guest"}
	inst.App.Env().Permissions.SetPolicy(policy)

	var c struct{ ID string }
	call(t, "POST", api+"/v2/tasks", `{"templateRef":"template:default/hello","values":{"name":"World"}}`).decode(t, &c)
	var task map[string]any
	waitFor(t, "the task to end", func() bool {
		call(t, "GET", api+"/v2/tasks/"+c.ID, "").decode(t, &task)
		return task["status"] == "failed" || task["status"] == "completed"
	})
	if task["status"] != "failed" {
		t.Fatalf("a task whose action the policy denies ended %v", task["status"])
	}
	var events []struct {
		Body map[string]any `json:"body"`
	}
	call(t, "GET", api+"/v2/tasks/"+c.ID+"/events", "").decode(t, &events)
	var log []string
	for _, e := range events {
		if m, ok := e.Body["message"].(string); ok {
			log = append(log, m)
		}
	}
	if joined := strings.Join(log, "\n"); !strings.Contains(joined, "action debug:log is not allowed for user:development/guest") || strings.Contains(joined, "Hello, World!") {
		t.Errorf("task log = %q", log)
	}

	// A dry run is refused the same action.
	var dry struct {
		Log []struct{ Body map[string]any }
	}
	call(t, "POST", api+"/v2/dry-run", `{"template":`+string(templateYAML(t, httpTemplate))+`,"values":{"name":"x"},"directoryContents":[]}`).decode(t, &dry)
	found := false
	for _, l := range dry.Log {
		if m, _ := l.Body["message"].(string); strings.Contains(m, "not allowed") {
			found = true
		}
	}
	if !found {
		t.Errorf("dry run log = %v", dry.Log)
	}

	// Another user's policy answer does not apply: allowed, the task runs.
	policy.mu.Lock()
	policy.user = "user:default/someone-else"
	policy.mu.Unlock()
	call(t, "POST", api+"/v2/tasks", `{"templateRef":"template:default/hello","values":{"name":"World"}}`).decode(t, &c)
	waitFor(t, "the allowed task to complete", func() bool {
		call(t, "GET", api+"/v2/tasks/"+c.ID, "").decode(t, &task)
		return task["status"] == "completed"
	})
	policy.mu.Lock()
	defer policy.mu.Unlock()
	if len(policy.asked) == 0 || policy.asked[0] != "user:development/guest debug:log" {
		t.Errorf("the policy was asked %q", policy.asked)
	}
}

func TestLegacyRecoveryConfig(t *testing.T) {
	inst := startServer(t, `scaffolder:
  concurrentTasksLimit: 3
  EXPERIMENTAL_recoverTasks: true
  EXPERIMENTAL_recoverTasksTimeout: {minutes: 1}
  EXPERIMENTAL_workspaceSerialization: true
  EXPERIMENTAL_workspaceSerializationProvider: database
  EXPERIMENTAL_gracefulShutdown: true
  secretsKey: a-key-from-config
  taskTimeout: {hours: 2}
`)
	s := inst.App.Env().Scaffolder.Settings()
	if s.ConcurrentTasksLimit != 3 || !s.RecoveryEnabled || s.StaleTimeout != time.Minute ||
		s.WorkspaceProvider != "database" || s.TaskTimeout != 2*time.Hour {
		t.Errorf("settings = %+v", s)
	}
}

var update = flag.Bool("update", false, "rewrite golden files under testdata/")

// golden compares a JSON body with testdata/name (indented).
func golden(t *testing.T, name string, body []byte) {
	t.Helper()
	var buf bytes.Buffer
	if err := json.Indent(&buf, body, "", "  "); err != nil {
		t.Fatalf("%s: %v: %s", name, err, body)
	}
	buf.WriteByte('\n')
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to create it)", err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("%s differs from the golden file:\n%s\nwant:\n%s", name, buf.Bytes(), want)
	}
}

func TestHTTPTaggedStepsFollowThePolicy(t *testing.T) {
	inst := startServerWith(t, `apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata: {name: tagged}
spec:
  type: service
  parameters:
    - title: Open
      properties: {a: {type: string}}
    - title: Secret
      backstage:permissions: {tags: [admin]}
      properties: {b: {type: string}}
  steps:
    - {id: open, action: debug:log, input: {message: open}}
    - {id: admin, action: debug:log, backstage:permissions: {tags: [admin]}, input: {message: admin}}
`, []string{"tagged"}, "")
	api := inst.URL + "/api/scaffolder"
	inst.App.Env().Permissions.SetPolicy(denyPolicy{"scaffolder.template.parameter.read", "scaffolder.template.step.read"})
	var ps struct{ Steps []struct{ Title string } }
	call(t, "GET", api+"/v2/templates/default/template/tagged/parameter-schema", "").decode(t, &ps)
	if len(ps.Steps) != 1 || ps.Steps[0].Title != "Open" {
		t.Errorf("form steps = %+v, want only Open", ps.Steps)
	}
	r := call(t, "POST", api+"/v2/tasks", `{"templateRef":"tagged","values":{}}`)
	var c struct{ ID string }
	r.decode(t, &c)
	var task struct {
		Spec struct{ Steps []struct{ ID string } }
	}
	call(t, "GET", api+"/v2/tasks/"+c.ID, "").decode(t, &task)
	if len(task.Spec.Steps) != 1 || task.Spec.Steps[0].ID != "open" {
		t.Errorf("task steps = %+v, want only open", task.Spec.Steps)
	}
}
