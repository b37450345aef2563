package catalog

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/config"
	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// orgFixture is a fake GitHub serving organizations, and the integrations
// that read it with a token.
func orgFixture(t *testing.T) (*integrationstest.GitHub, *integrations.Set) {
	t.Helper()
	gh := integrationstest.NewGitHub(t, t.TempDir(), "ghp_org")
	// Pages of two: every listing takes several calls.
	gh.SetGraphQLPageSize(2)
	integ, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config("ghp_org")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return gh, integ
}

// acme has a nested team (sre below platform), a person in both, and one
// in no team.
func acme() integrationstest.Org {
	return integrationstest.Org{
		Members: []integrationstest.OrgUser{
			{Login: "alice", Name: "Alice Liddell", Email: "alice@acme.example", AvatarURL: "https://avatars.example/alice", Bio: "Runs the platform"},
			{Login: "bob", Name: "Bob"},
			{Login: "carol"},
			{Login: "dave"},
		},
		Teams: []integrationstest.OrgTeam{
			{Slug: "platform", Name: "Platform", Description: "The platform team", Members: []string{"alice", "dave"}},
			{Slug: "sre", Name: "SRE", Parent: "platform", Members: []string{"bob", "dave"}},
			{Slug: "web", Name: "Web"},
		},
	}
}

// graphQLCalls counts the GraphQL requests the fake received.
func graphQLCalls(gh *integrationstest.GitHub) int {
	n := 0
	for _, r := range gh.Requests() {
		if r.Path == "/api/graphql" {
			n++
		}
	}
	return n
}

