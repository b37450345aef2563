package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func defaultPipeline(t testing.TB) *Pipeline {
	t.Helper()
	reg, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return NewDefaultPipeline(reg, DefaultValidators())
}

func yamlEntity(t testing.TB, src string) *Entity {
	t.Helper()
	docs, err := ParseYAML([]byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || docs[0].Err != nil {
		t.Fatalf("want one entity document, got %+v", docs)
	}
	e, err := DecodeEntity(docs[0].Value)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

var loc = LocationSpec{Type: "file", Target: "/catalog-info.yaml"}

// Valid examples of each built-in kind; each is also the base of the
// invalid variants below, which replace or delete one line.
var kindExamples = map[string]string{
	"Component": `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: artist-web
  description: The place to be, for great artists
spec:
  type: website
  lifecycle: production
  owner: artist-relations-team
  system: artist-engagement-portal
  subcomponentOf: artist-portal
  providesApis: [artist-api]
  consumesApis: [payments-api]
  dependsOn: [resource:artists-db]
  dependencyOf: [component:mobile-app]
`,
	"API": `
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: artist-api
spec:
  type: openapi
  lifecycle: production
  owner: artist-relations-team
  system: artist-engagement-portal
  definition: "openapi: 3.0.0"
`,
	"MCP": `
apiVersion: backstage.io/v1alpha1
kind: API
metadata:
  name: assistant
spec:
  type: mcp-server
  lifecycle: experimental
  owner: ai-team
  remotes:
    - type: streamable-http
      url: https://mcp.example.com/mcp
`,
	"Resource": `
apiVersion: backstage.io/v1alpha1
kind: Resource
metadata:
  name: artists-db
spec:
  type: database
  owner: artist-relations-team
  system: artist-engagement-portal
  dependsOn: [resource:storage]
  dependencyOf: [component:artist-web]
`,
	"System": `
apiVersion: backstage.io/v1alpha1
kind: System
metadata:
  name: artist-engagement-portal
spec:
  owner: artist-relations-team
  domain: artists
`,
	"Domain": `
apiVersion: backstage.io/v1beta1
kind: Domain
metadata:
  name: artists
spec:
  owner: artist-relations-team
  subdomainOf: music
`,
	"Group": `
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: infrastructure
spec:
  type: department
  profile:
    displayName: Infrastructure
    email: infrastructure@example.com
  parent: ops
  children: [backstage, other]
  members: [jdoe]
`,
	"User": `
apiVersion: backstage.io/v1alpha1
kind: User
metadata:
  name: jdoe
spec:
  profile:
    displayName: Jenny Doe
    email: jenny-doe@example.com
  memberOf: [jdoe-team]
`,
	"Location": `
apiVersion: backstage.io/v1alpha1
kind: Location
metadata:
  name: org
spec:
  type: url
  target: https://example.com/org.yaml
  targets: [./a.yaml, ./b.yaml]
  presence: optional
`,
	"Template": `
apiVersion: scaffolder.backstage.io/v1beta3
kind: Template
metadata:
  name: react-ssr-template
spec:
  owner: web@example.com
  type: website
  parameters:
    - title: Provide some simple information
      required: [component_id]
      properties:
        component_id: {type: string}
  steps:
    - id: fetch
      name: Fetch
      action: fetch:template
      input: {url: ./template}
  output:
    links:
      - title: Repository
        url: ${{ steps.publish.output.remoteUrl }}
`,
}

func TestBuiltinKindsValid(t *testing.T) {
	p := defaultPipeline(t)
	for name, src := range kindExamples {
		res := p.Process(context.Background(), yamlEntity(t, src), loc)
		if !res.OK() {
			t.Errorf("%s: %v", name, res.Err())
		}
	}
}

// edit applies "old => new" line replacements (new may be empty to delete).
func edit(t *testing.T, src string, edits ...string) string {
	t.Helper()
	for _, ed := range edits {
		old, repl, _ := strings.Cut(ed, " => ")
		if !strings.Contains(src, old) {
			t.Fatalf("edit %q: not found", ed)
		}
		src = strings.Replace(src, old, repl, 1)
	}
	return src
}

func TestBuiltinKindsInvalid(t *testing.T) {
	p := defaultPipeline(t)
	tests := []struct {
		kind  string
		edits []string
		want  string
	}{
		{"Component", []string{"  type: website\n => "}, "spec.type: is required"},
		{"Component", []string{"  lifecycle: production\n => "}, "spec.lifecycle: is required"},
		{"Component", []string{"  owner: artist-relations-team\n => "}, "spec.owner: is required"},
		{"Component", []string{"owner: artist-relations-team => owner: ''"}, "spec.owner: must not be empty"},
		{"Component", []string{"owner: artist-relations-team => owner: 7"}, "spec.owner: must be a string, got a number 7"},
		{"Component", []string{"system: artist-engagement-portal => system: [a]"}, "spec.system: must be a string, got a list"},
		{"Component", []string{"providesApis: [artist-api] => providesApis: artist-api"}, `spec.providesApis: must be a list, got "artist-api"`},
		{"Component", []string{"consumesApis: [payments-api] => consumesApis: [1]"}, "spec.consumesApis.0: must be a string, got a number 1"},
		{"Component", []string{"spec:\n  type: website\n  lifecycle: production\n  owner: artist-relations-team\n  system: artist-engagement-portal\n  subcomponentOf: artist-portal\n  providesApis: [artist-api]\n  consumesApis: [payments-api]\n  dependsOn: [resource:artists-db]\n  dependencyOf: [component:mobile-app]\n => "}, "spec: is required"},
		{"Component", []string{"apiVersion: backstage.io/v1alpha1 => apiVersion: backstage.io/v1"}, `kind: no processor recognized backstage.io/v1 "Component" as valid, possibly caused by a foreign kind or apiVersion: kind Component is registered for apiVersion "backstage.io/v1alpha1" or "backstage.io/v1beta1", not "backstage.io/v1"`},
		{"Component", []string{"kind: Component => kind: component"}, `kinds are case-sensitive: did you mean "Component"?`},
		{"Component", []string{"kind: Component => kind: Foo"}, `kind "Foo" is not registered; register it under catalog.kinds or use one of API, Component, Domain, Group, Location, Resource, System, Template, User`},
		{"Component", []string{"dependsOn: [resource:artists-db] => dependsOn: [artists-db]"}, `spec.dependsOn.0: entity reference "artists-db" has no kind: write it as <kind>:[<namespace>/]<name>, e.g. "component:artists-db"`},
		{"Component", []string{"owner: artist-relations-team => owner: 'group:'"}, `spec.owner: entity reference "group:" is not on the form [<kind>:][<namespace>/]<name>`},
		{"API", []string{"  definition: \"openapi: 3.0.0\"\n => "}, "spec.definition: is required"},
		{"MCP", []string{"  remotes:\n    - type: streamable-http\n      url: https://mcp.example.com/mcp\n => "}, "spec.remotes: is required"},
		{"MCP", []string{"      url: https://mcp.example.com/mcp\n => "}, "spec.remotes.0.url: is required"},
		{"Resource", []string{"  type: database\n => "}, "spec.type: is required"},
		{"Resource", []string{"  owner: artist-relations-team\n => "}, "spec.owner: is required"},
		{"System", []string{"  owner: artist-relations-team\n => "}, "spec.owner: is required"},
		{"System", []string{"domain: artists => domain: ''"}, "spec.domain: must not be empty"},
		{"Domain", []string{"  owner: artist-relations-team\n => "}, "spec.owner: is required"},
		{"Group", []string{"  type: department\n => "}, "spec.type: is required"},
		{"Group", []string{"  children: [backstage, other]\n => "}, "spec.children: is required"},
		{"Group", []string{"email: infrastructure@example.com => email: ''"}, "spec.profile.email: must not be empty"},
		{"Group", []string{"parent: ops => parent: [ops]"}, "spec.parent: must be a string, got a list"},
		{"User", []string{"  memberOf: [jdoe-team]\n => "}, "spec.memberOf: is required"},
		{"User", []string{"memberOf: [jdoe-team] => memberOf: jdoe-team"}, `spec.memberOf: must be a list, got "jdoe-team"`},
		{"Location", []string{"presence: optional => presence: maybe"}, `spec.presence: "maybe" is not allowed: use one of "required", "optional"`},
		{"Location", []string{"targets: [./a.yaml, ./b.yaml] => targets: ./a.yaml"}, `spec.targets: must be a list, got "./a.yaml"`},
		{"Template", []string{"  type: website\n => "}, "spec.type: is required"},
		{"Template", []string{"      action: fetch:template\n => "}, "spec.steps.0.action: is required"},
		{"Template", []string{"apiVersion: scaffolder.backstage.io/v1beta3 => apiVersion: backstage.io/v1alpha1"}, `kind Template is registered for apiVersion "scaffolder.backstage.io/v1beta3"`},
		// Envelope problems surface from the policies before kind validation.
		{"Component", []string{"name: artist-web => name: Bad Name!"}, `metadata.name: "Bad Name!" is not a valid name: use 1–63 characters [a-zA-Z0-9] separated by [-_.]`},
	}
	for _, tt := range tests {
		src := edit(t, kindExamples[tt.kind], tt.edits...)
		res := p.Process(context.Background(), yamlEntity(t, src), loc)
		if res.OK() {
			t.Errorf("%s %v: accepted, want error %q", tt.kind, tt.edits, tt.want)
			continue
		}
		if got := res.Err().Error(); !strings.Contains(got, tt.want) {
			t.Errorf("%s %v:\n got %s\nwant %s", tt.kind, tt.edits, got, tt.want)
		}
	}
}

func relationStrings(rs []RelationSpec) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = fmt.Sprintf("%s -%s-> %s", r.Source, r.Type, r.Target)
	}
	slices.Sort(out)
	return out
}

