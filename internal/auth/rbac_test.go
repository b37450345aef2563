package auth

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParsePolicyCSVErrors(t *testing.T) {
	tests := []struct {
		name, csv, want string
	}{
		{"unknown line type", "x, role:default/a, catalog-entity, read, allow", `line 1: starts with "x"`},
		{"short policy", "p, role:default/a, catalog-entity, read", "line 1: a policy has 5 fields, got 4"},
		{"role not a role", "p, user:default/a, catalog-entity, read, allow", `role: "user:default/a" is not a role ref; write it as role:default/<name>`},
		{"unknown action", "p, role:default/a, catalog-entity, write, allow", `unknown action "write"`},
		{"unknown effect", "p, role:default/a, catalog-entity, read, maybe", `unknown effect "maybe"`},
		{"empty permission", "p, role:default/a, , read, allow", "the permission is empty"},
		{"conflict", "p, role:default/a, catalog-entity, read, allow\n\np, role:default/a, catalog-entity, read, deny", "line 3: role:default/a read on catalog-entity was already allowed on line 1"},
		{"assignment fields", "g, user:default/a", "line 1: a role assignment has 3 fields, got 2"},
		{"assignment member", "g, component:default/a, role:default/r", `member: "component:default/a" is not a user or group ref`},
		{"assignment role", "g, user:default/a, group:default/r", `role: "group:default/r" is not a role ref`},
		{"empty name", "g, user:default/, role:default/r", `"user:default/" is not a user or group ref`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ParsePolicyCSV(strings.NewReader(tt.csv))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestParsePolicyCSV(t *testing.T) {
	lines, assignments, err := ParsePolicyCSV(strings.NewReader(`# comment
p, role:default/Dev, catalog-entity, READ, allow
p, role:default/dev, catalog-entity, read, allow
p, role:dev, scaffolder.task.create, create, deny

g, User:default/Alice, role:default/dev
g, group:team-a, role:default/dev
g, user:default/alice, role:default/dev
`))
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 2 || lines[0] != (PolicyLine{Role: "role:default/dev", Permission: "catalog-entity", Action: "read", Effect: "allow", Source: "csv-file", line: 2}) ||
		lines[1].Role != "role:default/dev" || lines[1].Effect != "deny" {
		t.Errorf("lines %+v", lines)
	}
	want := [][2]string{{"user:default/alice", "role:default/dev"}, {"group:default/team-a", "role:default/dev"}}
	if len(assignments) != 2 || assignments[0] != want[0] || assignments[1] != want[1] {
		t.Errorf("assignments %v, want %v", assignments, want)
	}
}

const testPolicy = `p, role:default/readers, catalog-entity, read, allow
p, role:default/readers, scaffolder-template, read, allow
p, role:default/restricted, catalog-entity, read, allow
p, role:default/restricted, catalog.entity.delete, delete, deny
p, role:default/restricted, catalog-entity, delete, allow
p, role:default/runners, orchestrator.workflow.use.greeting, update, allow
p, role:default/runners, scaffolder.template.dry-run, use, allow
p, role:default/denied, catalog-entity, read, deny
g, group:default/team-a, role:default/readers
g, user:default/bob, role:default/restricted
g, user:default/carol, role:default/runners
g, group:default/outsiders, role:default/denied
`

func testRBAC(t *testing.T, policy string, cfg RBACConfig) *RBAC {
	t.Helper()
	cfg.PoliciesCSVFile = filepath.Join(t.TempDir(), "rbac.csv")
	if err := os.WriteFile(cfg.PoliciesCSVFile, []byte(policy), 0o600); err != nil {
		t.Fatal(err)
	}
	groups := map[string][]string{
		"user:default/alice": {"group:default/team-a"},
		"user:default/erin":  {"group:default/team-a", "group:default/outsiders"},
	}
	r, err := NewRBAC(context.Background(), cfg, nil, func(_ context.Context, user string, _ int) ([]string, error) { return groups[user], nil },
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func user(ref string) Principal { return Principal{Type: TypeUser, Subject: ref} }

func TestRBACDecisions(t *testing.T) {
	var cfg RBACConfig
	cfg.Admin.Users = []EntityRefItem{{Name: "user:default/dave"}}
	cfg.Admin.SuperUsers = []EntityRefItem{{Name: "user:default/root"}}
	r := testRBAC(t, testPolicy, cfg)
	read := Permission{Name: "catalog.entity.read", Action: "read", ResourceType: "catalog-entity"}
	del := Permission{Name: "catalog.entity.delete", Action: "delete", ResourceType: "catalog-entity"}
	refresh := Permission{Name: "catalog.entity.refresh", Action: "update", ResourceType: "catalog-entity"}
	tests := []struct {
		name string
		p    Principal
		perm Permission
		want Decision
	}{
		{"role through a group", user("user:default/alice"), read, Allow},
		{"user refs are case-insensitive", user("user:default/Alice"), read, Allow},
		{"no role", user("user:default/nobody"), read, Deny},
		{"resource type allows what it names", user("user:default/bob"), read, Allow},
		{"a line naming the permission wins over its resource type", user("user:default/bob"), del, Deny},
		{"another action on the resource type", user("user:default/bob"), refresh, Deny},
		{"a permission named with its id", user("user:default/carol"), Permission{Name: "orchestrator.workflow.use.greeting", Action: "update"}, Allow},
		{"another workflow", user("user:default/carol"), Permission{Name: "orchestrator.workflow.use.other", Action: "update"}, Deny},
		{"permission without an action is use", user("user:default/carol"), Permission{Name: "scaffolder.template.dry-run"}, Allow},
		{"deny in one role beats allow in another", user("user:default/erin"), read, Deny},
		{"super user", user("user:default/root"), del, Allow},
		{"admin reads policies", user("user:default/dave"), PermPolicyRead, Allow},
		{"admin reads the catalog", user("user:default/dave"), read, Allow},
		{"admin deletes no entities", user("user:default/dave"), del, Deny},
		{"others read no policies", user("user:default/alice"), PermPolicyRead, Deny},
		{"services are governed by their access restrictions", Principal{Type: TypeService, Subject: "ci"}, del, Allow},
		{"nobody", None, read, Deny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := NewPermissions(r).Decide(context.Background(), tt.p, Request{Permission: tt.perm})
			if err != nil || got != tt.want {
				t.Fatalf("Decide = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestRBACRoles(t *testing.T) {
	var cfg RBACConfig
	cfg.Admin.Users = []EntityRefItem{{Name: "user:default/dave"}}
	r := testRBAC(t, testPolicy, cfg)
	roles := r.Roles()
	var names []string
	for _, role := range roles {
		names = append(names, role.Name+"="+role.Source+":"+strings.Join(role.Members, "+"))
	}
	want := "role:default/denied=csv-file:group:default/outsiders role:default/rbac_admin=configuration:user:default/dave " +
		"role:default/readers=csv-file:group:default/team-a role:default/restricted=csv-file:user:default/bob role:default/runners=csv-file:user:default/carol"
	if got := strings.Join(names, " "); got != want {
		t.Errorf("roles\n%s\nwant\n%s", got, want)
	}
	if got := len(r.Policies("role:default/restricted")); got != 3 {
		t.Errorf("restricted has %d policies, want 3", got)
	}
	if got := len(r.Policies("")); got != 8+5 {
		t.Errorf("%d policies in all, want 13 (8 from the file, 5 for admins)", got)
	}
}

func TestNewRBACConfigErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("p, role:default/a, catalog-entity, read, allow\np, role:default/a, x"), 0o600); err != nil {
		t.Fatal(err)
	}
	depth := -1
	tests := []struct {
		name string
		cfg  func(*RBACConfig)
		want string
	}{
		{"missing file", func(c *RBACConfig) { c.PoliciesCSVFile = filepath.Join(dir, "none.csv") }, "permission.rbac.policies-csv-file: open"},
		{"bad line", func(c *RBACConfig) { c.PoliciesCSVFile = bad }, "bad.csv: line 2: a policy has 5 fields, got 3"},
		{"bad super user", func(c *RBACConfig) { c.Admin.SuperUsers = []EntityRefItem{{Name: "root"}} }, "permission.rbac.admin.superUsers[0].name"},
		{"bad admin", func(c *RBACConfig) { c.Admin.Users = []EntityRefItem{{Name: "role:default/x"}} }, "permission.rbac.admin.users[0].name"},
		{"negative depth", func(c *RBACConfig) { c.MaxDepth = &depth }, "permission.rbac.maxDepth: must be 0 or more"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg RBACConfig
			tt.cfg(&cfg)
			_, err := NewRBAC(context.Background(), cfg, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestRBACReloadKeepsLastGoodPolicy(t *testing.T) {
	r := testRBAC(t, "p, role:default/r, catalog-entity, read, allow\n", RBACConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Watch(ctx, 5*time.Millisecond, true) }()
	defer func() { cancel(); <-done }()
	read := Request{Permission: Permission{Name: "catalog.entity.read", Action: "read", ResourceType: "catalog-entity"}}
	bob := user("user:default/bob")
	write := func(policy string, at time.Time) {
		if err := os.WriteFile(r.file, []byte(policy), 0o600); err != nil {
			t.Fatal(err)
		}
		// Distinct modification times, whatever the file system's
		// resolution.
		if err := os.Chtimes(r.file, at, at); err != nil {
			t.Fatal(err)
		}
	}
	waitFor := func(want Decision) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			got, err := r.Decide(context.Background(), bob, read)
			if err != nil {
				t.Fatal(err)
			}
			if got == want {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("bob still gets %v, want %v", got, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitFor(Deny)
	write("p, role:default/r, catalog-entity, read, allow\ng, user:default/bob, role:default/r\n", time.Now().Add(time.Minute))
	waitFor(Allow)
	broken := time.Now().Add(2 * time.Minute)
	write("p, role:default/r, catalog-entity, read\n", broken)
	// Wait until the watcher has read the broken file.
	deadline := time.Now().Add(5 * time.Second)
	for !r.rules.Load().modTimes[0].Equal(broken) {
		if time.Now().After(deadline) {
			t.Fatal("the watcher did not read the broken file")
		}
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(Allow)
	if len(r.Policies("")) != 1 {
		t.Errorf("policies after a broken file: %v", r.Policies(""))
	}
}

const testConditional = `result: CONDITIONAL
roleEntityRef: role:default/owners
pluginId: catalog
resourceType: catalog-entity
permissionMapping: [read, update]
conditions:
  rule: IS_ENTITY_OWNER
  resourceType: catalog-entity
  params:
    claims: [$ownerRefs]
---
result: CONDITIONAL
roleEntityRef: role:default/api-readers
pluginId: catalog
resourceType: catalog-entity
permissionMapping: [read]
conditions:
  not:
    rule: HAS_SPEC
    resourceType: catalog-entity
    params: {key: lifecycle, value: experimental}
`

// testRules registers rules like the catalog's: a resource "meets" a
// condition when its ref is among the claims of an IS_ENTITY_OWNER rule.
func testRules(ps *Permissions) {
	ps.RegisterConditions("catalog-entity", ConditionRules{
		PluginID: "catalog",
		Rules:    map[string][]string{"IS_ENTITY_OWNER": {"claims"}, "HAS_SPEC": {"key"}},
		Apply: func(_ context.Context, ref string, c *Condition) (bool, error) {
			claims, _ := c.Params["claims"].([]any)
			for _, claim := range claims {
				if claim == ref {
					return true, nil
				}
			}
			return false, nil
		},
	})
}

func TestRBACConditional(t *testing.T) {
	var cfg RBACConfig
	cfg.ConditionalPoliciesFile = filepath.Join(t.TempDir(), "conditional.yaml")
	if err := os.WriteFile(cfg.ConditionalPoliciesFile, []byte(testConditional), 0o600); err != nil {
		t.Fatal(err)
	}
	r := testRBAC(t, `p, role:default/admins, catalog-entity, read, allow
g, group:default/team-a, role:default/owners
g, user:default/erin, role:default/api-readers
g, user:default/frank, role:default/admins
g, user:default/frank, role:default/owners
`, cfg)
	ps := NewPermissions(r)
	testRules(ps)
	if err := r.CheckConditions(ps); err != nil {
		t.Fatal(err)
	}
	read := Permission{Name: "catalog.entity.read", Action: "read", ResourceType: "catalog-entity"}
	del := Permission{Name: "catalog.entity.delete", Action: "delete", ResourceType: "catalog-entity"}
	ctx := context.Background()

	d, c, err := ps.DecideConditional(ctx, user("user:default/alice"), Request{Permission: read})
	if err != nil || d != Conditional || c.Rule != "IS_ENTITY_OWNER" {
		t.Fatalf("alice: %v %+v %v", d, c, err)
	}
	if got := c.Params["claims"]; !slices.Equal(got.([]any), []any{"user:default/alice", "group:default/team-a"}) {
		t.Errorf("$ownerRefs became %v", got)
	}
	// Two roles with conditions: either suffices.
	d, c, _ = ps.DecideConditional(ctx, user("user:default/erin"), Request{Permission: read})
	if d != Conditional || len(c.AnyOf) != 2 {
		t.Errorf("erin: %v %+v", d, c)
	}
	for _, tt := range []struct {
		name string
		p    Principal
		req  Request
		want Decision
	}{
		{"an action the conditions do not map", user("user:default/alice"), Request{Permission: del, ResourceRef: "user:default/alice"}, Deny},
		{"a resource that meets the condition", user("user:default/alice"), Request{Permission: read, ResourceRef: "group:default/team-a"}, Allow},
		{"a resource that does not", user("user:default/alice"), Request{Permission: read, ResourceRef: "component:default/x"}, Deny},
		{"no resource to apply the condition to", user("user:default/alice"), Request{Permission: read}, Deny},
		{"a policy line decides before conditions", user("user:default/frank"), Request{Permission: read, ResourceRef: "component:default/x"}, Allow},
		{"no role", user("user:default/nobody"), Request{Permission: read, ResourceRef: "user:default/nobody"}, Deny},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := ps.Decide(ctx, tt.p, tt.req); err != nil || got != tt.want {
				t.Fatalf("Decide = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestConditionalPolicyErrors(t *testing.T) {
	valid := strings.SplitN(testConditional, "---\n", 2)[0]
	tests := []struct {
		name, doc, want string
	}{
		{"result", strings.Replace(valid, "CONDITIONAL", "ALLOW", 1), `document 1: result: "ALLOW"; a conditional policy's result is CONDITIONAL`},
		{"role", strings.Replace(valid, "role:default/owners", "user:default/x", 1), `document 1: roleEntityRef: "user:default/x" is not a role ref`},
		{"plugin", strings.Replace(valid, "pluginId: catalog\n", "", 1), "document 1: pluginId: missing"},
		{"resource type", strings.Replace(valid, "resourceType: catalog-entity\npermissionMapping", "permissionMapping", 1), "document 1: resourceType: missing"},
		{"mapping", strings.Replace(valid, "permissionMapping: [read, update]\n", "", 1), "document 1: permissionMapping: missing"},
		{"action", strings.Replace(valid, "[read, update]", "[read, write]", 1), `document 1: permissionMapping[1]: unknown action "write"`},
		{"YAML", valid + "---\nresult: [", "document 2: yaml:"},
		{"unknown rule", strings.Replace(valid, "IS_ENTITY_OWNER", "IS_FRIEND", 1), `conditions.rule: "IS_FRIEND" is not a rule of catalog-entity; use one of [HAS_SPEC IS_ENTITY_OWNER]`},
		{"missing param", strings.Replace(valid, "claims: [$ownerRefs]", "owners: [$ownerRefs]", 1), "conditions.params.claims: missing; rule IS_ENTITY_OWNER needs it"},
		{"two kinds of condition", strings.Replace(valid, "  rule: IS_ENTITY_OWNER\n", "  rule: IS_ENTITY_OWNER\n  not: {rule: HAS_SPEC}\n", 1), "conditions: a condition is exactly one of rule, allOf, anyOf or not"},
		{"empty allOf", strings.Replace(valid, "  rule: IS_ENTITY_OWNER\n  resourceType: catalog-entity\n  params:\n    claims: [$ownerRefs]\n", "  allOf: []\n", 1), "conditions.allOf: empty"},
		{"resource type without rules", strings.Replace(valid, "resourceType: catalog-entity\npermissionMapping", "resourceType: scaffolder-template\npermissionMapping", 1), `resourceType: "scaffolder-template" has no conditional rules in Portico`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var cfg RBACConfig
			cfg.ConditionalPoliciesFile = filepath.Join(t.TempDir(), "conditional.yaml")
			if err := os.WriteFile(cfg.ConditionalPoliciesFile, []byte(tt.doc), 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := NewRBAC(context.Background(), cfg, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
			if err == nil {
				ps := NewPermissions(r)
				testRules(ps)
				err = r.CheckConditions(ps)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
		})
	}
}