// waitFor polls cond for up to 15 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// catalog.providers.githubOrg states a User per member and a Group per
// team of an organization, with the relations between them resolved; a
// member who leaves disappears on the next run, and a failed read keeps
// the last good set.
func TestGitHubOrgProvider(t *testing.T) {
	gh, integ := orgFixture(t)
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		gh.FailGraphQL(false)
		gh.SetOrg("acme", acme())
		var cfg Config
		cfg.Providers.GitHubOrg.Entries = []GitHubOrgConfig{{ID: "production", GitHubURL: gh.URL, Orgs: []string{"acme"},
			Schedule: discoverySchedule{Frequency: discoveryFrequency{Every: 100 * time.Millisecond}}}}
		f := runDiscovery(t, db, integ, cfg, "user:default/alice", "user:default/carol", "group:default/platform", "group:default/sre", "group:default/web")
		// Stitching writes relations after the entities appear.
		waitFor(t, "the memberships are stitched", func() bool {
			return slices.Equal(f.refs("relations.hasmember=user:default/dave"), []string{"group:default/platform", "group:default/sre"})
		})

		if got := f.refs("kind=user"); !slices.Equal(got, []string{"user:default/alice", "user:default/bob", "user:default/carol", "user:default/dave"}) {
			t.Errorf("users = %v", got)
		}
		alice := f.mustEntity("user:default/alice")
		if msgs := statusMessages(alice); msgs != "" {
			t.Errorf("alice has processing errors: %s", msgs)
		}
		spec := alice["spec"].(map[string]any)
		profile := spec["profile"].(map[string]any)
		if profile["displayName"] != "Alice Liddell" || profile["email"] != "alice@acme.example" || profile["picture"] != "https://avatars.example/alice" {
			t.Errorf("alice's profile = %v", profile)
		}
		if got := spec["memberOf"].([]any); !slices.Equal(got, []any{"platform"}) {
			t.Errorf("alice's memberOf = %v", got)
		}
		if alice["metadata"].(map[string]any)["description"] != "Runs the platform" {
			t.Errorf("alice's description = %v", alice["metadata"])
		}
		if got := annotation(alice, AnnotationGitHubUserLogin); got != "alice" {
			t.Errorf("alice's %s = %q", AnnotationGitHubUserLogin, got)
		}
		if got := annotation(alice, AnnotationManagedByLocation); got != "url:"+gh.URL+"/alice" {
			t.Errorf("alice is managed by %q", got)
		}
		if got := relations(alice); !slices.Contains(got, "memberOf group:default/platform") || slices.Contains(got, "memberOf group:default/sre") {
			t.Errorf("alice's relations = %v", got)
		}
		if got := relations(f.mustEntity("user:default/carol")); len(got) != 0 {
			t.Errorf("carol is in no team, relations = %v", got)
		}

		platform := f.mustEntity("group:default/platform")
		if msgs := statusMessages(platform); msgs != "" {
			t.Errorf("platform has processing errors: %s", msgs)
		}
		gspec := platform["spec"].(map[string]any)
		if gspec["type"] != "team" || gspec["profile"].(map[string]any)["displayName"] != "Platform" || gspec["parent"] != nil ||
			!slices.Equal(gspec["children"].([]any), []any{"sre"}) {
			t.Errorf("platform's spec = %v", gspec)
		}
		if platform["metadata"].(map[string]any)["description"] != "The platform team" {
			t.Errorf("platform's metadata = %v", platform["metadata"])
		}
		if got := annotation(platform, AnnotationGitHubTeamSlug); got != "acme/platform" {
			t.Errorf("platform's %s = %q", AnnotationGitHubTeamSlug, got)
		}
		if got := annotation(platform, AnnotationEditURL); got != gh.URL+"/orgs/acme/teams/platform/edit" {
			t.Errorf("platform's edit URL = %q", got)
		}
		if got := annotation(platform, AnnotationManagedByLocation); got != "url:"+gh.URL+"/orgs/acme/teams/platform" {
			t.Errorf("platform is managed by %q", got)
		}
		wantRel := []string{"hasMember user:default/alice", "hasMember user:default/dave", "parentOf group:default/sre"}
		if got := relations(platform); !sameSet(got, wantRel) {
			t.Errorf("platform's relations = %v, want %v (bob is a member of sre only)", got, wantRel)
		}
		sre := f.mustEntity("group:default/sre")
		if got := sre["spec"].(map[string]any)["parent"]; got != "platform" {
			t.Errorf("sre's parent = %v", got)
		}
		wantRel = []string{"childOf group:default/platform", "hasMember user:default/bob", "hasMember user:default/dave"}
		if got := relations(sre); !sameSet(got, wantRel) {
			t.Errorf("sre's relations = %v, want %v", got, wantRel)
		}
		if got := f.refs("relations.parentof=group:default/sre"); !slices.Equal(got, []string{"group:default/platform"}) {
			t.Errorf("parents of sre = %v", got)
		}
		if got := f.refs("relations.memberof=group:default/sre"); !slices.Equal(got, []string{"user:default/bob", "user:default/dave"}) {
			t.Errorf("members of sre = %v", got)
		}

		// Carol leaves the organization and bob moves to web: the next run
		// removes carol and moves bob.
		o := acme()
		o.Members = slices.DeleteFunc(o.Members, func(u integrationstest.OrgUser) bool { return u.Login == "carol" })
		o.Teams[1].Members = []string{"dave"}
		o.Teams[2].Members = []string{"bob"}
		gh.SetOrg("acme", o)
		waitFor(t, "carol is gone and bob is in web", func() bool {
			return f.entity("user:default/carol") == nil && slices.Equal(f.refs("relations.memberof=group:default/web"), []string{"user:default/bob"})
		})
		if got := f.refs("relations.memberof=group:default/sre"); !slices.Equal(got, []string{"user:default/dave"}) {
			t.Errorf("members of sre after bob moved = %v", got)
		}

		// GitHub fails, and dave leaves meanwhile: failed runs change
		// nothing; the first good run removes dave.
		gh.FailGraphQL(true)
		o.Members = slices.DeleteFunc(o.Members, func(u integrationstest.OrgUser) bool { return u.Login == "dave" })
		o.Teams[0].Members = []string{"alice"}
		o.Teams[1].Members = nil
		gh.SetOrg("acme", o)
		calls := graphQLCalls(gh)
		waitFor(t, "two more runs failed", func() bool { return graphQLCalls(gh) >= calls+2 })
		if got := f.refs("kind=user"); !slices.Equal(got, []string{"user:default/alice", "user:default/bob", "user:default/dave"}) {
			t.Errorf("users after failed runs = %v, want the last good set", got)
		}
		if got := f.refs("kind=group"); len(got) != 3 {
			t.Errorf("groups after failed runs = %v, want the last good set", got)
		}
		gh.FailGraphQL(false)
		waitFor(t, "dave is gone", func() bool { return f.entity("user:default/dave") == nil })
	}, Migrations)
}