func TestBuiltinRelations(t *testing.T) {
	p := defaultPipeline(t)
	tests := []struct {
		kind string
		want []string
	}{
		{"Component", []string{
			"api:default/artist-api -apiProvidedBy-> component:default/artist-web",
			"api:default/payments-api -apiConsumedBy-> component:default/artist-web",
			"component:default/artist-portal -hasPart-> component:default/artist-web",
			"component:default/artist-web -consumesApi-> api:default/payments-api",
			"component:default/artist-web -dependencyOf-> component:default/mobile-app",
			"component:default/artist-web -dependsOn-> resource:default/artists-db",
			"component:default/artist-web -ownedBy-> group:default/artist-relations-team",
			"component:default/artist-web -partOf-> component:default/artist-portal",
			"component:default/artist-web -partOf-> system:default/artist-engagement-portal",
			"component:default/artist-web -providesApi-> api:default/artist-api",
			"component:default/mobile-app -dependsOn-> component:default/artist-web",
			"group:default/artist-relations-team -ownerOf-> component:default/artist-web",
			"resource:default/artists-db -dependencyOf-> component:default/artist-web",
			"system:default/artist-engagement-portal -hasPart-> component:default/artist-web",
		}},
		{"API", []string{
			"api:default/artist-api -ownedBy-> group:default/artist-relations-team",
			"api:default/artist-api -partOf-> system:default/artist-engagement-portal",
			"group:default/artist-relations-team -ownerOf-> api:default/artist-api",
			"system:default/artist-engagement-portal -hasPart-> api:default/artist-api",
		}},
		{"Resource", []string{
			"component:default/artist-web -dependsOn-> resource:default/artists-db",
			"group:default/artist-relations-team -ownerOf-> resource:default/artists-db",
			"resource:default/artists-db -dependencyOf-> component:default/artist-web",
			"resource:default/artists-db -dependsOn-> resource:default/storage",
			"resource:default/artists-db -ownedBy-> group:default/artist-relations-team",
			"resource:default/artists-db -partOf-> system:default/artist-engagement-portal",
			"resource:default/storage -dependencyOf-> resource:default/artists-db",
			"system:default/artist-engagement-portal -hasPart-> resource:default/artists-db",
		}},
		{"System", []string{
			"domain:default/artists -hasPart-> system:default/artist-engagement-portal",
			"group:default/artist-relations-team -ownerOf-> system:default/artist-engagement-portal",
			"system:default/artist-engagement-portal -ownedBy-> group:default/artist-relations-team",
			"system:default/artist-engagement-portal -partOf-> domain:default/artists",
		}},
		{"Domain", []string{
			"domain:default/artists -ownedBy-> group:default/artist-relations-team",
			"domain:default/artists -partOf-> domain:default/music",
			"domain:default/music -hasPart-> domain:default/artists",
			"group:default/artist-relations-team -ownerOf-> domain:default/artists",
		}},
		{"Group", []string{
			"group:default/backstage -childOf-> group:default/infrastructure",
			"group:default/infrastructure -childOf-> group:default/ops",
			"group:default/infrastructure -hasMember-> user:default/jdoe",
			"group:default/infrastructure -parentOf-> group:default/backstage",
			"group:default/infrastructure -parentOf-> group:default/other",
			"group:default/ops -parentOf-> group:default/infrastructure",
			"group:default/other -childOf-> group:default/infrastructure",
			"user:default/jdoe -memberOf-> group:default/infrastructure",
		}},
		{"User", []string{
			"group:default/jdoe-team -hasMember-> user:default/jdoe",
			"user:default/jdoe -memberOf-> group:default/jdoe-team",
		}},
		{"Location", []string{}},
		{"Template", []string{
			"group:default/web@example.com -ownerOf-> template:default/react-ssr-template",
			"template:default/react-ssr-template -ownedBy-> group:default/web@example.com",
		}},
	}
	for _, tt := range tests {
		res := p.Process(context.Background(), yamlEntity(t, kindExamples[tt.kind]), loc)
		if !res.OK() {
			t.Fatalf("%s: %v", tt.kind, res.Err())
		}
		if got := relationStrings(res.Relations); !slices.Equal(got, tt.want) {
			t.Errorf("%s relations:\n got %q\nwant %q", tt.kind, got, tt.want)
		}
	}
}

