package dataindex_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
)

// server is a running Portico with the example workflows (greeting,
// approval, reminder, order) and a few instances of each.
type server struct {
	*apptest.Instance
	t *testing.T
	// ids of the instances started, by name.
	ids map[string]string
}

// gqlResponse is a GraphQL response.
type gqlResponse struct {
	status int
	Data   map[string]json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	raw []byte
}

func (r gqlResponse) errorText() string {
	var msgs []string
	for _, e := range r.Errors {
		msgs = append(msgs, e.Message)
	}
	return strings.Join(msgs, "; ")
}

// post sends a query as the orchestrator plugin does: POST JSON.
func (s *server) post(query string, variables map[string]any) gqlResponse {
	s.t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query, "variables": variables})
	return s.send(http.MethodPost, "/graphql", "application/json", bytes.NewReader(body))
}

func (s *server) send(method, path, contentType string, body io.Reader) gqlResponse {
	s.t.Helper()
	req, err := http.NewRequest(method, s.URL+path, body)
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := gqlResponse{status: resp.StatusCode, raw: raw}
	if err := json.Unmarshal(raw, &r); err != nil {
		s.t.Fatalf("%s %s: status %d, body is not JSON: %s", method, path, resp.StatusCode, raw)
	}
	return r
}

// ok sends a query that must succeed and decodes data.<field> into out.
func (s *server) ok(query string, variables map[string]any, field string, out any) {
	s.t.Helper()
	r := s.post(query, variables)
	if r.status != http.StatusOK || len(r.Errors) > 0 {
		s.t.Fatalf("query failed: status %d, errors %s\nquery: %s", r.status, r.errorText(), query)
	}
	if err := json.Unmarshal(r.Data[field], out); err != nil {
		s.t.Fatalf("decode %s: %v: %s", field, err, r.Data[field])
	}
}

// bad sends a query that must fail with HTTP 200 and an error containing
// want.
func (s *server) bad(query string, want string) {
	s.t.Helper()
	r := s.post(query, nil)
	if r.status != http.StatusOK {
		s.t.Fatalf("status %d, want 200 with errors; body %s", r.status, r.raw)
	}
	if len(r.Errors) == 0 {
		s.t.Fatalf("no errors for a bad query: %s\nquery: %s", r.raw, query)
	}
	if !strings.Contains(r.errorText(), want) {
		s.t.Fatalf("errors %q do not mention %q", r.errorText(), want)
	}
}

func (s *server) start(workflow string, body string) string {
	s.t.Helper()
	resp, err := http.Post(s.URL+"/"+workflow, "application/json", strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(raw, &out)
	if out.ID == "" {
		s.t.Fatalf("start %s: status %d: %s", workflow, resp.StatusCode, raw)
	}
	return out.ID
}

func each(t *testing.T, fn func(t *testing.T, pg bool)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, false) })
	t.Run("postgres", func(t *testing.T) {
		if os.Getenv("PORTICO_TEST_POSTGRES_URL") == "" {
			t.Skip("PORTICO_TEST_POSTGRES_URL is not set")
		}
		fn(t, true)
	})
}

// startServer starts Portico with the example workflows and these
// instances: three greetings (two by ana, one by bob, one for a
// component), an approval that waits for an event, a reminder that sleeps
// and an order that fails.
func startServer(t *testing.T, pg bool) *server {
	t.Helper()
	inst := apptest.Start(t, apptest.Options{Postgres: pg, Config: `
orchestrator:
  workflows: ["embedded:workflows"]
  runtimeApi: {allowUnauthenticated: true}
  serviceUrl: http://portico.example:7007
`})
	s := &server{Instance: inst, t: t, ids: map[string]string{}}
	s.ids["greet1"] = s.start("greeting", `{"workflowdata": {"language": "English", "name": "Ana"}, "initiatorEntity": "user:default/ana", "targetEntity": "component:default/svc"}`)
	time.Sleep(5 * time.Millisecond) // distinct start times, for ordering
	s.ids["greet2"] = s.start("greeting", `{"workflowdata": {"language": "Spanish", "name": "Bo", "count": 2, "tags": ["a", "b"]}, "initiatorEntity": "user:default/bob"}`)
	time.Sleep(5 * time.Millisecond)
	s.ids["greet3"] = s.start("greeting", `{"workflowdata": {"language": "English", "count": 7}, "initiatorEntity": "user:default/ana"}`)
	time.Sleep(5 * time.Millisecond)
	s.ids["approval"] = s.start("approval", `{"requestId": "r1", "item": "laptop"}`)
	time.Sleep(5 * time.Millisecond)
	s.ids["reminder"] = s.start("reminder", `{"text": "stand up"}`)
	time.Sleep(5 * time.Millisecond)
	s.ids["order"] = s.start("order", `{"quantity": 0}`)
	return s
}

type instance struct {
	ID               string          `json:"id"`
	ProcessID        string          `json:"processId"`
	ProcessName      *string         `json:"processName"`
	State            string          `json:"state"`
	Start            string          `json:"start"`
	End              *string         `json:"end"`
	ServiceURL       string          `json:"serviceUrl"`
	Endpoint         string          `json:"endpoint"`
	BusinessKey      *string         `json:"businessKey"`
	LastUpdate       string          `json:"lastUpdate"`
	Variables        json.RawMessage `json:"variables"`
	ExecutionSummary []string        `json:"executionSummary"`
	Nodes            []struct {
		ID           string  `json:"id"`
		NodeID       string  `json:"nodeId"`
		DefinitionID string  `json:"definitionId"`
		Type         string  `json:"type"`
		Name         string  `json:"name"`
		Enter        string  `json:"enter"`
		Exit         *string `json:"exit"`
		ErrorMessage *string `json:"errorMessage"`
	} `json:"nodes"`
	Error *struct {
		NodeDefinitionID string  `json:"nodeDefinitionId"`
		NodeInstanceID   *string `json:"nodeInstanceId"`
		Message          string  `json:"message"`
	} `json:"error"`
	ParentProcessInstance *instance `json:"parentProcessInstance"`
	Timers                []struct {
		TimerID           string `json:"timerId"`
		ProcessInstanceID string `json:"processInstanceId"`
		Description       string `json:"description"`
	} `json:"timers"`
}

