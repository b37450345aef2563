package dataindex_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/app/apptest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// TestIntrospectionGolden keeps the input types the plugin introspects
// exactly as they are: the answer to its introspection query for each
// argument type is compared with testdata/<type>.json. A change to the
// schema that a Data Index client would notice shows up as a diff (run
// with -update to accept it).
func TestIntrospectionGolden(t *testing.T) {
	s := &server{Instance: apptest.Start(t, apptest.Options{Config: `
orchestrator:
  workflows: []
  runtimeApi: {allowUnauthenticated: true}
`}), t: t}
	for _, typ := range []string{"ProcessInstanceArgument", "ProcessDefinitionArgument", "JobArgument", "ProcessInstanceOrderBy",
		"StringArgument", "IdArgument", "DateArgument", "ProcessInstanceStateArgument", "NodeInstanceArrayArgument"} {
		t.Run(typ, func(t *testing.T) {
			r := s.post(`query `+typ+` { __type(name: "`+typ+`") { kind name inputFields { name type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }`, nil)
			if r.status != http.StatusOK || len(r.Errors) > 0 {
				t.Fatalf("status %d: %s", r.status, r.raw)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, r.Data["__type"], "", "  "); err != nil {
				t.Fatal(err)
			}
			pretty.WriteByte('\n')
			path := filepath.Join("testdata", typ+".json")
			if *update {
				if err := os.WriteFile(path, pretty.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if !bytes.Equal(pretty.Bytes(), want) {
				t.Fatalf("introspection of %s differs from %s:\n%s", typ, path, pretty.String())
			}
		})
	}
}

// TestNeedsCredentials: without orchestrator.runtimeApi.allowUnauthenticated
// the Data Index asks for Portico credentials, like the runtime API, on
// the main port, and answers without them on the runtime API's own port.
func TestNeedsCredentials(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Config: `
backend:
  auth:
    externalAccess:
      - type: static
        options: {token: test-token-0123456789, subject: tests}
orchestrator:
  workflows: ["embedded:workflows"]
  runtimeApi:
    listen: {host: 127.0.0.1, port: 0}
`})
	status := func(base, token string) int {
		req, _ := http.NewRequest(http.MethodPost, base+"/graphql", strings.NewReader(`{"query": "{ CountProcessInstances }"}`))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := status(inst.URL, ""); got != http.StatusUnauthorized {
		t.Errorf("main port without a token: %d", got)
	}
	if got := status(inst.URL, "test-token-0123456789"); got != http.StatusOK {
		t.Errorf("main port with a token: %d", got)
	}
	port := inst.App.Env().Port("orchestrator.runtimeApi.listen")
	if port == nil || port.Addr() == nil {
		t.Fatal("the runtime API port is not listening")
	}
	if got := status("http://"+port.Addr().String(), ""); got != http.StatusOK {
		t.Errorf("runtime port without a token: %d", got)
	}
}

// TestFullIntrospection: the introspection query GraphQL tools send
// (GraphiQL, code generators) passes the depth and complexity limits.
func TestFullIntrospection(t *testing.T) {
	s := &server{Instance: apptest.Start(t, apptest.Options{Config: `
orchestrator:
  workflows: []
  runtimeApi: {allowUnauthenticated: true}
`}), t: t}
	q := `query IntrospectionQuery { __schema { queryType { name } mutationType { name } subscriptionType { name }
  types { ...FullType } directives { name description locations args { ...InputValue } } } }
fragment FullType on __Type { kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue } interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason } possibleTypes { ...TypeRef } }
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } } }`
	var schema struct {
		QueryType struct{ Name string }
		Types     []struct{ Name string }
	}
	s.ok(q, nil, "__schema", &schema)
	names := map[string]bool{}
	for _, ty := range schema.Types {
		names[ty.Name] = true
	}
	if schema.QueryType.Name != "Query" || !names["ProcessInstance"] || !names["ProcessInstanceArgument"] || !names["JSON"] || !names["DateTime"] {
		t.Fatalf("schema: query type %q, %d types", schema.QueryType.Name, len(schema.Types))
	}
}
