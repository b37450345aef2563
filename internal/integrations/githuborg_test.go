package integrations_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
)

// acmeOrg is a fake organization with a nested team (platform > sre), a
// team with more members than a page (big) and a member in no team.
func acmeOrg() integrationstest.Org {
	o := integrationstest.Org{
		Members: []integrationstest.OrgUser{
			{Login: "alice", Name: "Alice Liddell", Email: "alice@acme.example", AvatarURL: "https://avatars.example/alice", Bio: "Runs the platform"},
			{Login: "bob", Name: "Bob"},
			{Login: "carol"},
		},
		Teams: []integrationstest.OrgTeam{
			{Slug: "platform", Name: "Platform", Description: "The platform team", Members: []string{"alice"}},
			{Slug: "sre", Name: "SRE", Parent: "platform", Members: []string{"bob"}},
			{Slug: "big", Name: "Big"},
		},
	}
	for i := range 5 {
		login := fmt.Sprintf("user-%d", i)
		o.Members = append(o.Members, integrationstest.OrgUser{Login: login})
		o.Teams[2].Members = append(o.Teams[2].Members, login)
	}
	return o
}

// An organization's members come with their profiles and its teams with
// their parents and immediate members (not those of child teams), page
// by page, through GraphQL; a team's members beyond the first page are
// read with a query of their own.
func TestGitHubOrganization(t *testing.T) {
	gh := integrationstest.NewGitHub(t, t.TempDir(), "ghp_org")
	gh.SetOrg("acme", acmeOrg())
	gh.SetGraphQLPageSize(2)
	set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config("ghp_org")}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	org, err := set.GitHubOrganization(t.Context(), gh.Host(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(org.Users) != 8 {
		t.Errorf("users = %+v, want 8", org.Users)
	}
	if got := org.Users[0]; got != (integrations.GitHubUser{Login: "alice", Name: "Alice Liddell", Email: "alice@acme.example", AvatarURL: "https://avatars.example/alice", Bio: "Runs the platform"}) {
		t.Errorf("alice = %+v", got)
	}
	teams := map[string]integrations.GitHubTeam{}
	for _, tm := range org.Teams {
		teams[tm.Slug] = tm
	}
	if len(teams) != 3 {
		t.Fatalf("teams = %+v", org.Teams)
	}
	p := teams["platform"]
	if p.Name != "Platform" || p.Description != "The platform team" || p.CombinedSlug != "acme/platform" || p.ParentSlug != "" ||
		p.EditTeamURL != gh.URL+"/orgs/acme/teams/platform/edit" {
		t.Errorf("platform = %+v", p)
	}
	if !slices.Equal(p.Members, []string{"alice"}) {
		t.Errorf("platform members = %v, want only its immediate member (bob is in the child team sre)", p.Members)
	}
	if s := teams["sre"]; s.ParentSlug != "platform" || !slices.Equal(s.Members, []string{"bob"}) {
		t.Errorf("sre = %+v", s)
	}
	if b := teams["big"]; len(b.Members) != 5 || b.Members[4] != "user-4" {
		t.Errorf("big members = %v, want all 5 across pages", b.Members)
	}
	calls := 0
	for _, r := range gh.Requests() {
		if r.Path == "/api/graphql" {
			calls++
			if r.Authorization != "Bearer ghp_org" {
				t.Errorf("GraphQL call with %q", r.Authorization)
			}
		}
	}
	// Members: 4 pages of 2; teams: 2 pages of 2; big's members: 2 more
	// pages after the first 2.
	if calls != 8 {
		t.Errorf("%d GraphQL calls, want 8", calls)
	}
}

// Errors name the organization and what to check: an unknown
// organization, no credentials, a refused token, a failing host.
func TestGitHubOrganizationErrors(t *testing.T) {
	gh := integrationstest.NewGitHub(t, t.TempDir(), "ghp_org")
	gh.SetOrg("acme", acmeOrg())
	read := func(token, org string) error {
		t.Helper()
		set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{gh.Config(token)}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = set.GitHubOrganization(t.Context(), gh.Host(), org)
		return err
	}
	if err := read("ghp_org", "nope"); !errs.Is(err, errs.NotFound) || !strings.Contains(err.Error(), "Could not resolve to an Organization with the login of 'nope'") {
		t.Errorf("unknown organization: %v", err)
	}
	if err := read("", "acme"); err == nil || !strings.Contains(err.Error(), "set a token or apps in integrations.github (host "+gh.Host()+")") {
		t.Errorf("no credentials: %v", err)
	}
	if err := read("ghp_wrong", "acme"); err == nil || !strings.Contains(err.Error(), "HTTP 401: Bad credentials") || !strings.Contains(err.Error(), "read:org") {
		t.Errorf("refused token: %v", err)
	}
	gh.FailGraphQL(true)
	if err := read("ghp_org", "acme"); err == nil || !strings.Contains(err.Error(), "HTTP 502") {
		t.Errorf("failing host: %v", err)
	}
	set, err := integrations.New(integrations.Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.GitHubOrganization(t.Context(), "ghe.example.com", "acme"); err == nil || !strings.Contains(err.Error(), "no integrations.github entry for host ghe.example.com") {
		t.Errorf("unknown host: %v", err)
	}
}

// With a GitHub App installed on the organization, its installation
// token reads the organization, and e-mail addresses (which apps may not
// read) are not asked for.
func TestGitHubOrganizationWithApp(t *testing.T) {
	gh := integrationstest.NewGitHub(t, t.TempDir(), "ghp_unused")
	gh.SetOrg("acme", acmeOrg())
	app := gh.AddApp(t, "42", "acme")
	cfg := gh.Config("")
	cfg.Apps = []integrations.GitHubAppConfig{app.Config()}
	set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{cfg}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	org, err := set.GitHubOrganization(t.Context(), gh.Host(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if len(org.Users) != 8 || org.Users[0].Email != "" || org.Users[0].Name != "Alice Liddell" {
		t.Errorf("users read with the app = %+v", org.Users)
	}
	if app.TokenCalls() != 1 {
		t.Errorf("%d installation tokens bought, want 1", app.TokenCalls())
	}
}

// Without a list of organizations, the ones the integration's GitHub Apps
// are installed on are read: not users, not suspended installations, not
// owners outside an app's allowedInstallationOwners; installations are
// listed page by page.
func TestGitHubAppOrganizations(t *testing.T) {
	gh := integrationstest.NewGitHub(t, t.TempDir(), "ghp_unused")
	for _, org := range []string{"acme", "Beta", "gamma", "delta"} {
		gh.SetOrg(org, integrationstest.Org{})
	}
	app := gh.AddApp(t, "42", "gamma", "someone", "Beta", "acme", "delta")
	app.Suspend("delta")
	app.SetPageSize(2)
	other := gh.AddApp(t, "43", "acme", "epsilon")
	gh.SetOrg("epsilon", integrationstest.Org{})
	list := func(apps ...integrations.GitHubAppConfig) ([]string, error) {
		t.Helper()
		cfg := gh.Config("")
		cfg.Apps = apps
		set, err := integrations.New(integrations.Config{GitHub: []integrations.GitHubConfig{cfg}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		return set.GitHubAppOrganizations(t.Context(), gh.Host())
	}
	got, err := list(app.Config(), other.Config())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"acme", "Beta", "epsilon", "gamma"}; !slices.Equal(got, want) {
		t.Errorf("organizations = %v, want %v (someone is a user, delta suspended)", got, want)
	}
	limited := app.Config()
	limited.AllowedInstallationOwners = []string{"beta"}
	if got, err := list(limited); err != nil || !slices.Equal(got, []string{"Beta"}) {
		t.Errorf("organizations of an app limited to beta = %v, %v", got, err)
	}
	if _, err := list(); err == nil || !strings.Contains(err.Error(), "needs GitHub Apps in integrations.github (host "+gh.Host()+")") {
		t.Errorf("without apps: %v", err)
	}
}
