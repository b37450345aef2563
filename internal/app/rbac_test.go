package app_test

import (
	"context"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/auth"
)

const rbacCatalog = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: platform}
spec: {type: department, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, parent: platform, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: checkout}
spec: {type: service, lifecycle: production, owner: team-a}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-b}
spec: {type: team, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: carol}
spec: {memberOf: [team-b]}
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: billing}
spec: {type: service, lifecycle: production, owner: team-b}
`

// rbacConditional lets owners read what their groups own.
const rbacConditional = `result: CONDITIONAL
roleEntityRef: role:default/owners
pluginId: catalog
resourceType: catalog-entity
permissionMapping: [read]
conditions:
  rule: IS_ENTITY_OWNER
  resourceType: catalog-entity
  params: {claims: [$ownerRefs]}
`

const rbacPolicy = `p, role:default/readers, catalog-entity, read, allow
g, group:default/platform, role:default/readers
p, role:default/registrars, catalog.location.create, create, allow
g, user:default/bob, role:default/registrars
g, group:default/team-b, role:default/owners
`

// TestRBAC runs a server with permission.rbac: roles come from the policy
// file and reach users through the catalog's groups and their parents;
// the policy file is reloaded when it changes.
func TestRBAC(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, pg bool) {
		cfg, dir := rbacSetup(t, map[string]string{"conditional-policies.yaml": rbacConditional}, `    conditionalPoliciesFile: $DIR/conditional-policies.yaml
    policyFileReload: true
    admin:
      users: [{name: user:default/dave}]
      superUsers: [{name: user:default/root}]
