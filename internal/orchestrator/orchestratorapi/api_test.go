package orchestratorapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// Test workflows, each in its own directory as RHDH lays them out.
var testWorkflows = map[string]string{
	"hello/hello.sw.yaml": `
id: hello
version: "1.0"
specVersion: "0.8"
name: Hello
description: Says hello
annotations: [workflow-type/infrastructure]
dataInputSchema: schemas/hello.json
extensions:
  - extensionid: workflow-output-schema
    outputSchema: {schema: schemas/hello-output.json, failOnValidationErrors: false}
start: Greet
states:
  - name: Greet
    type: inject
    data: {}
    stateDataFilter:
      output: >-
        ${ . + {token: ($WORKFLOW.headers["x-authorization-github"] // "none"),
                result: {completedWith: "success", message: ("Hello " + .name),
                         outputs: [{key: "Greeting", value: ("Hello " + .name), format: "text"}]}} }
    end: true
`,
	"hello/schemas/hello.json":        `{"type": "object", "properties": {"name": {"type": "string"}, "language": {"type": "string"}}, "required": ["name"]}`,
	"hello/schemas/hello-output.json": `{"type": "object", "properties": {"result": {"type": "object", "properties": {"message": {"type": "string"}}}}, "required": ["result", "mustExist"]}`,
	"fail/fail.sw.yaml": `
id: fail
version: "1.0"
specVersion: "0.8"
name: Fail
start: Call
functions:
  - name: nowhere
    type: custom
    operation: rest:get:http://127.0.0.1:9/nowhere
states:
  - name: Call
    type: operation
    actions:
      - functionRef: nowhere
    end: true
`,
	"sleeper/sleeper.sw.yaml": `
id: sleeper
version: "1.0"
specVersion: "0.8"
name: Sleeper
start: Sleep
states:
  - name: Sleep
    type: sleep
    duration: PT1H
    end: true
`,
	"assess/assess.sw.yaml": `
id: assess
version: "1.0"
specVersion: "0.8"
name: Assess
annotations: [workflow-type/assessment]
start: Done
states:
  - name: Done
    type: inject
    data:
      result:
        completedWith: success
        message: assessed
        outputs:
          - {key: Score, value: 7, format: number}
          - {key: Bad, value: [1], format: colour}
        nextWorkflows:
          - {id: hello, name: Say hello}
          - {id: not-deployed, name: Missing}
      workflowOptions:
        currentVersion: {id: hello, name: Hello again}
        upgradeOptions: []
        migrationOptions: [{id: sleeper, name: Sleep on it}]
        newOptions: []
        continuationOptions: []
        otherOptions: [{id: gone, name: Gone}]
    end: true
`,
}

const (
	alice = "user:default/alice" // may do everything
	bob   = "user:default/bob"   // may read hello and fail, run hello, and sees only his own instances
)

// testPolicy denies bob everything but his few permissions.
type testPolicy struct{}

func (testPolicy) Decide(_ context.Context, p auth.Principal, req auth.Request) (auth.Decision, error) {
	if p.Subject != bob {
		return auth.Allow, nil
	}
	switch req.Permission.Name {
	case "orchestrator.workflow.hello", "orchestrator.workflow.fail", "orchestrator.workflow.use.hello", "catalog.entity.read":
		return auth.Allow, nil
	}
	return auth.Deny, nil
}

type client struct {
	t     *testing.T
	base  string
	token string
}

// do sends a request and returns the status and body.
func (c client) do(method, path, body string) (int, []byte) {
	c.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, r)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// json sends a request, checks the status and decodes the answer.
func (c client) json(method, path, body string, want int, out any) []byte {
	c.t.Helper()
	status, b := c.do(method, path, body)
	if status != want {
		c.t.Fatalf("%s %s: status %d, want %d: %s", method, path, status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, path, err, b)
		}
	}
	return b
}

type env struct {
	inst       *apptest.Instance
	dir        string
	alice, bob client
}