func (s *server) names(list []instance) []string {
	byID := map[string]string{}
	for name, id := range s.ids {
		byID[id] = name
	}
	out := make([]string, len(list))
	for i, in := range list {
		out[i] = byID[in.ID]
	}
	return out
}

func sameSet(t *testing.T, what string, got, want []string) {
	t.Helper()
	g, w := slices.Clone(got), slices.Clone(want)
	slices.Sort(g)
	slices.Sort(w)
	if !slices.Equal(g, w) {
		t.Fatalf("%s: got %v, want %v", what, got, want)
	}
}

// TestPluginQueries sends the queries the RHDH orchestrator plugin sends,
// character for character, and checks what it reads from the answers.
func TestPluginQueries(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		s := startServer(t, pg)

		t.Run("introspection", func(t *testing.T) {
			for _, typ := range []string{"ProcessInstanceArgument", "ProcessDefinitionArgument"} {
				q := `query ` + typ + ` { __type(name: "` + typ + `") { kind name inputFields { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }`
				var got struct {
					Kind        string `json:"kind"`
					Name        string `json:"name"`
					InputFields []struct {
						Name string `json:"name"`
						Type struct {
							Kind   string `json:"kind"`
							Name   *string
							OfType *struct {
								Kind   string  `json:"kind"`
								Name   *string `json:"name"`
								OfType *struct {
									Kind string  `json:"kind"`
									Name *string `json:"name"`
								} `json:"ofType"`
							} `json:"ofType"`
						} `json:"type"`
					} `json:"inputFields"`
				}
				s.ok(q, nil, "__type", &got)
				if got.Kind != "INPUT_OBJECT" || got.Name != typ {
					t.Fatalf("%s: kind %s name %s", typ, got.Kind, got.Name)
				}
				fields := map[string]string{}
				for _, f := range got.InputFields {
					name := f.Type.Kind
					if f.Type.Name != nil {
						name = *f.Type.Name
					} else if f.Type.OfType != nil && f.Type.OfType.OfType != nil && f.Type.OfType.OfType.Name != nil {
						name = f.Type.Kind + ":" + *f.Type.OfType.OfType.Name
					}
					fields[f.Name] = name
				}
				want := map[string]string{
					"ProcessInstanceArgument": "id=IdArgument processId=StringArgument processName=StringArgument state=ProcessInstanceStateArgument " +
						"start=DateArgument end=DateArgument businessKey=StringArgument variables=JSON not=ProcessInstanceArgument " +
						"and=LIST:ProcessInstanceArgument nodes=NodeInstanceArrayArgument error=ProcessInstanceErrorArgument",
					"ProcessDefinitionArgument": "id=StringArgument name=StringArgument version=StringArgument annotations=StringArrayArgument " +
						"metadata=JSON or=LIST:ProcessDefinitionArgument",
				}[typ]
				for _, pair := range strings.Fields(want) {
					k, v, _ := strings.Cut(pair, "=")
					if fields[k] != v {
						t.Errorf("%s.%s is %q, want %q", typ, k, fields[k], v)
					}
				}
			}
		})

		t.Run("fetchWorkflowInfo", func(t *testing.T) {
			var defs []struct {
				ID, Name, Version, Type, Endpoint, ServiceURL, Source string
			}
			s.ok(`{ ProcessDefinitions ( where: {id: {equal: "greeting" } } ) { id, name, version, type, endpoint, serviceUrl, source } }`, nil, "ProcessDefinitions", &defs)
			if len(defs) != 1 {
				t.Fatalf("got %d definitions", len(defs))
			}
			d := defs[0]
			if d.ID != "greeting" || d.Name != "Greeting workflow" || d.Version != "1.0" || d.Type != "SW" ||
				d.ServiceURL != "http://portico.example:7007" || d.Endpoint != "http://portico.example:7007/greeting" {
				t.Fatalf("definition %+v", d)
			}
			if !strings.Contains(d.Source, "id: greeting") || !strings.Contains(d.Source, "dataInputSchema: schemas/greeting.json") {
				t.Fatalf("source is not the file as written:\n%s", d.Source)
			}
		})

		t.Run("workflowCache", func(t *testing.T) {
			var defs []struct{ ID, ServiceURL string }
			s.ok(`{ ProcessDefinitions { id, serviceUrl } }`, nil, "ProcessDefinitions", &defs)
			var got []string
			for _, d := range defs {
				got = append(got, d.ID)
				if d.ServiceURL != "http://portico.example:7007" {
					t.Errorf("%s: serviceUrl %q", d.ID, d.ServiceURL)
				}
			}
			for _, want := range []string{"approval", "greeting", "order", "reminder"} {
				if !slices.Contains(got, want) {
					t.Errorf("definitions %v lack %s", got, want)
				}
			}
		})

		t.Run("fetchWorkflowInfos", func(t *testing.T) {
			var defs []struct {
				ID       string
				Metadata map[string]any
				Source   string
			}
			s.ok(`{ProcessDefinitions (where: {id: {in: ["greeting","approval","reminder"]}}, orderBy: {name: DESC}, pagination: {limit: 2, offset: 0}) {id, name, version, type, endpoint, serviceUrl, source, metadata } }`, nil, "ProcessDefinitions", &defs)
			if len(defs) != 2 || defs[0].ID != "reminder" || defs[1].ID != "greeting" {
				t.Fatalf("page: %+v", defs)
			}
			if defs[0].Metadata == nil {
				t.Fatalf("metadata is null, want an object")
			}
			var src []struct{ ID, Source string }
			s.ok(`{ ProcessDefinitions ( where: {id: {equal: "approval" } } ) { id, source } }`, nil, "ProcessDefinitions", &src)
			if len(src) != 1 || !strings.Contains(src[0].Source, "id: approval") {
				t.Fatalf("source: %+v", src)
			}
		})

		t.Run("fetchInstances", func(t *testing.T) {
			var list []instance
			s.ok(`{ProcessInstances (where: {and: [{processId: {isNull: false}}, {processId: {in: ["greeting","order","approval"]}}, {state: {in: [ACTIVE, ERROR, COMPLETED]}}]}, orderBy: {start: DESC}, pagination: {limit: 10, offset: 0}) {id, processName, processId, state, start, end, nodes { id }, variables, executionSummary, parentProcessInstance {id, processName, businessKey} } }`, nil, "ProcessInstances", &list)
			if got, want := s.names(list), []string{"order", "approval", "greet3", "greet2", "greet1"}; !slices.Equal(got, want) {
				t.Fatalf("instances %v, want %v", got, want)
			}
			states := map[string]string{}
			for _, in := range list {
				states[s.names([]instance{in})[0]] = in.State
				if len(in.Nodes) == 0 || len(in.ExecutionSummary) == 0 || !strings.HasPrefix(in.ExecutionSummary[0], "Workflow started at ") {
					t.Errorf("%s: nodes %v summary %v", in.ID, in.Nodes, in.ExecutionSummary)
				}
				if in.ParentProcessInstance != nil {
					t.Errorf("%s has a parent", in.ID)
				}
			}
			if states["greet1"] != "COMPLETED" || states["approval"] != "ACTIVE" || states["order"] != "ERROR" {
				t.Fatalf("states %v", states)
			}
			var vars struct {
				Workflowdata    map[string]any `json:"workflowdata"`
				InitiatorEntity string         `json:"initiatorEntity"`
				TargetEntity    string         `json:"targetEntity"`
			}
			if err := json.Unmarshal(list[4].Variables, &vars); err != nil {
				t.Fatalf("variables are not a JSON object: %s", list[4].Variables)
			}
			if vars.InitiatorEntity != "user:default/ana" || vars.TargetEntity != "component:default/svc" || vars.Workflowdata["name"] != "Ana" {
				t.Fatalf("variables %s", list[4].Variables)
			}
			last := list[4].ExecutionSummary[len(list[4].ExecutionSummary)-1]
			if !strings.HasPrefix(last, "Workflow completed at ") {
				t.Fatalf("summary of a completed instance ends with %q", last)
			}
		})

		t.Run("logicalFilterObjectForm", func(t *testing.T) {
			// The plugin writes and: {…} as an object, not a list.
			var list []instance
			s.ok(`{ProcessInstances (where: {and: {processId: {isNull: false}, variables: {initiatorEntity: {equal: "user:default/ana"}}}}, orderBy: {start: DESC}, pagination: {limit: 10, offset: 0}) {id, processName, processId, state, start, end, nodes { id }, variables, executionSummary, parentProcessInstance {id, processName, businessKey} } }`, nil, "ProcessInstances", &list)
			if got, want := s.names(list), []string{"greet3", "greet1"}; !slices.Equal(got, want) {
				t.Fatalf("got %v, want %v", got, want)
			}
			s.ok(`{ProcessInstances (where: {or: {processId: {equal: "order"}}}) {id} }`, nil, "ProcessInstances", &list)
			if got := s.names(list); !slices.Equal(got, []string{"order"}) {
				t.Fatalf("or object: %v", got)
			}
		})

		t.Run("fetchDefinitionIdsFromInstances", func(t *testing.T) {
			var list []instance
			s.ok(`{ProcessInstances (where: {and: [{processId: {isNull: false}}, {variables: {targetEntity: {equal: "component:default/svc"}}}]}, pagination: {limit: 1000, offset: 0}) {processId } }`, nil, "ProcessInstances", &list)
			if len(list) != 1 || list[0].ProcessID != "greeting" {
				t.Fatalf("got %+v", list)
			}
		})

		t.Run("lastRun", func(t *testing.T) {
			var list []instance
			s.ok(`{ ProcessInstances( where: {processId: {equal: "greeting" } , variables: {targetEntity: {equal: "component:default/svc" } } }, orderBy: {start:DESC}, pagination: {limit: 1, offset: 0}) { id, processName, state, start, end } }`, nil, "ProcessInstances", &list)
			if got := s.names(list); !slices.Equal(got, []string{"greet1"}) || list[0].End == nil || *list[0].ProcessName != "Greeting workflow" {
				t.Fatalf("got %v %+v", got, list)
			}
			s.ok(`{ ProcessInstances( where: {processId: {equal: "greeting" } }, orderBy: {start:DESC}, pagination: {limit: 1, offset: 0}) { id, processName, state, start, end } }`, nil, "ProcessInstances", &list)
			if got := s.names(list); !slices.Equal(got, []string{"greet3"}) {
				t.Fatalf("last run without target: %v", got)
			}
		})

		t.Run("byID", func(t *testing.T) {
			var list []instance
			s.ok(`{ ProcessInstances (where: { id: {equal: "`+s.ids["greet2"]+`" } } ) { variables } }`, nil, "ProcessInstances", &list)
			if len(list) != 1 || !strings.Contains(string(list[0].Variables), `"Spanish"`) {
				t.Fatalf("variables: %+v", list)
			}
			s.ok(`{ ProcessInstances (where: { id: {equal: "`+s.ids["greet2"]+`" } } ) { processId } }`, nil, "ProcessInstances", &list)
			if len(list) != 1 || list[0].ProcessID != "greeting" {
				t.Fatalf("processId: %+v", list)
			}
		})

		t.Run("FindProcessInstanceQuery", func(t *testing.T) {
			q := `query FindProcessInstanceQuery($instanceId: String!) { ProcessInstances(where: { id: { equal: $instanceId } }) {
  id processName processId serviceUrl executionSummary state start end
  nodes { id nodeId definitionId type name enter exit errorMessage }
  variables parentProcessInstance { id processName businessKey } error { nodeDefinitionId nodeInstanceId message } } }`
			var list []instance
			s.ok(q, map[string]any{"instanceId": s.ids["order"]}, "ProcessInstances", &list)
			if len(list) != 1 {
				t.Fatalf("got %d instances", len(list))
			}
			in := list[0]
			if in.State != "ERROR" || in.Error == nil || in.Error.Message == "" || in.ServiceURL != "http://portico.example:7007" {
				t.Fatalf("instance %+v", in)
			}
			if in.Error.NodeInstanceID == nil {
				t.Fatalf("error without nodeInstanceId: %+v", in.Error)
			}
			found := false
			for _, n := range in.Nodes {
				if n.ID == *in.Error.NodeInstanceID {
					found = true
					if n.ErrorMessage == nil {
						t.Errorf("failed node %s has no errorMessage", n.ID)
					}
				}
				if n.NodeID != n.DefinitionID || n.Type == "" || n.Name == "" || n.Enter == "" {
					t.Errorf("node %+v", n)
				}
			}
			if !found {
				t.Fatalf("no node %s among %+v", *in.Error.NodeInstanceID, in.Nodes)
			}
			if !slices.ContainsFunc(in.ExecutionSummary, func(s string) bool { return strings.HasPrefix(s, "Workflow failed with error ") }) {
				t.Fatalf("summary %v", in.ExecutionSummary)
			}

			s.ok(q, map[string]any{"instanceId": s.ids["reminder"]}, "ProcessInstances", &list)
			if len(list) != 1 || list[0].State != "ACTIVE" || list[0].End != nil {
				t.Fatalf("reminder %+v", list)
			}
			last := list[0].ExecutionSummary[len(list[0].ExecutionSummary)-1]
			if !strings.HasPrefix(last, "Workflow waiting at node Wait since ") {
				t.Fatalf("summary of a sleeping instance ends with %q", last)
			}
		})
	})
}