// With several organizations, each one's groups live in a namespace named
// after it (as in Backstage), so equal team slugs stay apart; a person in
// both is one User, member of both.
func TestGitHubOrgProviderNamespaces(t *testing.T) {
	gh, integ := orgFixture(t)
	gh.SetOrg("Acme", integrationstest.Org{
		Members: []integrationstest.OrgUser{{Login: "alice"}, {Login: "bob"}},
		Teams:   []integrationstest.OrgTeam{{Slug: "platform", Name: "Platform", Members: []string{"alice", "bob"}}},
	})
	gh.SetOrg("beta", integrationstest.Org{
		Members: []integrationstest.OrgUser{{Login: "alice"}},
		Teams: []integrationstest.OrgTeam{
			{Slug: "platform", Name: "Beta platform", Members: []string{"alice"}},
			{Slug: "infra", Name: "Infra", Parent: "platform"},
		},
	})
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var cfg Config
		cfg.Providers.GitHubOrg.Entries = []GitHubOrgConfig{{ID: "multi", GitHubURL: gh.URL, Orgs: []string{"Acme", "beta"}}}
		f := runDiscovery(t, db, integ, cfg, "user:default/alice", "user:default/bob", "group:acme/platform", "group:beta/platform", "group:beta/infra")
		waitFor(t, "the memberships are stitched", func() bool {
			return slices.Equal(f.refs("relations.hasmember=user:default/alice"), []string{"group:acme/platform", "group:beta/platform"})
		})
		alice := f.mustEntity("user:default/alice")
		if got := alice["spec"].(map[string]any)["memberOf"].([]any); !slices.Equal(got, []any{"acme/platform", "beta/platform"}) {
			t.Errorf("alice's memberOf = %v", got)
		}
		if got := relations(f.mustEntity("group:acme/platform")); !sameSet(got, []string{"hasMember user:default/alice", "hasMember user:default/bob"}) {
			t.Errorf("acme/platform's relations = %v", got)
		}
		if got := relations(f.mustEntity("group:beta/infra")); !sameSet(got, []string{"childOf group:beta/platform"}) {
			t.Errorf("beta/infra's relations = %v", got)
		}
		if got := annotation(f.mustEntity("group:beta/infra"), AnnotationGitHubTeamSlug); got != "beta/infra" {
			t.Errorf("beta/infra's team slug = %q", got)
		}
	}, Migrations)
}

// Without orgs, every organization the integration's GitHub App is
// installed on is read with the app's installation tokens.
func TestGitHubOrgProviderAppOrganizations(t *testing.T) {
	gh := integrationstest.NewGitHub(t, t.TempDir(), "ghp_unused")
	gh.SetOrg("acme", integrationstest.Org{
		Members: []integrationstest.OrgUser{{Login: "alice", Email: "alice@acme.example"}},
		Teams:   []integrationstest.OrgTeam{{Slug: "platform", Name: "Platform", Members: []string{"alice"}}},
	})
	gh.SetOrg("beta", integrationstest.Org{
		Members: []integrationstest.OrgUser{{Login: "bob"}},
		Teams:   []integrationstest.OrgTeam{{Slug: "web", Name: "Web", Members: []string{"bob"}}},
	})
	app := gh.AddApp(t, "42", "acme", "beta", "someone")
	ghc := gh.Config("")
	ghc.Apps = []integrations.GitHubAppConfig{app.Config()}
	integ, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{ghc}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		var cfg Config
		cfg.Providers.GitHubOrg.Entries = []GitHubOrgConfig{{ID: "apps", GitHubURL: gh.URL}}
		f := runDiscovery(t, db, integ, cfg, "user:default/alice", "user:default/bob", "group:acme/platform", "group:beta/web")
		waitFor(t, "the memberships are stitched", func() bool {
			return slices.Equal(f.refs("relations.hasmember=user:default/bob"), []string{"group:beta/web"})
		})
		if got := f.refs("kind=group"); !slices.Equal(got, []string{"group:acme/platform", "group:beta/web"}) {
			t.Errorf("groups = %v (someone is a user, not an organization)", got)
		}
		// Apps may not read e-mail addresses, so none is asked for.
		if p := f.mustEntity("user:default/alice")["spec"].(map[string]any)["profile"].(map[string]any); p["email"] != nil {
			t.Errorf("alice's profile = %v", p)
		}
	}, Migrations)
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