func TestRelationDefaultsFollowEntityNamespace(t *testing.T) {
	p := defaultPipeline(t)
	e := yamlEntity(t, `
apiVersion: backstage.io/v1alpha1
kind: Component
metadata: {name: Svc, namespace: team-a}
spec: {type: service, lifecycle: production, owner: user:Jane, system: other/Sys, providesApis: [Api:ns-b/X]}
`)
	res := p.Process(context.Background(), e, loc)
	if !res.OK() {
		t.Fatal(res.Err())
	}
	want := []string{
		"api:ns-b/x -apiProvidedBy-> component:team-a/svc",
		"component:team-a/svc -ownedBy-> user:team-a/jane",
		"component:team-a/svc -partOf-> system:other/sys",
		"component:team-a/svc -providesApi-> api:ns-b/x",
		"system:other/sys -hasPart-> component:team-a/svc",
		"user:team-a/jane -ownerOf-> component:team-a/svc",
	}
	if got := relationStrings(res.Relations); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	// Refs keep the author's case; only their string form is lower-case.
	if res.Relations[0].Target.Kind != "Group" && res.Relations[0].Target.Name != "Jane" {
		t.Errorf("target lost its case: %+v", res.Relations[0].Target)
	}
}

func TestPreProcessSortsReferenceLists(t *testing.T) {
	p := defaultPipeline(t)
	e := yamlEntity(t, edit(t, kindExamples["Group"], "children: [backstage, other] => children: [zeta, alpha]"))
	res := p.Process(context.Background(), e, loc)
	if !res.OK() {
		t.Fatal(res.Err())
	}
	if got := res.Entity.Spec["children"]; fmt.Sprint(got) != "[alpha zeta]" {
		t.Errorf("children = %v, want sorted", got)
	}
	if got := e.Spec["children"]; fmt.Sprint(got) != "[zeta alpha]" {
		t.Errorf("the caller's entity was changed: %v", got)
	}
	if res.Entity.Metadata.Namespace != "default" || e.Metadata.Namespace != "" {
		t.Errorf("namespace: processed %q, original %q", res.Entity.Metadata.Namespace, e.Metadata.Namespace)
	}
}