func start(t *testing.T, postgres bool) *env {
	t.Helper()
	dir := t.TempDir()
	for name, text := range testWorkflows {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cfg := "orchestrator:\n  workflows: [" + dir + ", 'embedded:workflows']\n  reloadInterval: 100ms\n" +
		"  catalog: {owner: group:default/platform}\n"
	inst := apptest.Start(t, apptest.Options{Config: cfg, Postgres: postgres})
	inst.App.Env().Permissions.SetPolicy(testPolicy{})
	tok := func(user string) string {
		s, _, err := inst.App.Env().Tokens.Issue(context.Background(), user, []string{user})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	base := inst.URL + "/api/orchestrator"
	return &env{inst: inst, dir: dir, alice: client{t, base, tok(alice)}, bob: client{t, base, tok(bob)}}
}

func both(t *testing.T, fn func(t *testing.T, postgres bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, false) })
	t.Run("postgres", func(t *testing.T) {
		storetest.PostgresSchemaDSN(t) // skips without PostgreSQL
		fn(t, true)
	})
}

type instanceDTO struct {
	ID              string         `json:"id"`
	ProcessID       string         `json:"processId"`
	ProcessName     string         `json:"processName"`
	State           string         `json:"state"`
	Start           string         `json:"start"`
	End             string         `json:"end"`
	Duration        string         `json:"duration"`
	ServiceURL      string         `json:"serviceUrl"`
	Endpoint        string         `json:"endpoint"`
	BusinessKey     string         `json:"businessKey"`
	InitiatorEntity string         `json:"initiatorEntity"`
	TargetEntity    string         `json:"targetEntity"`
	Category        string         `json:"category"`
	WorkflowData    map[string]any `json:"workflowdata"`
	Nodes           []struct {
		TypeName string `json:"__typename"`
		ID       string `json:"id"`
		Name     string `json:"name"`
		Enter    string `json:"enter"`
	} `json:"nodes"`
	Error *struct {
		NodeDefinitionID string `json:"nodeDefinitionId"`
		Message          string `json:"message"`
	} `json:"error"`
	WorkflowResult *struct {
		Message       string `json:"message"`
		NextWorkflows []struct {
			ID          string `json:"id"`
			Source      string `json:"source"`
			Available   bool   `json:"available"`
			ExecutePath string `json:"executePath"`
		} `json:"nextWorkflows"`
		UnknownWorkflowIDs []string `json:"unknownWorkflowIds"`
		Problems           []string `json:"problems"`
		Outputs            []struct {
			Key   string `json:"key"`
			Value any    `json:"value"`
		} `json:"outputs"`
	} `json:"workflowResult"`
	OutputSchemaErrors []string `json:"outputSchemaErrors"`
	AssessedBy         *struct {
		ID        string `json:"id"`
		ProcessID string `json:"processId"`
	} `json:"assessedBy"`
}

type overviewList struct {
	Overviews []struct {
		WorkflowID      string `json:"workflowId"`
		Name            string `json:"name"`
		Format          string `json:"format"`
		LastRunID       string `json:"lastRunId"`
		LastRunStatus   string `json:"lastRunStatus"`
		LastTriggeredMs int64  `json:"lastTriggeredMs"`
		Category        string `json:"category"`
		IsAvailable     bool   `json:"isAvailable"`
	} `json:"overviews"`
	PaginationInfo struct {
		PageSize int `json:"pageSize"`
		Offset   int `json:"offset"`
	} `json:"paginationInfo"`
}

func (o overviewList) ids() []string {
	var out []string
	for _, x := range o.Overviews {
		out = append(out, x.WorkflowID)
	}
	return out
}

type instanceList struct {
	Items          []instanceDTO `json:"items"`
	PaginationInfo struct {
		PageSize int `json:"pageSize"`
	} `json:"paginationInfo"`
}