// A githubOrg entry without its required keys, on a host that is not an
// integration, or with a bad schedule is a configuration error naming the
// key, whether the entries are a list or one object.
func TestGitHubOrgConfigErrors(t *testing.T) {
	integ, err := integrations.New(integrations.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	db := storetest.SQLite(t, Migrations)
	for _, tc := range []struct {
		yaml, want string
	}{
		{"- {id: p, orgs: [acme]}", "catalog.providers.githubOrg[0].githubUrl: missing"},
		{"{id: p, orgs: [acme]}", "catalog.providers.githubOrg.githubUrl: missing"},
		{"- {githubUrl: 'https://github.com', orgs: [acme]}", "catalog.providers.githubOrg[0].id: missing"},
		{"- {id: p, githubUrl: 'https://ghe.example.com', orgs: [acme]}", "catalog.providers.githubOrg[0].githubUrl: ghe.example.com is not an integrations.github host"},
		{"- {id: p, githubUrl: github.com, orgs: [acme]}", `catalog.providers.githubOrg[0].githubUrl: "github.com" is not a URL`},
		{"- {id: p, githubUrl: 'https://github.com'}", "catalog.providers.githubOrg[0].orgs: missing"},
		{"- {id: p, githubUrl: 'https://github.com', orgs: ['']}", "catalog.providers.githubOrg[0].orgs[0]"},
		{"- {id: p, githubUrl: 'https://github.com', orgs: [a]}\n- {id: p, githubUrl: 'https://github.com', orgs: [b]}", `catalog.providers.githubOrg[1].id: "p" is also the id of catalog.providers.githubOrg[0]`},
		{"- {id: p, githubUrl: 'https://github.com', orgs: [acme], schedule: {frequency: soon}}", "catalog.providers.githubOrg[0].schedule.frequency: expected a duration"},
		{"- {id: p, githubUrl: 'https://github.com', orgs: [acme], schedule: {frequency: {milliseconds: 10}}}", "catalog.providers.githubOrg[0].schedule.frequency: must be at least one second"},
		{"{id: p, githubUrl: 'https://github.com', orgs: [acme], schedule: {timeout: {fortnights: 1}}}", "catalog.providers.githubOrg.schedule.timeout.fortnights: unknown duration unit"},
	} {
		if _, err := githubOrgCatalog(t, db, integ, tc.yaml); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want %q", tc.yaml, err, tc.want)
		}
	}
	// Both shapes are accepted.
	for _, yaml := range []string{
		"{id: p, githubUrl: 'https://github.com', orgs: [acme], schedule: {frequency: {minutes: 60}, timeout: {minutes: 15}, initialDelay: {seconds: 15}}}",
		"- {id: p, githubUrl: 'https://github.com', orgs: [acme]}\n- {id: q, githubUrl: 'https://github.com', orgs: [beta, gamma]}",
	} {
		s, err := githubOrgCatalog(t, db, integ, yaml)
		if err != nil {
			t.Errorf("%s: %v", yaml, err)
			continue
		}
		var names []string
		for _, p := range s.providers {
			names = append(names, p.Name())
		}
		if !slices.Contains(names, "GithubMultiOrgEntityProvider:p") {
			t.Errorf("%s: providers %v", yaml, names)
		}
	}
}

// githubOrgCatalog decodes catalog.providers.githubOrg from YAML, as the
// configuration file gives it, and makes a catalog of it.
func githubOrgCatalog(t *testing.T, db *store.DB, integ *integrations.Set, yaml string) (*Service, error) {
	t.Helper()
	c, _, err := decodeProviders("githubOrg", yaml)
	if err != nil {
		return nil, err
	}
	return New(Options{DB: db, WatchInterval: -1, Integrations: integ, Config: c})
}

// decodeProviders decodes catalog.providers.<kind> from YAML, as the
// configuration file gives it, with the configuration's warnings
// (unknown keys).
func decodeProviders(kind, yaml string) (Config, []string, error) {
	doc := "catalog:\n  providers:\n    " + kind + ":\n" + indent(yaml, "      ") + "\n"
	cfg, err := config.Load(config.Options{Defaults: []config.Document{{Name: "app-config.yaml", Data: []byte(doc)}}, Environ: func() []string { return nil }})
	if err != nil {
		return Config{}, nil, err
	}
	var c Config
	if err := cfg.Decode("catalog", &c); err != nil {
		return Config{}, nil, err
	}
	return c, cfg.Warnings(), nil
}

func indent(s, prefix string) string {
	return prefix + strings.ReplaceAll(s, "\n", "\n"+prefix)
}