// The seed's example: a Component's maintainer, separate from its owner, as
// a relation to a user, declared in configuration only.
func TestCustomKindFromConfig(t *testing.T) {
	dir := t.TempDir()
	schema := `{
  "$schema": "http://json-schema.org/draft-07/schema",
  "allOf": [
    {"$ref": "Entity"},
    {
      "type": "object",
      "required": ["spec"],
      "properties": {
        "apiVersion": {"enum": ["my-company.net/v1"]},
        "kind": {"enum": ["ServiceAccount", "Component"]},
        "spec": {
          "type": "object",
          "required": ["maintainer"],
          "properties": {
            "maintainer": {
              "oneOf": [
                {"type": "string", "minLength": 1},
                {"type": "array", "items": {"type": "string", "minLength": 1}}
              ]
            }
          }
        }
      }
    }
  ]
}`
	if err := os.WriteFile(filepath.Join(dir, "maintained.schema.json"), []byte(schema), 0o644); err != nil {
		t.Fatal(err)
	}
	yamlSchema := "type: object\nrequired: [spec]\nproperties:\n  metadata: {$ref: EntityMeta}\n  spec:\n    type: object\n    required: [team]\n"
	if err := os.WriteFile(filepath.Join(dir, "flock.yaml"), []byte(yamlSchema), 0o644); err != nil {
		t.Fatal(err)
	}
	maintainer := RelationRule{Field: "spec.maintainer", Type: "myCompany-maintainedBy", Reverse: "myCompany-maintainerOf", TargetKind: "User"}
	defs, err := LoadKindConfigs([]KindConfig{
		{APIVersion: "my-company.net/v1", Kind: "ServiceAccount", Schema: "maintained.schema.json", Relations: []RelationRule{maintainer}},
		{APIVersion: "my-company.net/v1", Kind: "Component", Schema: "maintained.schema.json", Relations: []RelationRule{maintainer}},
		{APIVersion: "zoo.example/v1", Kind: "Flock", Schema: "flock.yaml", Relations: []RelationRule{
			{Field: "spec.team", Type: "herdedBy", Reverse: "herds", TargetKind: "Group", TargetNamespace: "animals"}}},
	}, dir)
	if err != nil {
		t.Fatal(err)
	}
	reg, err := NewRegistry(defs...)
	if err != nil {
		t.Fatal(err)
	}
	p := NewDefaultPipeline(reg, DefaultValidators())

	run := func(src string) *Result { return p.Process(context.Background(), yamlEntity(t, src), loc) }

	res := run(`
apiVersion: my-company.net/v1
kind: ServiceAccount
metadata: {name: deployer}
spec: {maintainer: [jdoe, user:ops/alice]}
`)
	if !res.OK() {
		t.Fatal(res.Err())
	}
	want := []string{
		"serviceaccount:default/deployer -myCompany-maintainedBy-> user:default/jdoe",
		"serviceaccount:default/deployer -myCompany-maintainedBy-> user:ops/alice",
		"user:default/jdoe -myCompany-maintainerOf-> serviceaccount:default/deployer",
		"user:ops/alice -myCompany-maintainerOf-> serviceaccount:default/deployer",
	}
	if got := relationStrings(res.Relations); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}

	// A new apiVersion of a built-in kind keeps the built-in relations and
	// adds its own.
	res = run(`
apiVersion: my-company.net/v1
kind: Component
metadata: {name: svc}
spec: {maintainer: jdoe, owner: team-a}
`)
	if !res.OK() {
		t.Fatal(res.Err())
	}
	want = []string{
		"component:default/svc -myCompany-maintainedBy-> user:default/jdoe",
		"component:default/svc -ownedBy-> group:default/team-a",
		"group:default/team-a -ownerOf-> component:default/svc",
		"user:default/jdoe -myCompany-maintainerOf-> component:default/svc",
	}
	if got := relationStrings(res.Relations); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}

	// The custom schema is enforced, with the field named.
	res = run(`
apiVersion: my-company.net/v1
kind: ServiceAccount
metadata: {name: deployer}
spec: {}
`)
	if res.OK() || !strings.Contains(res.Err().Error(), "spec.maintainer: is required") {
		t.Errorf("missing maintainer: %v", res.Err())
	}

	// Target namespace from the rule; YAML schema files work.
	res = run(`
apiVersion: zoo.example/v1
kind: Flock
metadata: {name: sheep}
spec: {team: shepherds}
`)
	if !res.OK() {
		t.Fatal(res.Err())
	}
	want = []string{
		"flock:default/sheep -herdedBy-> group:animals/shepherds",
		"group:animals/shepherds -herds-> flock:default/sheep",
	}
	if got := relationStrings(res.Relations); !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}

	// The built-ins are still there.
	if res := p.Process(context.Background(), yamlEntity(t, kindExamples["Component"]), loc); !res.OK() {
		t.Errorf("built-in Component: %v", res.Err())
	}
}