// TestFilters covers the argument types beyond what the plugin sends:
// every operator, JSON paths, ordering, pagination and counts.
func TestFilters(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		s := startServer(t, pg)
		all := []string{"greet1", "greet2", "greet3", "approval", "reminder", "order"}
		cases := []struct {
			name, where string
			want        []string
		}{
			{"everything", `{}`, all},
			{"id in", `{id: {in: ["` + s.ids["greet1"] + `", "` + s.ids["order"] + `"]}}`, []string{"greet1", "order"}},
			{"id empty in", `{id: {in: []}}`, nil},
			{"processId like", `{processId: {like: "gree*"}}`, []string{"greet1", "greet2", "greet3"}},
			{"like is case-sensitive", `{processId: {like: "GREE*"}}`, nil},
			{"like without wildcard is equality", `{processId: {like: "order"}}`, []string{"order"}},
			{"like with SQL wildcards", `{processId: {like: "gr_eting"}}`, nil},
			{"processName", `{processName: {equal: "Order with errors"}}`, []string{"order"}},
			{"state equal", `{state: {equal: ACTIVE}}`, []string{"approval", "reminder"}},
			{"state in", `{state: {in: [ERROR, ACTIVE]}}`, []string{"approval", "reminder", "order"}},
			{"not", `{not: {processId: {equal: "greeting"}}}`, []string{"approval", "reminder", "order"}},
			{"or", `{or: [{processId: {equal: "order"}}, {state: {equal: ACTIVE}}]}`, []string{"approval", "reminder", "order"}},
			{"implicit and", `{processId: {equal: "greeting"}, variables: {workflowdata: {language: {equal: "Spanish"}}}}`, []string{"greet2"}},
			{"end isNull", `{end: {isNull: true}}`, []string{"approval", "reminder", "order"}},
			{"end not null", `{end: {isNull: false}}`, []string{"greet1", "greet2", "greet3"}},
			{"start after", `{start: {greaterThan: "2000-01-01T00:00:00Z"}}`, all},
			{"start before", `{start: {lessThan: "2000-01-01"}}`, nil},
			{"start between", `{start: {between: {from: "2000-01-01T00:00:00Z", to: "2999-01-01T00:00:00Z"}}}`, all},
			{"businessKey isNull", `{businessKey: {isNull: true}}`, all},
			{"parent isNull", `{parentProcessInstanceId: {isNull: true}}`, all},
			{"error message", `{error: {message: {isNull: false}}}`, []string{"order"}},
			{"endpoint", `{endpoint: {equal: "http://portico.example:7007/reminder"}}`, []string{"reminder"}},
			{"endpoint like", `{endpoint: {like: "*/approval"}}`, []string{"approval"}},
			{"definition", `{definition: {name: {like: "Remind*"}}}`, []string{"reminder"}},
			{"nodes contain", `{nodes: {name: {equal: "GreetInSpanish"}}}`, []string{"greet2"}},
			{"nodes containsAny", `{nodes: {containsAny: [{name: {equal: "GreetInSpanish"}}, {name: {equal: "Wait"}}]}}`, []string{"greet2", "reminder"}},
			{"nodes with an error", `{nodes: {contains: {errorMessage: {isNull: false}}}}`, []string{"order"}},
			{"roles isNull", `{roles: {isNull: true}}`, all},
			{"roles contains", `{roles: {contains: "admin"}}`, nil},
			{"milestones", `{milestones: {isNull: true}}`, all},
			{"createdBy", `{createdBy: {equal: "x"}}`, nil},
			{"variables nested equal", `{variables: {workflowdata: {language: {equal: "English"}}}}`, []string{"greet1", "greet3"}},
			{"variables number", `{variables: {workflowdata: {count: {greaterThan: 3}}}}`, []string{"greet3"}},
			{"variables number between", `{variables: {workflowdata: {count: {between: {from: 1, to: 2}}}}}`, []string{"greet2"}},
			{"variables in", `{variables: {initiatorEntity: {in: ["user:default/bob", "user:default/carl"]}}}`, []string{"greet2"}},
			{"variables like", `{variables: {initiatorEntity: {like: "user:*/an*"}}}`, []string{"greet1", "greet3"}},
			{"variables isNull", `{variables: {targetEntity: {isNull: false}}}`, []string{"greet1"}},
			{"variables missing path", `{variables: {workflowdata: {nope: {isNull: true}}}, processId: {equal: "greeting"}}`, []string{"greet1", "greet2", "greet3"}},
			{"variables string is not a number", `{variables: {workflowdata: {count: {equal: "7"}}}}`, nil},
			{"variables contains", `{variables: {workflowdata: {tags: {contains: "b"}}}}`, []string{"greet2"}},
			{"variables containsAll", `{variables: {workflowdata: {tags: {containsAll: ["a", "b"]}}}}`, []string{"greet2"}},
			{"variables containsAny", `{variables: {workflowdata: {tags: {containsAny: ["x", "a"]}}}}`, []string{"greet2"}},
			{"variables two conditions", `{variables: {workflowdata: {language: {equal: "English"}, count: {equal: 7}}}}`, []string{"greet3"}},
			{"variables of a body without workflowdata", `{variables: {workflowdata: {requestId: {equal: "r1"}}}}`, []string{"approval"}},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				var list []instance
				s.ok(`{ ProcessInstances(where: `+c.where+`) { id } }`, nil, "ProcessInstances", &list)
				sameSet(t, c.where, s.names(list), c.want)
				var n int
				s.ok(`{ CountProcessInstances(where: `+c.where+`) }`, nil, "CountProcessInstances", &n)
				if n != len(c.want) {
					t.Fatalf("count %d, want %d", n, len(c.want))
				}
			})
		}

		t.Run("variables filter from a GraphQL variable", func(t *testing.T) {
			var list []instance
			s.ok(`query Q($w: ProcessInstanceArgument) { ProcessInstances(where: $w) { id } }`,
				map[string]any{"w": map[string]any{"variables": map[string]any{"workflowdata": map[string]any{"count": map[string]any{"lessThanEqual": 2}}}}},
				"ProcessInstances", &list)
			sameSet(t, "count <= 2", s.names(list), []string{"greet2"})
		})

		t.Run("ordering and pagination", func(t *testing.T) {
			var list []instance
			s.ok(`{ ProcessInstances(orderBy: {start: ASC}, pagination: {limit: 2, offset: 1}) { id } }`, nil, "ProcessInstances", &list)
			if got := s.names(list); !slices.Equal(got, []string{"greet2", "greet3"}) {
				t.Fatalf("page: %v", got)
			}
			s.ok(`{ ProcessInstances(orderBy: {processId: DESC, start: DESC}) { id } }`, nil, "ProcessInstances", &list)
			if got, want := s.names(list), []string{"reminder", "order", "greet3", "greet2", "greet1", "approval"}; !slices.Equal(got, want) {
				t.Fatalf("processId DESC, start DESC: %v", got)
			}
			s.ok(`{ ProcessInstances(orderBy: {state: ASC, start: DESC}) { id } }`, nil, "ProcessInstances", &list)
			if got, want := s.names(list), []string{"reminder", "approval", "greet3", "greet2", "greet1", "order"}; !slices.Equal(got, want) {
				t.Fatalf("state ASC, start DESC: %v", got)
			}
			s.ok(`{ ProcessInstances(orderBy: {end: ASC, start: ASC}) { id } }`, nil, "ProcessInstances", &list)
			if got, want := s.names(list)[3:], []string{"approval", "reminder", "order"}; !slices.Equal(got, want) {
				t.Fatalf("instances without an end sort last: %v", s.names(list))
			}
			s.ok(`{ ProcessInstances(pagination: {offset: 100}) { id } }`, nil, "ProcessInstances", &list)
			if len(list) != 0 {
				t.Fatalf("past the end: %v", list)
			}
		})

		t.Run("definitions", func(t *testing.T) {
			// The examples change; expectations are computed from the
			// full list, filters are checked against them.
			var all []struct {
				ID          string
				Description *string
				Annotations []string
			}
			s.ok(`{ ProcessDefinitions { id description annotations } }`, nil, "ProcessDefinitions", &all)
			var infra, erOrNoDesc []string
			for _, d := range all {
				if slices.Contains(d.Annotations, "workflow-type/infrastructure") {
					infra = append(infra, d.ID)
				}
				if strings.Contains(d.ID, "er") || d.Description == nil {
					erOrNoDesc = append(erOrNoDesc, d.ID)
				}
			}
			var defs []struct {
				ID    string
				Nodes []struct {
					ID, Name, Type, UniqueID string
				}
			}
			s.ok(`{ ProcessDefinitions(where: {annotations: {contains: "workflow-type/infrastructure"}}) { id nodes { id name type uniqueId } } }`, nil, "ProcessDefinitions", &defs)
			var got []string
			for _, d := range defs {
				got = append(got, d.ID)
			}
			sameSet(t, "infrastructure workflows", got, infra)
			s.ok(`{ ProcessDefinitions(where: {id: {equal: "greeting"}}) { id nodes { id name type uniqueId } } }`, nil, "ProcessDefinitions", &defs)
			if len(defs) != 1 || len(defs[0].Nodes) != 4 || defs[0].Nodes[0].Name != "ChooseOnLanguage" || defs[0].Nodes[0].Type != "Split" || defs[0].Nodes[0].UniqueID != "1" {
				t.Fatalf("greeting nodes %+v", defs)
			}
			var n int
			s.ok(`{ CountProcessDefinitions(where: {or: [{id: {like: "*er*"}}, {description: {isNull: true}}]}) }`, nil, "CountProcessDefinitions", &n)
			if n != len(erOrNoDesc) {
				t.Fatalf("count %d, want %d (%v)", n, len(erOrNoDesc), erOrNoDesc)
			}
			s.ok(`{ CountProcessDefinitions(where: {metadata: {status: {equal: "unavailable"}}}) }`, nil, "CountProcessDefinitions", &n)
			if n != 0 {
				t.Fatalf("unavailable: %d", n)
			}
			var ordered []struct{ ID string }
			s.ok(`{ ProcessDefinitions(where: {id: {in: ["approval", "greeting", "order", "reminder"]}}, orderBy: {id: DESC}, pagination: {limit: 2, offset: 1}) { id } }`, nil, "ProcessDefinitions", &ordered)
			if fmt.Sprint(ordered) != "[{order} {greeting}]" {
				t.Fatalf("ordered %v", ordered)
			}
		})

		t.Run("nested", func(t *testing.T) {
			var list []struct {
				ID         string
				Definition struct{ ID, Source string }
				Nodes      []struct{ Name string }
				Source     string
				Timers     []struct {
					TimerID, ProcessID, ProcessInstanceID, Description string
				}
				NodeDefinitions       []struct{ Name string }
				ChildProcessInstances []struct{ ID string }
				LastUpdate            string
			}
			s.ok(`{ ProcessInstances(where: {processId: {equal: "reminder"}}) { id lastUpdate definition { id source } source nodeDefinitions { name } timers { timerId processId processInstanceId description } childProcessInstances { id } } }`, nil, "ProcessInstances", &list)
			if len(list) != 1 {
				t.Fatalf("got %d", len(list))
			}
			in := list[0]
			if in.Definition.ID != "reminder" || !strings.Contains(in.Source, "id: reminder") || len(in.NodeDefinitions) != 2 || in.LastUpdate == "" {
				t.Fatalf("instance %+v", in)
			}
			if len(in.Timers) != 1 || in.Timers[0].ProcessInstanceID != s.ids["reminder"] || in.Timers[0].ProcessID != "reminder" || !strings.Contains(in.Timers[0].Description, "Wait") {
				t.Fatalf("timers %+v", in.Timers)
			}
			if in.ChildProcessInstances == nil || len(in.ChildProcessInstances) != 0 {
				t.Fatalf("children %+v", in.ChildProcessInstances)
			}
		})

		t.Run("jobs", func(t *testing.T) {
			var jobs []struct {
				ID, ProcessID, ProcessInstanceID, NodeInstanceID, Status, ExpirationTime string
			}
			s.ok(`{ Jobs(where: {processInstanceId: {equal: "`+s.ids["reminder"]+`"}, status: {in: [SCHEDULED]}}) { id processId processInstanceId nodeInstanceId status expirationTime } }`, nil, "Jobs", &jobs)
			if len(jobs) != 1 || jobs[0].ProcessID != "reminder" || jobs[0].Status != "SCHEDULED" || jobs[0].ExpirationTime == "" || jobs[0].NodeInstanceID != "1" {
				t.Fatalf("jobs %+v", jobs)
			}
			var n int
			s.ok(`{ CountJobs(where: {status: {equal: EXECUTED}}) }`, nil, "CountJobs", &n)
			if n != 0 {
				t.Fatalf("executed jobs: %d", n)
			}
			s.ok(`{ CountJobs(where: {id: {equal: "`+jobs[0].ID+`"}}) }`, nil, "CountJobs", &n)
			if n != 1 {
				t.Fatalf("job by id: %d", n)
			}
			var tasks []any
			s.ok(`{ UserTaskInstances { id name } }`, nil, "UserTaskInstances", &tasks)
			if tasks == nil || len(tasks) != 0 {
				t.Fatalf("user tasks %v", tasks)
			}
		})

		t.Run("GET", func(t *testing.T) {
			q := url.Values{"query": {`query Q($id: String!) { ProcessInstances(where: {id: {equal: $id}}) { processId } }`},
				"variables": {`{"id": "` + s.ids["approval"] + `"}`}}
			r := s.send(http.MethodGet, "/graphql?"+q.Encode(), "", nil)
			if r.status != 200 || len(r.Errors) > 0 || !strings.Contains(string(r.Data["ProcessInstances"]), `"approval"`) {
				t.Fatalf("GET: %d %s", r.status, r.raw)
			}
			r = s.send(http.MethodPost, "/api/orchestrator/graphql", "application/json", strings.NewReader(`{"query": "{ CountProcessInstances }"}`))
			if r.status != 200 || string(r.Data["CountProcessInstances"]) != "6" {
				t.Fatalf("below /api/orchestrator: %d %s", r.status, r.raw)
			}
		})
	})
}