func (l instanceList) ids() []string {
	var out []string
	for _, x := range l.Items {
		out = append(out, x.ID)
	}
	return out
}

func execute(c client, workflow, body string) string {
	c.t.Helper()
	var res struct{ ID string }
	c.json("POST", "/v2/workflows/"+workflow+"/execute", body, 200, &res)
	if res.ID == "" {
		c.t.Fatalf("execute %s: no id", workflow)
	}
	return res.ID
}

func TestV2API(t *testing.T) {
	both(t, func(t *testing.T, postgres bool) {
		e := start(t, postgres)
		a, b := e.alice, e.bob

		// Execute: the instance is readable as soon as the call returns,
		// with the caller as initiator and the tokens as headers.
		helloID := execute(a, "hello", `{"inputData": {"name": "Ann"}, "targetEntity": "Component:default/Shop",
			"authTokens": [{"provider": "github", "token": "gh-123"}]}`)
		var hello instanceDTO
		a.json("GET", "/v2/workflows/instances/"+helloID, "", 200, &hello)
		if hello.State != "COMPLETED" || hello.ProcessID != "hello" || hello.InitiatorEntity != alice || hello.TargetEntity != "component:default/shop" {
			t.Errorf("instance = %+v", hello)
		}
		if hello.WorkflowData["token"] != "gh-123" || hello.WorkflowData["name"] != "Ann" {
			t.Errorf("workflowdata = %v (token header not forwarded?)", hello.WorkflowData)
		}
		if len(hello.Nodes) == 0 || hello.Nodes[0].TypeName != "NodeInstance" || hello.Duration == "" || hello.End == "" || hello.Category != "infrastructure" {
			t.Errorf("nodes/duration/category = %+v", hello)
		}
		if !strings.HasSuffix(hello.Endpoint, "/hello") || hello.ServiceURL == "" {
			t.Errorf("endpoint = %q, serviceUrl = %q", hello.Endpoint, hello.ServiceURL)
		}
		if hello.WorkflowResult == nil || hello.WorkflowResult.Message != "Hello Ann" || len(hello.WorkflowResult.Outputs) != 1 {
			t.Errorf("workflowResult = %+v", hello.WorkflowResult)
		}
		if len(hello.OutputSchemaErrors) != 1 || !strings.Contains(hello.OutputSchemaErrors[0], "mustExist") {
			t.Errorf("outputSchemaErrors = %v, want the missing mustExist", hello.OutputSchemaErrors)
		}

		// A run that fails at once still answers its id.
		failID := execute(a, "fail", `{"inputData": {}}`)
		var failed instanceDTO
		a.json("GET", "/v2/workflows/instances/"+failID, "", 200, &failed)
		if failed.State != "ERROR" || failed.Error == nil || failed.Error.Message == "" {
			t.Errorf("failed instance = %+v", failed)
		}
		sleepID := execute(a, "sleeper", `{}`)

		t.Run("statuses", func(t *testing.T) {
			var st []map[string]string
			a.json("GET", "/v2/workflows/instances/statuses", "", 200, &st)
			if len(st) != 6 || st[0]["key"] != "Active" || st[0]["value"] != "ACTIVE" || st[5]["value"] != "PENDING" {
				t.Errorf("statuses = %v", st)
			}
		})

		t.Run("overviews", func(t *testing.T) {
			var all overviewList
			a.json("POST", "/v2/workflows/overview", "", 200, &all)
			ids := all.ids()
			for _, id := range []string{"hello", "fail", "sleeper", "assess", "greeting", "assessment"} {
				if !slices.Contains(ids, id) {
					t.Errorf("overview lacks %s: %v", id, ids)
				}
			}
			for _, o := range all.Overviews {
				switch o.WorkflowID {
				case "hello":
					if o.LastRunID != helloID || o.LastRunStatus != "COMPLETED" || o.LastTriggeredMs <= 0 || o.Format != "yaml" || !o.IsAvailable || o.Category != "infrastructure" {
						t.Errorf("hello overview = %+v", o)
					}
				case "assess", "assessment":
					if o.Category != "assessment" {
						t.Errorf("%s category = %q", o.WorkflowID, o.Category)
					}
				case "greeting":
					if o.LastRunID != "" || o.LastTriggeredMs != 0 {
						t.Errorf("never-run overview = %+v", o)
					}
				}
			}
			var page overviewList
			a.json("POST", "/v2/workflows/overview", `{"paginationInfo": {"pageSize": 2, "offset": 1, "orderBy": "workflowId", "orderDirection": "DESC"},
				"filters": {"operator": "OR", "filters": [{"field": "name", "operator": "LIKE", "value": "*e*"}, {"field": "category", "operator": "EQ", "value": "assessment"}]}}`, 200, &page)
			if len(page.Overviews) != 2 || page.PaginationInfo.PageSize != 2 || page.PaginationInfo.Offset != 1 {
				t.Errorf("page = %+v", page)
			}
			var runs overviewList
			a.json("POST", "/v2/workflows/overview", `{"filters": {"field": "lastRunStatus", "operator": "IN", "value": ["ERROR", "ACTIVE"]}}`, 200, &runs)
			if got := runs.ids(); !slices.Equal(got, []string{"fail", "sleeper"}) {
				t.Errorf("workflows last run in ERROR or ACTIVE = %v", got)
			}
			var big overviewList
			a.json("POST", "/v2/workflows/overview", `{"paginationInfo": {"pageSize": 100000}}`, 200, &big)
			if big.PaginationInfo.PageSize != 1000 {
				t.Errorf("an oversized page is bounded: pageSize %d", big.PaginationInfo.PageSize)
			}
			var one map[string]any
			a.json("GET", "/v2/workflows/hello/overview", "", 200, &one)
			if one["workflowId"] != "hello" || one["lastRunId"] != helloID {
				t.Errorf("overview = %v", one)
			}
		})

		t.Run("entity", func(t *testing.T) {
			var ov overviewList
			a.json("POST", "/v2/workflows/overview/entity", `{"targetEntity": "component:default/shop", "annotationWorkflowIds": ["greeting", "not-deployed"]}`, 200, &ov)
			if got := ov.ids(); !slices.Equal(got, []string{"greeting", "hello"}) {
				t.Errorf("workflows for the entity = %v", got)
			}
			var l instanceList
			a.json("POST", "/v2/workflows/instances", `{"filters": {"field": "targetEntity", "operator": "EQ", "value": "component:default/shop"}}`, 200, &l)
			if got := l.ids(); !slices.Equal(got, []string{helloID}) {
				t.Errorf("instances for the entity = %v", got)
			}
		})

		t.Run("source, input schema, ping", func(t *testing.T) {
			status, src := a.do("GET", "/v2/workflows/hello/source", "")
			if status != 200 || string(src) != testWorkflows["hello/hello.sw.yaml"] {
				t.Errorf("source: %d %s", status, src)
			}
			var schema struct {
				InputSchema map[string]any `json:"inputSchema"`
				Data        map[string]any `json:"data"`
			}
			a.json("GET", "/v2/workflows/hello/inputSchema?instanceId="+helloID, "", 200, &schema)
			if schema.InputSchema["properties"] == nil || schema.Data["name"] != "Ann" || len(schema.Data) != 1 {
				t.Errorf("input schema = %+v", schema)
			}
			a.json("GET", "/v2/workflows/sleeper/inputSchema", "", 200, &schema)
			var ping bool
			a.json("GET", "/v2/workflows/hello/pingWorkflowService", "", 200, &ping)
			if !ping {
				t.Error("ping = false")
			}
		})

		t.Run("instances", func(t *testing.T) {
			var l instanceList
			a.json("POST", "/v2/workflows/instances", "", 200, &l)
			if len(l.Items) != 3 || l.Items[0].ID != sleepID {
				t.Errorf("instances, newest first = %v", l.ids())
			}
			a.json("POST", "/v2/workflows/instances", `{"filters": {"operator": "AND", "filters": [
				{"field": "state", "operator": "IN", "value": ["ERROR", "COMPLETED"]},
				{"operator": "NOT", "filters": [{"field": "processId", "operator": "EQ", "value": "fail"}]},
				{"field": "variables", "nested": {"field": "workflowdata", "nested": {"field": "name", "operator": "EQ", "value": "Ann"}}}]},
				"paginationInfo": {"orderBy": "processName", "orderDirection": "ASC"}}`, 200, &l)
			if got := l.ids(); !slices.Equal(got, []string{helloID}) {
				t.Errorf("filtered instances = %v", got)
			}
			a.json("POST", "/v2/workflows/instances", `{"filters": {"field": "businessKey", "operator": "IN", "value": [7, true]}}`, 200, &l)
			if len(l.Items) != 0 {
				t.Errorf("numbers compared with a text field = %v", l.ids())
			}
			a.json("POST", "/v2/workflows/instances", `{"filters": {"operator": "OR", "filters": [
				{"field": "variables.workflowdata.name", "operator": "GT", "value": 1},
				{"field": "variables.workflowdata.name", "operator": "BETWEEN", "value": ["Am", "Ao"]}]}}`, 200, &l)
			if got := l.ids(); !slices.Equal(got, []string{helloID}) {
				t.Errorf("variable comparisons = %v", got)
			}
			a.json("POST", "/v2/workflows/instances", `{"filters": {"field": "variables.workflowdata.name", "operator": "GT", "value": 1}}`, 200, &l)
			if len(l.Items) != 0 {
				t.Errorf("a text variable compared with a number = %v", l.ids())
			}
			a.json("POST", "/v2/workflows/fail/instances", `{}`, 200, &l)
			if got := l.ids(); !slices.Equal(got, []string{failID}) {
				t.Errorf("instances of fail = %v", got)
			}
			a.json("POST", "/v2/workflows/instances", `{"filters": {"field": "start", "operator": "GT", "value": "2000-01-01T00:00:00Z"}, "paginationInfo": {"pageSize": 1, "offset": 1}}`, 200, &l)
			if len(l.Items) != 1 || l.PaginationInfo.PageSize != 1 {
				t.Errorf("second page of one = %v", l.ids())
			}
		})

		t.Run("abort and retrigger", func(t *testing.T) {
			var msg string
			a.json("DELETE", "/v2/workflows/instances/"+sleepID+"/abort", "", 200, &msg)
			if msg != "Workflow instance "+sleepID+" successfully aborted" {
				t.Errorf("abort = %q", msg)
			}
			a.json("DELETE", "/v2/workflows/instances/"+sleepID+"/abort", "", 409, nil)
			var res map[string]any
			a.json("POST", "/v2/workflows/fail/"+failID+"/retrigger", `{}`, 200, &res)
			if res["state"] != "ERROR" {
				t.Errorf("retrigger of a call that fails again = %v", res)
			}
			a.json("POST", "/v2/workflows/hello/"+helloID+"/retrigger", `{}`, 409, nil)
			a.json("POST", "/v2/workflows/hello/"+failID+"/retrigger", `{}`, 404, nil)
		})

		t.Run("assessment", func(t *testing.T) {
			assessID := execute(a, "assess", `{}`)
			var in instanceDTO
			a.json("GET", "/v2/workflows/instances/"+assessID, "", 200, &in)
			r := in.WorkflowResult
			if r == nil {
				t.Fatalf("no workflowResult: %+v", in)
			}
			var got []string
			for _, n := range r.NextWorkflows {
				got = append(got, n.ID+"/"+n.Source+"/"+map[bool]string{true: "yes", false: "no"}[n.Available])
			}
			want := []string{"hello/nextWorkflows/yes", "not-deployed/nextWorkflows/no", "sleeper/workflowOptions.migrationOptions/yes", "gone/workflowOptions.otherOptions/no"}
			if !slices.Equal(got, want) {
				t.Errorf("next workflows = %v, want %v", got, want)
			}
			if !slices.Equal(r.UnknownWorkflowIDs, []string{"not-deployed", "gone"}) {
				t.Errorf("unknown ids = %v", r.UnknownWorkflowIDs)
			}
			if len(r.Problems) != 2 {
				t.Errorf("problems = %v, want the bad value and format", r.Problems)
			}
			if !strings.Contains(r.NextWorkflows[0].ExecutePath, "businessKey="+assessID) {
				t.Errorf("execute path = %q", r.NextWorkflows[0].ExecutePath)
			}
			// The example assessment recommends deployed example workflows.
			exampleID := execute(a, "assessment", `{"inputData": {"language": "Spanish", "needsApproval": true}}`)
			var ex instanceDTO
			a.json("GET", "/v2/workflows/instances/"+exampleID, "", 200, &ex)
			if ex.State != "COMPLETED" || ex.WorkflowResult == nil || len(ex.WorkflowResult.NextWorkflows) != 2 ||
				!ex.WorkflowResult.NextWorkflows[0].Available || ex.WorkflowResult.NextWorkflows[1].ID != "greeting" ||
				len(ex.OutputSchemaErrors) != 0 || len(ex.WorkflowResult.Problems) != 0 {
				t.Errorf("example assessment = %+v, result %+v", ex, ex.WorkflowResult)
			}
			runID := func() string {
				var res struct{ ID string }
				a.json("POST", "/v2/workflows/hello/execute?businessKey="+assessID, `{"inputData": {"name": "Cy"}}`, 200, &res)
				return res.ID
			}()
			var next instanceDTO
			a.json("GET", "/v2/workflows/instances/"+runID, "", 200, &next)
			if next.AssessedBy == nil || next.AssessedBy.ID != assessID || next.BusinessKey != assessID {
				t.Errorf("assessedBy = %+v", next.AssessedBy)
			}
			var older map[string]json.RawMessage
			a.json("GET", "/v2/workflows/instances/"+runID+"?includeAssessment=true", "", 200, &older)
			if older["instance"] == nil || !strings.Contains(string(older["assessedBy"]), assessID) {
				t.Errorf("includeAssessment = %s", older)
			}
		})

		t.Run("bad input", func(t *testing.T) {
			for _, sc := range []struct {
				method, path, body string
				status             int
				want               string
			}{
				{"POST", "/v2/workflows/nope/execute", `{}`, 404, `workflow \"nope\" is not deployed`},
				{"GET", "/v2/workflows/nope/overview", "", 404, "NotFoundError"},
				{"GET", "/v2/workflows/nope/source", "", 404, "NotFoundError"},
				{"GET", "/v2/workflows/nope/inputSchema", "", 404, "NotFoundError"},
				{"GET", "/v2/workflows/nope/pingWorkflowService", "", 404, "NotFoundError"},
				{"POST", "/v2/workflows/nope/instances", `{}`, 404, "NotFoundError"},
				{"GET", "/v2/workflows/instances/no-such-id", "", 404, "NotFoundError"},
				{"DELETE", "/v2/workflows/instances/no-such-id/abort", "", 404, "NotFoundError"},
				{"POST", "/v2/workflows/hello/execute", `{"inputData": [1]}`, 400, "inputData: must be an object"},
				{"POST", "/v2/workflows/hello/execute", `{"inputData": {"language": "x"}}`, 400, "inputData"},
				{"POST", "/v2/workflows/hello/execute", `{"inputData": {"name": "x"}, "authTokens": [{"token": "t"}]}`, 400, "authTokens[0].provider: missing"},
				{"POST", "/v2/workflows/hello/execute", `{"inputData": {"name": "x"}, "targetEntity": "::"}`, 400, "targetEntity"},
				{"POST", "/v2/workflows/hello/execute", `{"inputData": `, 400, "malformed JSON"},
				{"POST", "/v2/workflows/overview", `{"filters": {"field": "colour", "operator": "EQ", "value": "x"}}`, 400, `filters.field: unknown workflow field \"colour\"`},
				{"POST", "/v2/workflows/overview", `{"paginationInfo": {"orderDirection": "UP"}}`, 400, "paginationInfo.orderDirection"},
				{"POST", "/v2/workflows/overview", `{"paginationInfo": {"pageSize": -1}}`, 400, "paginationInfo.pageSize"},
				{"POST", "/v2/workflows/overview", `{"paginationInfo": {"pageSize": "many"}}`, 400, "pageSize"},
				{"POST", "/v2/workflows/instances", `{"filters": {"field": "state", "operator": "EQ", "value": "SLEEPY"}}`, 400, "filters.value"},
				{"POST", "/v2/workflows/instances", `{"filters": {"field": "state", "operator": "LIKE", "value": "A*"}}`, 400, "filters.operator: state takes EQ or IN"},
				{"POST", "/v2/workflows/instances", `{"filters": {"operator": "AND", "filters": [{"field": "nope", "operator": "EQ", "value": 1}]}}`, 400, `filters.filters[0].field: unknown instance field`},
				{"POST", "/v2/workflows/instances", `{"filters": {"field": "start", "operator": "GT", "value": "yesterday"}}`, 400, "filters.value"},
				{"POST", "/v2/workflows/instances", `{"filters": {"field": "variables", "nested": {"field": "a'b", "operator": "EQ", "value": 1}}}`, 400, "filters.nested.field"},
				{"POST", "/v2/workflows/instances", `{"filters": {"operator": "NOT", "filters": []}}`, 400, "filters.filters: NOT needs"},
				{"POST", "/v2/workflows/instances", `{"filters": {"field": "id", "operator": "SIMILAR", "value": "x"}}`, 400, "filters.operator: unknown operator"},
				{"POST", "/v2/workflows/instances", `{"paginationInfo": {"orderBy": "colour"}}`, 400, "paginationInfo.orderBy"},
				{"GET", "/v2/workflows/hello/whatever", "", 404, "NotFoundError"},
				{"GET", "/health", "", 200, `{"status":"ok"}`},
				{"GET", "/v2/workflows/instances/" + helloID + "/logs", "", 501, "log provider"},
			} {
				status, body := a.do(sc.method, sc.path, sc.body)
				if status != sc.status || !strings.Contains(string(body), sc.want) {
					t.Errorf("%s %s %s: %d %s; want %d with %q", sc.method, sc.path, sc.body, status, body, sc.status, sc.want)
				}
			}
		})

		t.Run("permissions", func(t *testing.T) {
			var ov overviewList
			b.json("POST", "/v2/workflows/overview", "", 200, &ov)
			if got := ov.ids(); !slices.Equal(got, []string{"fail", "hello"}) {
				t.Errorf("bob's workflows = %v", got)
			}
			bobRun := execute(b, "hello", `{"inputData": {"name": "Bob"}}`)
			var l instanceList
			b.json("POST", "/v2/workflows/instances", "", 200, &l)
			if got := l.ids(); !slices.Equal(got, []string{bobRun}) {
				t.Errorf("bob sees instances %v, want only his own", got)
			}
			b.json("POST", "/v2/workflows/hello/instances", "", 200, &l)
			if got := l.ids(); !slices.Equal(got, []string{bobRun}) {
				t.Errorf("bob sees hello instances %v, want only his own", got)
			}
			var mine instanceDTO
			b.json("GET", "/v2/workflows/instances/"+bobRun, "", 200, &mine)
			if mine.InitiatorEntity != bob {
				t.Errorf("initiatorEntity = %q", mine.InitiatorEntity)
			}
			for _, sc := range []struct{ method, path, body string }{
				{"GET", "/v2/workflows/instances/" + helloID, ""},
				{"GET", "/v2/workflows/hello/inputSchema?instanceId=" + helloID, ""},
				{"POST", "/v2/workflows/fail/execute", `{}`},
				{"POST", "/v2/workflows/sleeper/execute", `{}`},
				{"GET", "/v2/workflows/sleeper/overview", ""},
				{"GET", "/v2/workflows/sleeper/source", ""},
				{"POST", "/v2/workflows/sleeper/instances", `{}`},
				{"DELETE", "/v2/workflows/instances/" + failID + "/abort", ""},
				{"POST", "/v2/workflows/fail/" + failID + "/retrigger", `{}`},
			} {
				status, body := b.do(sc.method, sc.path, sc.body)
				if status != 403 || !strings.Contains(string(body), "NotAllowedError") {
					t.Errorf("bob %s %s: %d %s, want 403", sc.method, sc.path, status, body)
				}
			}
			// Unauthenticated callers are turned away by the default policy.
			anon := client{t, b.base, ""}
			if status, _ := anon.do("POST", "/v2/workflows/overview", ""); status != 401 {
				t.Errorf("no token: %d", status)
			}
		})
	})
}