func TestCustomKindReplacesBuiltinSchema(t *testing.T) {
	// "I don't like owner being mandatory": replace Component's schema.
	reg, err := NewRegistry(KindDefinition{
		Kind: "Component", APIVersions: []string{APIVersionV1alpha1},
		Schema: map[string]any{"type": "object", "properties": map[string]any{"spec": map[string]any{"type": "object", "required": []any{"type"}}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	p := NewDefaultPipeline(reg, DefaultValidators())
	res := p.Process(context.Background(), yamlEntity(t, "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: a}\nspec: {type: service}\n"), loc)
	if !res.OK() {
		t.Errorf("relaxed Component rejected: %v", res.Err())
	}
	res = p.Process(context.Background(), yamlEntity(t, "apiVersion: backstage.io/v1beta1\nkind: Component\nmetadata: {name: a}\nspec: {type: service}\n"), loc)
	if res.OK() {
		t.Error("v1beta1 keeps the built-in schema and should still require owner")
	}
}

func TestRegistryRejectsBadDefinitions(t *testing.T) {
	tests := []struct {
		def  KindDefinition
		want string
	}{
		{KindDefinition{Kind: "9Bad", APIVersions: []string{"x.io/v1"}}, "not a valid kind"},
		{KindDefinition{Kind: "Good"}, "no apiVersion"},
		{KindDefinition{Kind: "Good", APIVersions: []string{"a-b"}}, "not a valid apiVersion"},
		{KindDefinition{Kind: "Good", APIVersions: []string{"x.io/v1"}, Relations: []RelationRule{{Field: "maintainer", Type: "a", Reverse: "b"}}}, "must be a dotted path inside spec"},
		{KindDefinition{Kind: "Good", APIVersions: []string{"x.io/v1"}, Relations: []RelationRule{{Field: "spec.m", Type: "a"}}}, "type and reverse are both required"},
		{KindDefinition{Kind: "Good", APIVersions: []string{"x.io/v1"}, Relations: []RelationRule{{Field: "spec.m", Type: "a", Reverse: "b", TargetKind: "user kind"}}}, "targetKind"},
		{KindDefinition{Kind: "Good", APIVersions: []string{"x.io/v1"}, Schema: map[string]any{"$ref": "https://example.com/x.json"}}, "cannot load schema"},
		{KindDefinition{Kind: "Good", APIVersions: []string{"x.io/v1"}, Schema: map[string]any{"type": 5}}, "kind Good: schema"},
	}
	for _, tt := range tests {
		if _, err := NewRegistry(tt.def); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%+v: err = %v, want %q", tt.def, err, tt.want)
		}
	}
	if _, err := LoadKindConfigs([]KindConfig{{APIVersion: "x.io/v1", Kind: "K", Schema: "missing.json"}}, t.TempDir()); err == nil || !strings.Contains(err.Error(), "catalog.kinds[0] (x.io/v1 K)") {
		t.Errorf("missing schema file: %v", err)
	}
}

func BenchmarkValidateComponent(b *testing.B) {
	p := defaultPipeline(b)
	e := yamlEntity(b, kindExamples["Component"])
	ctx := context.Background()
	for b.Loop() {
		if res := p.Process(ctx, e, loc); !res.OK() {
			b.Fatal(res.Err())
		}
	}
}
