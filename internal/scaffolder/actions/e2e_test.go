package actions_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/catalog"
)

// taskResult is how a task ended, read from its event log.
type taskResult struct {
	status string
	output map[string]any
	errMsg string
	log    []string
}

func httpJSON(t *testing.T, method, url string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, data)
		}
	}
	return resp.StatusCode
}

// runTemplate runs a template through the scaffolder API of a running
// Portico, as the web UI does: wait for the template to be in the
// catalog, create a task, follow its events to the completion.
func runTemplate(t *testing.T, base, name string, values map[string]any) taskResult {
	t.Helper()
	api := base + "/api/scaffolder/v2"
	deadline := time.Now().Add(30 * time.Second)
	for {
		code := httpJSON(t, http.MethodGet, api+"/templates/default/template/"+name+"/parameter-schema", nil, nil)
		if code == http.StatusOK {
			break
		}
		if code != http.StatusNotFound {
			t.Fatalf("parameter schema of %s: HTTP %d", name, code)
		}
		if time.Now().After(deadline) {
			t.Fatalf("template %s never appeared in the catalog", name)
		}
		time.Sleep(50 * time.Millisecond)
	}
	var created struct {
		ID string `json:"id"`
	}
	if code := httpJSON(t, http.MethodPost, api+"/tasks", map[string]any{"templateRef": "template:default/" + name, "values": values}, &created); code != http.StatusCreated {
		t.Fatalf("create task: HTTP %d", code)
	}
	var res taskResult
	after := -1
	for time.Now().Before(deadline.Add(90 * time.Second)) {
		var events []struct {
			ID   int    `json:"id"`
			Type string `json:"type"`
			Body struct {
				Message string         `json:"message"`
				Output  map[string]any `json:"output"`
				Error   *struct {
					Message string `json:"message"`
				} `json:"error"`
			} `json:"body"`
		}
		url := fmt.Sprintf("%s/tasks/%s/events", api, created.ID)
		if after >= 0 {
			url += fmt.Sprintf("?after=%d", after)
		}
		if code := httpJSON(t, http.MethodGet, url, nil, &events); code != http.StatusOK {
			t.Fatalf("events: HTTP %d", code)
		}
		for _, ev := range events {
			after = max(after, ev.ID)
			res.log = append(res.log, ev.Body.Message)
			if ev.Type == "completion" {
				var task struct {
					Status string `json:"status"`
				}
				httpJSON(t, http.MethodGet, api+"/tasks/"+created.ID, nil, &task)
				res.status, res.output = task.Status, ev.Body.Output
				if ev.Body.Error != nil {
					res.errMsg = ev.Body.Error.Message
				}
				return res
			}
		}
	}
	t.Fatalf("task %s did not complete; log:\n%s", created.ID, strings.Join(res.log, "\n"))
	return res
}

func waitEntity(t *testing.T, cat *catalog.Service, ref string) map[string]any {
	t.Helper()
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		data, err := cat.EntityJSON(t.Context(), r)
		if err == nil {
			var e map[string]any
			if err := json.Unmarshal(data, &e); err != nil {
				t.Fatal(err)
			}
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("entity %s never appeared: %v", ref, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// The example templates of `portico serve`: the service template renders
// its skeleton (conditional files left out), publishes to a local
// repository and registers the component; the workflow template runs the
// greeting workflow and shows its result.
func TestExampleTemplates(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Development: true})
	res := runTemplate(t, inst.URL, "example-service", map[string]any{"name": "hello-svc", "owner": "team-payments", "withDocs": false, "withDocker": true})
	if res.status != "completed" {
		t.Fatalf("service task %s: %s\n%s", res.status, res.errMsg, strings.Join(res.log, "\n"))
	}
	if res.output["entityRef"] != "component:default/hello-svc" {
		t.Fatalf("output = %v", res.output)
	}
	repo := filepath.Join(inst.Dir, "data", "git", "examples", "hello-svc.git")
	files, commits, head := remoteFiles(t, repo, "main")
	if want := []string{"Dockerfile", "README.md", "app.py", "catalog-info.yaml"}; !slices.Equal(files, want) || commits != 1 {
		t.Fatalf("published %q in %d commits, want %q", files, commits, want)
	}
	if !strings.Contains(head.Message, "hello-svc") {
		t.Fatalf("commit message %q", head.Message)
	}
	e := waitEntity(t, inst.App.Env().Catalog, "component:default/hello-svc")
	if spec := e["spec"].(map[string]any); spec["owner"] != "team-payments" {
		t.Fatalf("entity = %v", e)
	}

	res = runTemplate(t, inst.URL, "example-greeting-workflow", map[string]any{"name": "Ana", "language": "Spanish"})
	if res.status != "completed" || res.output["greeting"] != "Saludos desde JSON Workflow, Ana" {
		t.Fatalf("workflow task %s (%s): output %v\n%s", res.status, res.errMsg, res.output, strings.Join(res.log, "\n"))
	}
}

// Templates written after real Backstage examples load from the catalog,
// validate and run; their publishing goes to local repositories.
func TestBackstageTemplateCompatibility(t *testing.T) {
	dir, err := filepath.Abs("testdata/compat")
	if err != nil {
		t.Fatal(err)
	}
	inst := apptest.Start(t, apptest.Options{Config: fmt.Sprintf(`
auth:
  providers:
    guest:
      allowUnauthenticated: true
      dangerouslyAllowOutsideDevelopment: true
catalog:
  locations:
    - type: file
      target: %q
      rules:
        - allow: [Template, Location]
`, filepath.Join(dir, "all.yaml"))})
	for _, tc := range []struct {
		template string
		values   map[string]any
		repo     string
		entity   string
	}{
		{"springboot-template", map[string]any{"component_id": "grpc-svc", "java_package_name": "grpcsvc", "description": "Says hello over gRPC",
			"owner": "group:default/team-a", "repoUrl": "local?owner=acme&repo=grpc-svc"}, "acme/grpc-svc.git", "component:default/grpc-svc"},
		{"docs-template", map[string]any{"name": "handbook", "description": "How we work", "owner": "team-a",
			"repoUrl": "local?owner=acme&repo=handbook"}, "acme/handbook.git", "component:default/handbook"},
	} {
		t.Run(tc.template, func(t *testing.T) {
			res := runTemplate(t, inst.URL, tc.template, tc.values)
			if res.status != "completed" {
				t.Fatalf("task %s: %s\n%s", res.status, res.errMsg, strings.Join(res.log, "\n"))
			}
			repo := filepath.Join(inst.Dir, "data", "git", filepath.FromSlash(tc.repo))
			var b strings.Builder
			files, _, head := remoteFiles(t, repo, "main")
			tree, _ := head.Tree()
			for _, f := range files {
				name := strings.TrimSuffix(f, " (executable)")
				file, err := tree.File(name)
				if err != nil {
					t.Fatal(err)
				}
				content, _ := file.Contents()
				fmt.Fprintf(&b, "== %s\n%s", f, content)
			}
			golden(t, "compat-"+tc.template+".txt", b.String())
			links, _ := res.output["links"].([]any)
			if len(links) != 2 || links[1].(map[string]any)["entityRef"] != tc.entity {
				t.Fatalf("output links = %v", links)
			}
			waitEntity(t, inst.App.Env().Catalog, tc.entity)
		})
	}
}