`)
		policy := filepath.Join(dir, "rbac-policy.csv")
		inst := apptest.Start(t, apptest.Options{Postgres: pg, Config: cfg})
		token := func(user string) string { return userToken(t, inst, user) }
		alice, bob, dave, root := token("user:default/alice"), token("user:default/bob"), token("user:default/dave"), token("user:default/root")
		checkout := "/api/catalog/entities/by-name/component/default/checkout"
		waitStatus(t, inst.URL+checkout, root, http.StatusOK)

		run(t, inst.URL, scenario{name: "role of a parent group", path: checkout, token: alice, wantStatus: 200, wantBody: []string{`"name":"checkout"`}})
		// Without a role the catalog looks empty, as in Backstage.
		run(t, inst.URL, scenario{name: "no role", path: checkout, token: bob, wantStatus: 404})
		run(t, inst.URL, scenario{path: "/api/catalog/entities", token: bob, wantStatus: 200, wantBody: []string{`[]`}})
		run(t, inst.URL, scenario{path: "/api/catalog/entities/by-query", token: bob, wantStatus: 200, wantBody: []string{`{"items":[],"pageInfo":{},"totalItems":0}`}})
		run(t, inst.URL, scenario{path: "/api/catalog/entity-facets?facet=kind", token: bob, wantStatus: 200, wantBody: []string{`{"facets":{"kind":[]}}`}})
		run(t, inst.URL, scenario{path: "/api/catalog/entity-facets?facet=kind", token: alice, wantStatus: 200, wantBody: []string{`{"value":"Component","count":2}`}})
		run(t, inst.URL, scenario{method: "POST", path: "/api/permission/authorize", token: bob, wantStatus: 200,
			body:     `{"items":[{"id":"1","permission":{"type":"basic","name":"catalog.location.create","attributes":{"action":"create"}}},{"id":"2","permission":{"type":"resource","name":"catalog.entity.read","resourceType":"catalog-entity","attributes":{"action":"read"}}}]}`,
			wantBody: []string{`{"id":"1","result":"ALLOW"}`, `{"id":"2","result":"DENY"}`}})

		// Carol reads what her group owns, and nothing else.
		carol := token("user:default/carol")
		billing := "/api/catalog/entities/by-name/component/default/billing"
		waitStatus(t, inst.URL+billing, carol, http.StatusOK)
		run(t, inst.URL, scenario{path: checkout, token: carol, wantStatus: 404})
		run(t, inst.URL, scenario{path: "/api/catalog/entities?filter=kind=component&fields=metadata.name", token: carol, wantStatus: 200,
			wantBody: []string{`[{"metadata":{"name":"billing"}}]`}})
		run(t, inst.URL, scenario{path: "/api/catalog/entities/by-query?filter=kind=component&fields=metadata.name", token: carol, wantStatus: 200,
			wantBody: []string{`"items":[{"metadata":{"name":"billing"}}]`, `"totalItems":1`}})
		run(t, inst.URL, scenario{path: "/api/catalog/entity-facets?facet=kind", token: carol, wantStatus: 200, wantBody: []string{`{"facets":{"kind":[{"value":"Component","count":1}]}}`}})
		run(t, inst.URL, scenario{method: "POST", path: "/api/catalog/entities/by-refs", token: carol, wantStatus: 200,
			body: `{"entityRefs":["component:default/checkout","component:default/billing"],"fields":["metadata.name"]}`, wantBody: []string{`{"items":[null,{"metadata":{"name":"billing"}}]}`}})
		resource := func(ref string) string {
			return `{"items":[{"id":"1","permission":{"type":"resource","name":"catalog.entity.read","resourceType":"catalog-entity","attributes":{"action":"read"}}` + ref + `}]}`
		}
		run(t, inst.URL, scenario{method: "POST", path: "/api/permission/authorize", token: carol, body: resource(""), wantStatus: 200, wantBody: []string{
			`{"id":"1","result":"CONDITIONAL","pluginId":"catalog","resourceType":"catalog-entity","conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["user:default/carol","group:default/team-b"]}}}`}})
		run(t, inst.URL, scenario{method: "POST", path: "/api/permission/authorize", token: carol, body: resource(`,"resourceRef":"component:default/billing"`),
			wantStatus: 200, wantBody: []string{`"result":"ALLOW"`}})
		run(t, inst.URL, scenario{method: "POST", path: "/api/permission/authorize", token: carol, body: resource(`,"resourceRef":"component:default/checkout"`),
			wantStatus: 200, wantBody: []string{`"result":"DENY"`}})

		// The RBAC API, for admins only.
		run(t, inst.URL, scenario{path: "/api/permission/roles", token: bob, wantStatus: 403})
		run(t, inst.URL, scenario{path: "/api/permission/roles", token: dave, wantStatus: 200, wantBody: []string{
			`{"name":"role:default/rbac_admin","memberReferences":["user:default/dave"],"metadata":{"source":"configuration"}}`,
			`{"name":"role:default/readers","memberReferences":["group:default/platform"],"metadata":{"source":"csv-file"}}`}})
		run(t, inst.URL, scenario{path: "/api/permission/roles/role/role/default/registrars", token: dave, wantStatus: 200,
			wantBody: []string{`[{"name":"role:default/registrars","memberReferences":["user:default/bob"]`}})
		run(t, inst.URL, scenario{path: "/api/permission/roles/role/role/default/nope", token: dave, wantStatus: 404})
		run(t, inst.URL, scenario{path: "/api/permission/roles/conditions?roleEntityRef=role:default/owners", token: dave, wantStatus: 200, wantBody: []string{
			`[{"result":"CONDITIONAL","roleEntityRef":"role:default/owners","pluginId":"catalog","resourceType":"catalog-entity","permissionMapping":["read"],"conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["$ownerRefs"]}}}]`}})
		run(t, inst.URL, scenario{path: "/api/permission/policies/role/role/default/readers", token: dave, wantStatus: 200,
			wantBody: []string{`[{"entityReference":"role:default/readers","permission":"catalog-entity","policy":"read","effect":"allow","metadata":{"source":"csv-file"}}]`}})

		// Editing the file gives bob the readers role; a broken edit
		// after that changes nothing.
		if err := os.WriteFile(policy, []byte(rbacPolicy+"g, user:default/bob, role:default/readers\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		waitStatus(t, inst.URL+checkout, bob, http.StatusOK)
		run(t, inst.URL, scenario{method: "DELETE", path: "/api/catalog/entities/by-uid/x", token: bob, wantStatus: 403, wantBody: []string{"catalog.entity.delete denied"}})
		if err := os.WriteFile(policy, []byte("p, role:default/readers\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2500 * time.Millisecond) // one reload interval and then some
		run(t, inst.URL, scenario{path: checkout, token: bob, wantStatus: 200})
	})
}

// waitStatus polls url with token until it answers status (10 s at most).
func waitStatus(t *testing.T, url, token string, status int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		req, _ := http.NewRequest(http.MethodGet, url, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still answers %d, want %d", url, resp.StatusCode, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkRBACDecide is one permission decision of a user whose role
// comes through a parent group, with the groups read from a running
// catalog (SQLite).
func BenchmarkRBACDecide(b *testing.B) {
	cfg, _ := rbacSetup(b, nil, "")
	inst := apptest.Start(b, apptest.Options{Config: cfg})
	env := inst.App.Env()
	alice := auth.Principal{Type: auth.TypeUser, Subject: "user:default/alice"}
	req := auth.Request{Permission: auth.Permission{Name: "catalog.entity.read", Action: "read", ResourceType: "catalog-entity"}}
	ctx := context.Background()
	deadline := time.Now().Add(10 * time.Second)
	for {
		d, err := env.Permissions.Decide(ctx, alice, req)
		if err != nil {
			b.Fatal(err)
		}
		if d == auth.Allow {
			break
		}
		if time.Now().After(deadline) {
			b.Fatal("alice never gets her group's role")
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.ReportAllocs()
	for b.Loop() {
		if d, err := env.Permissions.Decide(ctx, alice, req); err != nil || d != auth.Allow {
			b.Fatalf("Decide = %v, %v", d, err)
		}
	}
}

// TestRBACRestAPI changes roles and policies through the REST API: the
// replica that took the change applies it at once, another replica on the
// same database within its next check, and roles from the policy file
// stay read-only.
func TestRBACRestAPI(t *testing.T) {
	forEachDatabase(t, func(t *testing.T, pg bool) {
		cfg, _ := rbacSetup(t, nil, "    admin: {users: [{name: user:default/dave}], superUsers: [{name: user:default/root}]}\n")
		a := apptest.Start(t, apptest.Options{Postgres: pg, Config: cfg})
		replicas := []*apptest.Instance{a}
		if pg {
			replicas = append(replicas, apptest.Start(t, apptest.Options{PostgresDSN: a.App.Env().DB.PostgresDSN(), Config: cfg}))
		}
		token := func(user string) string { return userToken(t, a, user) }
		bob, dave, root := token("user:default/bob"), token("user:default/dave"), token("user:default/root")
		checkout := "/api/catalog/entities/by-name/component/default/checkout"
		for _, r := range replicas {
			waitStatus(t, r.URL+checkout, root, http.StatusOK)
			run(t, r.URL, scenario{path: checkout, token: bob, wantStatus: 404})
		}

		role := `{"name":"role:default/viewers","memberReferences":["user:default/bob"],"metadata":{"description":"reads the catalog"}}`
		read := `{"entityReference":"role:default/viewers","permission":"catalog-entity","policy":"read","effect":"allow"}`
		for _, sc := range []scenario{
			{name: "not an admin", method: "POST", path: "/api/permission/roles", token: bob, body: role, wantStatus: 403},
			{name: "create", method: "POST", path: "/api/permission/roles", token: dave, body: role, wantStatus: 201},
			{name: "again", method: "POST", path: "/api/permission/roles", token: dave, body: role, wantStatus: 409, wantBody: []string{"a role named role:default/viewers already exists"}},
			{name: "a role of the policy file", method: "POST", path: "/api/permission/roles", token: dave, wantStatus: 403,
				body: `{"name":"role:default/readers","memberReferences":["user:default/bob"]}`, wantBody: []string{"role:default/readers is defined in the policy file; change it there"}},
			{name: "bad member", method: "POST", path: "/api/permission/roles", token: dave, wantStatus: 400,
				body: `{"name":"role:default/x","memberReferences":["component:default/a"]}`, wantBody: []string{`memberReferences[0]: \"component:default/a\" is not a user or group ref`}},
			{name: "no members", method: "POST", path: "/api/permission/roles", token: dave, wantStatus: 400,
				body: `{"name":"role:default/x","memberReferences":[]}`, wantBody: []string{"memberReferences: empty"}},
			{name: "policy of an unknown role", method: "POST", path: "/api/permission/policies", token: dave, wantStatus: 404,
				body: `[{"entityReference":"role:default/nope","permission":"catalog-entity","policy":"read","effect":"allow"}]`, wantBody: []string{"role:default/nope was not found; create the role first"}},
			{name: "bad action", method: "POST", path: "/api/permission/policies", token: dave, wantStatus: 400,
				body: `[{"entityReference":"role:default/viewers","permission":"catalog-entity","policy":"write","effect":"allow"}]`, wantBody: []string{`[0]: unknown action \"write\"`}},
			{name: "policy", method: "POST", path: "/api/permission/policies", token: dave, body: "[" + read + "]", wantStatus: 201},
			{name: "listed", path: "/api/permission/roles/role/role/default/viewers", token: dave, wantStatus: 200,
				wantBody: []string{`[{"name":"role:default/viewers","memberReferences":["user:default/bob"],"metadata":{"source":"rest","description":"reads the catalog"}}]`}},
			{name: "its policies", path: "/api/permission/policies/role/role/default/viewers", token: dave, wantStatus: 200,
				wantBody: []string{`[{"entityReference":"role:default/viewers","permission":"catalog-entity","policy":"read","effect":"allow","metadata":{"source":"rest"}}]`}},
		} {
			t.Run(sc.name, func(t *testing.T) { run(t, a.URL, sc) })
		}
		for _, r := range replicas {
			waitStatus(t, r.URL+checkout, bob, http.StatusOK)
		}

		// Replacing the policy with a deny takes the access away again.
		run(t, a.URL, scenario{method: "PUT", path: "/api/permission/policies/role/default/viewers", token: dave, wantStatus: 200,
			body: `{"oldPolicy":[` + read + `],"newPolicy":[{"entityReference":"role:default/viewers","permission":"catalog-entity","policy":"read","effect":"deny"}]}`})
		for _, r := range replicas {
			waitStatus(t, r.URL+checkout, bob, http.StatusNotFound)
		}
		run(t, a.URL, scenario{method: "PUT", path: "/api/permission/policies/role/default/viewers", token: dave, wantStatus: 404,
			body: `{"oldPolicy":[` + read + `],"newPolicy":[` + read + `]}`, wantBody: []string{"role:default/viewers has no policy allow read catalog-entity"}})

		// Renaming keeps the policies; deleting removes the role.
		run(t, a.URL, scenario{method: "PUT", path: "/api/permission/roles/role/role/default/viewers", token: dave, wantStatus: 200,
			body: `{"name":"role:default/watchers","memberReferences":["user:default/bob","user:default/alice"]}`})
		run(t, a.URL, scenario{path: "/api/permission/policies/role/role/default/watchers", token: dave, wantStatus: 200, wantBody: []string{`"effect":"deny"`}})
		run(t, a.URL, scenario{method: "DELETE", path: "/api/permission/policies/role/default/watchers", token: dave, wantStatus: 204,
			body: `[{"entityReference":"role:default/watchers","permission":"catalog-entity","policy":"read","effect":"deny"}]`})
		run(t, a.URL, scenario{path: "/api/permission/policies/role/role/default/watchers", token: dave, wantStatus: 404})
		// Replacing the members keeps the name and the policies.
		run(t, a.URL, scenario{method: "PUT", path: "/api/permission/roles/role/role/default/watchers", token: dave, wantStatus: 200,
			body: `{"name":"role:default/watchers","memberReferences":["user:default/alice","user:default/bob"],"metadata":{"description":"watch"}}`})
		run(t, a.URL, scenario{path: "/api/permission/roles/role/role/default/watchers", token: dave, wantStatus: 200,
			wantBody: []string{`"memberReferences":["user:default/alice","user:default/bob"],"metadata":{"source":"rest","description":"watch"}`}})
		run(t, a.URL, scenario{method: "PUT", path: "/api/permission/roles/role/role/default/nobody", token: dave, wantStatus: 404,
			body: `{"name":"role:default/nobody","memberReferences":["user:default/bob"]}`})
		run(t, a.URL, scenario{method: "DELETE", path: "/api/permission/roles/role/role/default/watchers?memberReferences=user:default/alice", token: dave, wantStatus: 204})
		run(t, a.URL, scenario{path: "/api/permission/roles/role/role/default/watchers", token: dave, wantStatus: 200, wantBody: []string{`"memberReferences":["user:default/bob"]`}})
		run(t, a.URL, scenario{method: "DELETE", path: "/api/permission/roles/role/role/default/watchers", token: dave, wantStatus: 204})
		run(t, a.URL, scenario{path: "/api/permission/roles/role/role/default/watchers", token: dave, wantStatus: 404})
		run(t, a.URL, scenario{path: "/api/permission/policies/role/role/default/watchers", token: dave, wantStatus: 404})
		run(t, a.URL, scenario{method: "DELETE", path: "/api/permission/roles/role/role/default/readers", token: dave, wantStatus: 403})

		// A conditional policy made through the API: bob reads what he
		// owns, on every replica.
		run(t, a.URL, scenario{method: "POST", path: "/api/permission/roles", token: dave, wantStatus: 201,
			body: `{"name":"role:default/self","memberReferences":["user:default/bob"]}`})
		ownCond := `{"result":"CONDITIONAL","roleEntityRef":"role:default/self","pluginId":"catalog","resourceType":"catalog-entity","permissionMapping":["read"],` +
			`"conditions":{"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["$currentUser"]}}}`
		run(t, a.URL, scenario{method: "POST", path: "/api/permission/roles/conditions", token: dave, body: ownCond, wantStatus: 201, wantBody: []string{`{"id":1}`}})
		run(t, a.URL, scenario{method: "POST", path: "/api/permission/roles/conditions", token: dave, wantStatus: 400,
			body: strings.Replace(ownCond, "IS_ENTITY_OWNER", "IS_FRIEND", 1), wantBody: []string{`conditional policy of role:default/self on catalog-entity: conditions.rule: \"IS_FRIEND\" is not a rule of catalog-entity`}})
		run(t, a.URL, scenario{path: "/api/permission/roles/conditions/1", token: dave, wantStatus: 200, wantBody: []string{`"id":1`, `"$currentUser"`}})
		// The billing component is owned by a team, so bob still sees
		// nothing; owning it by the team's member list is not ownership.
		for _, r := range replicas {
			waitStatus(t, r.URL+checkout, bob, http.StatusNotFound)
		}
		run(t, a.URL, scenario{method: "PUT", path: "/api/permission/roles/conditions/1", token: dave, wantStatus: 200,
			body: strings.Replace(ownCond, `"rule":"IS_ENTITY_OWNER","resourceType":"catalog-entity","params":{"claims":["$currentUser"]}`, `"rule":"IS_ENTITY_KIND","resourceType":"catalog-entity","params":{"kinds":["component"]}`, 1)})
		for _, r := range replicas {
			waitStatus(t, r.URL+checkout, bob, http.StatusOK)
			run(t, r.URL, scenario{path: "/api/catalog/entities/by-name/user/default/alice", token: bob, wantStatus: 404})
		}
		run(t, a.URL, scenario{method: "DELETE", path: "/api/permission/roles/conditions/1", token: dave, wantStatus: 204})
		run(t, a.URL, scenario{method: "DELETE", path: "/api/permission/roles/conditions/1", token: dave, wantStatus: 404})
		run(t, a.URL, scenario{path: "/api/permission/roles/conditions/x", token: dave, wantStatus: 400})
		for _, r := range replicas {
			waitStatus(t, r.URL+checkout, bob, http.StatusNotFound)
		}
	})
}

// forEachDatabase runs fn on SQLite and on PostgreSQL.
func forEachDatabase(t *testing.T, fn func(t *testing.T, pg bool)) {
	for _, pg := range []bool{false, true} {
		name := "sqlite"
		if pg {
			name = "postgres"
		}
		t.Run(name, func(t *testing.T) { fn(t, pg) })
	}
}

// rbacSetup writes the test organisation and policy file (plus the named
// extra files) into a new directory and returns the configuration that
// loads them, with rbac keys (YAML lines indented for permission.rbac,
// where $DIR is the directory) added.
func rbacSetup(t testing.TB, extraFiles map[string]string, rbacKeys string) (cfg, dir string) {
	t.Helper()
	dir = t.TempDir()
	files := map[string]string{"rbac-policy.csv": rbacPolicy, "org.yaml": rbacCatalog}
	maps.Copy(files, extraFiles)
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return `
catalog:
  rules: [{allow: [Component, Group, User, Location]}]
  locations: [{type: file, target: ` + filepath.Join(dir, "org.yaml") + `}]
permission:
  enabled: true
  rbac:
    policies-csv-file: ` + filepath.Join(dir, "rbac-policy.csv") + `
` + strings.ReplaceAll(rbacKeys, "$DIR", dir), dir
}

// userToken issues a token for user on inst.
func userToken(t testing.TB, inst *apptest.Instance, user string) string {
	t.Helper()
	tok, _, err := inst.App.Env().Tokens.Issue(context.Background(), user, []string{user})
	if err != nil {
		t.Fatal(err)
	}
	return tok
}