// TestBadInput: whatever is sent, the answer is HTTP 200 with an errors
// array naming the problem, never a 500.
func TestBadInput(t *testing.T) {
	s := startServer(t, false)
	cases := []struct{ name, query, want string }{
		{"syntax", `{ ProcessInstances { id `, "Expected Name"},
		{"unknown field", `{ ProcessInstances { id nope } }`, `Cannot query field "nope"`},
		{"unknown query", `{ Workflows { id } }`, `Cannot query field "Workflows"`},
		{"filter on a missing field", `{ ProcessInstances(where: {nope: {equal: "x"}}) { id } }`, `nope`},
		{"unknown operator", `{ ProcessInstances(where: {processId: {startsWith: "x"}}) { id } }`, `startsWith`},
		{"bad enum", `{ ProcessInstances(where: {state: {equal: RUNNING}}) { id } }`, `RUNNING`},
		{"bad date", `{ ProcessInstances(where: {start: {greaterThan: "yesterday"}}) { id } }`, `not a DateTime`},
		{"reversed range", `{ ProcessInstances(where: {start: {between: {from: "2020-01-02", to: "2020-01-01"}}}) { id } }`, `where.start.between`},
		{"oversized page", `{ ProcessInstances(pagination: {limit: 1000000}) { id } }`, `pagination.limit`},
		{"negative offset", `{ ProcessInstances(pagination: {offset: -1}) { id } }`, `pagination.offset`},
		{"variables without operator", `{ ProcessInstances(where: {variables: {initiatorEntity: "x"}}) { id } }`, `where.variables.initiatorEntity`},
		{"variables operator without path", `{ ProcessInstances(where: {variables: {equal: "x"}}) { id } }`, `needs a variable name`},
		{"variables object equal", `{ ProcessInstances(where: {variables: {workflowdata: {equal: {a: 1}}}}) { id } }`, `where.variables.workflowdata.equal`},
		{"deep", `{ ProcessInstances { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { parentProcessInstance { id } } } } } } } } } } } } } }`, "levels deep"},
		{"too complex", `{ ProcessInstances(pagination: {limit: 1000}) { childProcessInstances { childProcessInstances { childProcessInstances { id processId } } } } }`, "complexity"},
		{"mutation on GET is refused elsewhere; unsupported mutation", `mutation { UserTaskInstanceCommentDelete(commentId: "1") }`, "not supported"},
		{"abort unknown instance", `mutation { ProcessInstanceAbort(id: "nope") }`, "not found"},
		{"abort without id", `mutation { ProcessInstanceAbort }`, "id is required"},
		{"bad job id", `mutation { JobCancel(id: "nope") }`, "not a job id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { s.bad(c.query, c.want) })
	}
	for _, c := range []struct{ name, contentType, body string }{
		{"not JSON", "application/json", `{"query": `},
		{"empty body", "application/json", ``},
		{"query not a string", "application/json", `{"query": 42}`},
		{"no query", "application/json", `{}`},
		{"huge body", "application/json", `{"query": "` + strings.Repeat("a", 2<<20) + `"}`},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.send(http.MethodPost, "/graphql", c.contentType, strings.NewReader(c.body))
			if r.status >= 500 || len(r.Errors) == 0 {
				t.Fatalf("status %d body %.300s", r.status, r.raw)
			}
			if r.status != http.StatusOK && r.status != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d, want 200", r.status)
			}
		})
	}
	t.Run("JSON keys from variables", func(t *testing.T) {
		q := `query Q($w: ProcessInstanceArgument) { ProcessInstances(where: $w) { id } }`
		bad := s.post(q, map[string]any{"w": map[string]any{"variables": map[string]any{`a"b`: map[string]any{"equal": 1}}}})
		if bad.status != http.StatusOK || !strings.Contains(bad.errorText(), "quotes") {
			t.Fatalf("a key with a quote: %d %s", bad.status, bad.raw)
		}
		// Anything else in a key is a value bound to the statement, never SQL.
		odd := s.post(q, map[string]any{"w": map[string]any{"variables": map[string]any{`x'); DROP TABLE orchestrator_instances; --`: map[string]any{"equal": 1}}}})
		if odd.status != http.StatusOK || len(odd.Errors) > 0 || string(odd.Data["ProcessInstances"]) != "[]" {
			t.Fatalf("an odd key: %d %s", odd.status, odd.raw)
		}
		var n int
		s.ok(`{ CountProcessInstances }`, nil, "CountProcessInstances", &n)
		if n != len(s.ids) {
			t.Fatalf("%d instances left", n)
		}
	})
	t.Run("classification", func(t *testing.T) {
		r := s.post(`{ ProcessInstances(pagination: {limit: 1000000}) { id } }`, nil)
		if len(r.Errors) != 1 || r.Errors[0].Extensions["classification"] != "DataFetchingException" || fmt.Sprint(r.Errors[0].Path) != "[ProcessInstances]" {
			t.Fatalf("a failed field: %s", r.raw)
		}
	})
	t.Run("mutation over GET", func(t *testing.T) {
		r := s.send(http.MethodGet, "/graphql?query="+url.QueryEscape(`mutation { ProcessInstanceAbort(id: "`+s.ids["approval"]+`") }`), "", nil)
		if len(r.Errors) == 0 {
			t.Fatalf("a GET ran a mutation: %d %s", r.status, r.raw)
		}
	})
}