// TestWorkflowsInCatalog checks that deployed workflows are catalog
// entities as RHDH's entity provider emits them, and follow deploys and
// removals.
func TestWorkflowsInCatalog(t *testing.T) {
	both(t, func(t *testing.T, postgres bool) {
		e := start(t, postgres)
		cat := client{t, e.inst.URL + "/api/catalog", e.alice.token}
		waitFor := func(path string, want int) []byte {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for {
				status, body := cat.do("GET", path, "")
				if status == want {
					return body
				}
				if time.Now().After(deadline) {
					t.Fatalf("GET %s: still %d after 30s: %s", path, status, body)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		var ent struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
			Metadata   struct {
				Name        string            `json:"name"`
				Title       string            `json:"title"`
				Description string            `json:"description"`
				Tags        []string          `json:"tags"`
				Annotations map[string]string `json:"annotations"`
			} `json:"metadata"`
			Spec map[string]any `json:"spec"`
		}
		if err := json.Unmarshal(waitFor("/entities/by-name/template/default/hello", 200), &ent); err != nil {
			t.Fatal(err)
		}
		if ent.APIVersion != "scaffolder.backstage.io/v1beta3" || ent.Kind != "Template" || ent.Metadata.Title != "Hello" ||
			ent.Metadata.Description != "Says hello" || !slices.Equal(ent.Metadata.Tags, []string{"infrastructure"}) ||
			ent.Spec["type"] != "workflow" || ent.Spec["owner"] != "group:default/platform" {
			t.Errorf("entity = %+v", ent)
		}
		if !strings.HasSuffix(ent.Metadata.Annotations["backstage.io/source-location"], "/management/processes/hello/source") ||
			!strings.HasPrefix(ent.Metadata.Annotations["backstage.io/managed-by-location"], "url:") {
			t.Errorf("annotations = %v", ent.Metadata.Annotations)
		}
		waitFor("/entities/by-name/template/default/assessment", 200)

		// Deploying is adding a file; removing it removes the entity.
		p := filepath.Join(e.dir, "late", "late.sw.yaml")
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		late := strings.ReplaceAll(strings.ReplaceAll(testWorkflows["sleeper/sleeper.sw.yaml"], "id: sleeper", "id: late"), "name: Sleeper", "name: Late")
		if err := os.WriteFile(p, []byte(late), 0o644); err != nil {
			t.Fatal(err)
		}
		waitFor("/entities/by-name/template/default/late", 200)
		if err := os.RemoveAll(filepath.Dir(p)); err != nil {
			t.Fatal(err)
		}
		waitFor("/entities/by-name/template/default/late", 404)
	})
}