// TestMutations runs the Data Index operations against real instances.
func TestMutations(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		s := startServer(t, pg)
		state := func(id string) string {
			var list []instance
			s.ok(`{ ProcessInstances(where: {id: {equal: "`+id+`"}}) { state } }`, nil, "ProcessInstances", &list)
			return list[0].State
		}
		var msg string
		s.ok(`mutation { ProcessInstanceAbort(id: "`+s.ids["approval"]+`") }`, nil, "ProcessInstanceAbort", &msg)
		if got := state(s.ids["approval"]); got != "ABORTED" {
			t.Fatalf("after abort: %s", got)
		}
		s.bad(`mutation { ProcessInstanceAbort(id: "`+s.ids["approval"]+`") }`, "")

		// Retrying the failed order fails again the same way (its input
		// is still invalid), which is the runtime's answer, not an error.
		s.ok(`mutation { ProcessInstanceRetry(id: "`+s.ids["order"]+`") }`, nil, "ProcessInstanceRetry", &msg)
		if got := state(s.ids["order"]); got != "ERROR" {
			t.Fatalf("after retry: %s", got)
		}
		s.ok(`mutation { ProcessInstanceUpdateVariables(id: "`+s.ids["order"]+`", variables: "{\"workflowdata\": {\"quantity\": 0, \"note\": \"fixed\"}}") }`, nil, "ProcessInstanceUpdateVariables", &msg)
		var list []instance
		s.ok(`{ ProcessInstances(where: {variables: {workflowdata: {note: {equal: "fixed"}}}}) { id } }`, nil, "ProcessInstances", &list)
		if len(list) != 1 || list[0].ID != s.ids["order"] {
			t.Fatalf("after update: %+v", list)
		}

		var jobs []struct{ ID string }
		s.ok(`{ Jobs(where: {processId: {equal: "reminder"}}) { id } }`, nil, "Jobs", &jobs)
		if len(jobs) != 1 {
			t.Fatalf("jobs %+v", jobs)
		}
		s.ok(`mutation { JobReschedule(id: "`+jobs[0].ID+`", data: "{\"expirationTime\": \"2999-01-01T00:00:00Z\"}") }`, nil, "JobReschedule", &msg)
		var rescheduled []struct{ ExpirationTime string }
		s.ok(`{ Jobs(where: {id: {equal: "`+jobs[0].ID+`"}}) { expirationTime } }`, nil, "Jobs", &rescheduled)
		if len(rescheduled) != 1 || !strings.HasPrefix(rescheduled[0].ExpirationTime, "2999-01-01T00:00:00") {
			t.Fatalf("rescheduled %+v", rescheduled)
		}
		s.ok(`mutation { JobCancel(id: "`+jobs[0].ID+`") }`, nil, "JobCancel", &msg)
		var n int
		s.ok(`{ CountJobs(where: {processId: {equal: "reminder"}}) }`, nil, "CountJobs", &n)
		if n != 0 {
			t.Fatalf("jobs after cancel: %d", n)
		}
		s.bad(`mutation { NodeInstanceCancel(id: "`+s.ids["reminder"]+`", nodeInstanceId: "1") }`, "not supported")
		s.bad(`mutation { NodeInstanceTrigger(id: "`+s.ids["reminder"]+`", nodeId: "NoSuchState") }`, "not found")

		// The reminder, its timer cancelled, is moved on to its last state.
		s.ok(`mutation { NodeInstanceTrigger(id: "`+s.ids["reminder"]+`", nodeId: "Remind") }`, nil, "NodeInstanceTrigger", &msg)
		if got := state(s.ids["reminder"]); got != "COMPLETED" {
			t.Fatalf("after triggering Remind: %s", got)
		}
		// The failed order skips the state that failed, which ends it.
		s.ok(`mutation { ProcessInstanceSkip(id: "`+s.ids["order"]+`") }`, nil, "ProcessInstanceSkip", &msg)
		if got := state(s.ids["order"]); got != "COMPLETED" {
			t.Fatalf("after skip: %s", got)
		}
		s.bad(`mutation { ProcessInstanceRetry(id: "`+s.ids["order"]+`") }`, "")
	})
}

// TestSubFlows: parents and children load in batches, nested both ways.
func TestSubFlows(t *testing.T) {
	each(t, func(t *testing.T, pg bool) {
		dir := t.TempDir()
		files := map[string]string{
			"caller.sw.yaml": "id: caller\nversion: \"1.0\"\nspecVersion: \"0.8\"\nname: Caller\nstart: Call\nstates:\n  - name: Call\n    type: operation\n    actions:\n      - subFlowRef: callee\n      - subFlowRef: callee\n    end: true\n",
			"callee.sw.yaml": "id: callee\nversion: \"1.0\"\nspecVersion: \"0.8\"\nname: Callee\nstart: Done\nstates:\n  - name: Done\n    type: inject\n    data: {callee: done}\n    end: true\n",
		}
		for name, src := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		inst := apptest.Start(t, apptest.Options{Postgres: pg, Config: fmt.Sprintf(`
orchestrator:
  workflows: [%q]
  runtimeApi: {allowUnauthenticated: true}
  pollInterval: 20ms
`, dir)})
		s := &server{Instance: inst, t: t, ids: map[string]string{}}
		var parents []string
		for range 2 {
			parents = append(parents, s.start("caller", `{}`))
		}
		type node struct {
			ID                      string  `json:"id"`
			ProcessID               string  `json:"processId"`
			State                   string  `json:"state"`
			ParentProcessInstanceID *string `json:"parentProcessInstanceId"`
			RootProcessInstanceID   *string `json:"rootProcessInstanceId"`
			RootProcessID           *string `json:"rootProcessId"`
			ParentProcessInstance   *node   `json:"parentProcessInstance"`
			ChildProcessInstances   []node  `json:"childProcessInstances"`
		}
		deadline := time.Now().Add(10 * time.Second)
		var list []node
		for {
			s.ok(`{ ProcessInstances(where: {processId: {equal: "caller"}}, orderBy: {start: ASC}) { id state rootProcessInstanceId
				childProcessInstances { id processId parentProcessInstanceId rootProcessInstanceId rootProcessId
					parentProcessInstance { id processId childProcessInstances { id } } } } }`, nil, "ProcessInstances", &list)
			done := len(list) == 2
			for _, p := range list {
				done = done && p.State == "COMPLETED"
			}
			if done || time.Now().After(deadline) {
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if len(list) != 2 {
			t.Fatalf("callers %+v", list)
		}
		for i, p := range list {
			if p.ID != parents[i] || p.State != "COMPLETED" || p.RootProcessInstanceID != nil {
				t.Fatalf("caller %d: %+v", i, p)
			}
			if len(p.ChildProcessInstances) != 2 {
				t.Fatalf("caller %s has children %+v", p.ID, p.ChildProcessInstances)
			}
			for _, c := range p.ChildProcessInstances {
				if c.ProcessID != "callee" || c.ParentProcessInstanceID == nil || *c.ParentProcessInstanceID != p.ID ||
					c.RootProcessInstanceID == nil || *c.RootProcessInstanceID != p.ID || c.RootProcessID == nil || *c.RootProcessID != "caller" {
					t.Fatalf("child %+v of %s", c, p.ID)
				}
				if c.ParentProcessInstance == nil || c.ParentProcessInstance.ID != p.ID || len(c.ParentProcessInstance.ChildProcessInstances) != 2 {
					t.Fatalf("child's parent %+v", c.ParentProcessInstance)
				}
			}
		}
		var children []node
		s.ok(`{ ProcessInstances(where: {rootProcessInstanceId: {equal: "`+parents[1]+`"}}) { id parentProcessInstance { id } } }`, nil, "ProcessInstances", &children)
		if len(children) != 2 || children[0].ParentProcessInstance == nil || children[0].ParentProcessInstance.ID != parents[1] {
			t.Fatalf("children of %s: %+v", parents[1], children)
		}
		var n int
		s.ok(`{ CountProcessInstances(where: {parentProcessInstanceId: {isNull: false}}) }`, nil, "CountProcessInstances", &n)
		if n != 4 {
			t.Fatalf("%d children", n)
		}
	})
}
