package catalog

import (
	"context"
	"encoding/base64"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/integrations/integrationstest"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// The fake tenant every microsoftGraphOrg test starts from.
const (
	graphTenant = "0c5e6a3e-1b2c-4d5e-8f90-123456789abc"
	graphClient = "portico-app"
	graphSecret = "graph-secret"
)

var graphPhoto = []byte("\xff\xd8\xff\xe0 not really a jpeg")

// graphUsers are five people: dave's account is disabled (user.filter
// leaves him out), carol has no mailbox (named by her user principal
// name), alice has a photo.
func graphUsers() []integrationstest.GraphUser {
	return []integrationstest.GraphUser{
		{ID: "u-alice", DisplayName: "Alice Liddell", Mail: "Alice@contoso.com", UserPrincipalName: "alice@contoso.onmicrosoft.com", AccountEnabled: true, Photo: graphPhoto},
		{ID: "u-bob", DisplayName: "Bob", Mail: "bob@contoso.com", AccountEnabled: true},
		{ID: "u-carol", DisplayName: "Carol", UserPrincipalName: "carol@contoso.onmicrosoft.com", AccountEnabled: true},
		{ID: "u-dave", DisplayName: "Dave", Mail: "dave@contoso.com", AccountEnabled: false},
		{ID: "u-erin", DisplayName: "Erin", Mail: "erin@contoso.com", AccountEnabled: true},
	}
}

// graphGroups are security groups: Platform has alice and the SRE Team (a
// group in a group), SRE Team has bob and carol, Web Devs has erin; the
// newsletter is a mail list (not security enabled) that group.filter
// leaves out although alice is in it.
func graphGroups() []integrationstest.GraphGroup {
	return []integrationstest.GraphGroup{
		{ID: "g-platform", DisplayName: "Platform", MailNickname: "plat", Mail: "platform@contoso.com", Description: "The platform team", SecurityEnabled: true, Members: []string{"u-alice", "g-sre"}},
		{ID: "g-sre", DisplayName: "SRE Team", MailNickname: "sre", SecurityEnabled: true, Members: []string{"u-bob", "u-carol"}},
		{ID: "g-web", DisplayName: "Web Devs", SecurityEnabled: true, Members: []string{"u-erin"}},
		{ID: "g-news", DisplayName: "Newsletter", MailNickname: "news", MailEnabled: true, Members: []string{"u-alice", "u-bob"}},
	}
}

// newGraphTenant starts the fake Graph with pages of two items, so every
// listing takes several requests.
func newGraphTenant(t *testing.T) *integrationstest.MSGraph {
	t.Helper()
	g := integrationstest.NewMSGraph(t, graphTenant, graphClient, graphSecret)
	g.SetOrganization("Contoso Ltd.")
	g.SetUsers(graphUsers())
	g.SetGroups(graphGroups())
	g.SetPageSize(2)
	return g
}

// msGraphYAML is a provider's configuration for the fake, with extra
// lines.
func msGraphYAML(g *integrationstest.MSGraph, extra string) string {
	return fmt.Sprintf("target: %s\nauthority: %s\ntenantId: %s\nclientId: %s\nclientSecret: %s\n%s",
		g.Target(), g.URL, graphTenant, graphClient, graphSecret, extra)
}

// decodeMSGraphOrg decodes catalog.providers.microsoftGraphOrg from YAML,
// as the configuration file gives it, and fails on configuration warnings
// (unknown keys).
func decodeMSGraphOrg(t *testing.T, yaml string) (Config, error) {
	t.Helper()
	c, warnings, err := decodeProviders("microsoftGraphOrg", strings.TrimSpace(yaml))
	if len(warnings) > 0 {
		t.Errorf("configuration warnings: %v", warnings)
	}
	return c, err
}

// readMSGraphOrg reads the fake once with a provider "test" configured by
// yaml (the lines below its id).
func readMSGraphOrg(t *testing.T, yaml string) ([]DeferredEntity, *logRecorder, error) {
	t.Helper()
	cfg, err := decodeMSGraphOrg(t, "test:\n"+indent(strings.TrimSpace(yaml), "  "))
	if err != nil {
		t.Fatal(err)
	}
	r, err := newMSGraphOrgReader("catalog.providers.microsoftGraphOrg.test", "test", cfg.Providers.MicrosoftGraphOrg.Entries["test"], nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	r.log = slog.New(rec)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	des, err := r.read(ctx)
	return des, rec, err
}

const (
	graphRunOK     = "Microsoft Graph users and groups read"
	graphRunFailed = "entity provider run failed"
)

// catalog.providers.microsoftGraphOrg states a User per enabled user and a
// Group per security group of the tenant, under a root Group for the
// organization, with memberships and nesting resolved from group members
// and stitched both ways; a user deleted from the tenant disappears on the
// next run, and runs that cannot get a token keep the last good set and
// say why.
func TestMSGraphOrgProvider(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		g := newGraphTenant(t)
		cfg, err := decodeMSGraphOrg(t, "test:\n"+indent(msGraphYAML(g, `user: { filter: accountEnabled eq true }
group: { filter: securityEnabled eq true }
schedule: { frequency: { minutes: 30 }, timeout: { minutes: 3 } }`), "  "))
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Providers.MicrosoftGraphOrg.Entries["test"]
		c.Schedule.Frequency.Every = 100 * time.Millisecond
		cfg.Providers.MicrosoftGraphOrg.Entries["test"] = c
		rec := &logRecorder{}
		f := runLDAPCatalog(t, db, cfg, rec, "user:default/alice_contoso.com", "user:default/carol_contoso.onmicrosoft.com",
			"group:default/contoso_ltd", "group:default/platform", "group:default/sre_team", "group:default/web_devs")
		waitFor(t, "the memberships are stitched", func() bool {
			return slices.Equal(f.refs("relations.hasmember=user:default/carol_contoso.onmicrosoft.com"), []string{"group:default/sre_team"}) &&
				slices.Equal(f.refs("relations.parentof=group:default/web_devs"), []string{"group:default/contoso_ltd"}) &&
				slices.Equal(f.refs("relations.parentof=group:default/sre_team"), []string{"group:default/platform"})
		})

		wantUsers := []string{"user:default/alice_contoso.com", "user:default/bob_contoso.com", "user:default/carol_contoso.onmicrosoft.com", "user:default/erin_contoso.com"}
		if got := f.refs("kind=user"); !slices.Equal(got, wantUsers) {
			t.Errorf("users = %v, want %v (dave's account is disabled)", got, wantUsers)
		}
		if got := f.refs("kind=group"); !slices.Equal(got, []string{"group:default/contoso_ltd", "group:default/platform", "group:default/sre_team", "group:default/web_devs"}) {
			t.Errorf("groups = %v (the newsletter is not a security group)", got)
		}
		// Pages of two: the listings went on with $skiptoken.
		paged := 0
		for _, r := range g.Requests() {
			if r.Path == "/v1.0/users" && strings.Contains(r.Query, "skiptoken") {
				paged++
			}
			if !strings.HasPrefix(r.Authorization, "Bearer ") {
				t.Errorf("%s was sent without a token", r.Path)
			}
		}
		if paged == 0 {
			t.Errorf("no second page of users was read: %v", g.Requests())
		}

		alice := f.mustEntity("user:default/alice_contoso.com")
		if msgs := statusMessages(alice); msgs != "" {
			t.Errorf("alice has processing errors: %s", msgs)
		}
		spec := alice["spec"].(map[string]any)
		profile := spec["profile"].(map[string]any)
		wantPicture := "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(graphPhoto)
		if profile["displayName"] != "Alice Liddell" || profile["email"] != "Alice@contoso.com" || profile["picture"] != wantPicture {
			t.Errorf("alice's profile = %v", profile)
		}
		if got := spec["memberOf"].([]any); !slices.Equal(got, []any{"group:default/platform"}) {
			t.Errorf("alice's memberOf = %v, want platform only (the newsletter is not read)", got)
		}
		wantAnnotations(t, alice, "alice", map[string]string{
			AnnotationMSGraphUserID:           "u-alice",
			AnnotationMicrosoftEmail:          "Alice@contoso.com",
			AnnotationManagedByLocation:       "msgraph:test/u-alice",
			AnnotationManagedByOriginLocation: "msgraph:test/u-alice",
		})
		if got := relations(alice); !sameSet(got, []string{"memberOf group:default/platform"}) {
			t.Errorf("alice's relations = %v", got)
		}
		carol := f.mustEntity("user:default/carol_contoso.onmicrosoft.com")
		if p := carol["spec"].(map[string]any)["profile"].(map[string]any); p["email"] != nil || p["picture"] != nil || annotation(carol, AnnotationMicrosoftEmail) != "" {
			t.Errorf("carol has no mailbox and no photo: %v", carol)
		}

		root := f.mustEntity("group:default/contoso_ltd")
		rspec := root["spec"].(map[string]any)
		if rspec["type"] != "root" || rspec["parent"] != nil || !slices.Equal(rspec["children"].([]any), []any{"group:default/platform", "group:default/web_devs"}) {
			t.Errorf("the root's spec = %v", rspec)
		}
		if got := annotation(root, AnnotationMSGraphTenantID); got != graphTenant {
			t.Errorf("the root's %s = %q", AnnotationMSGraphTenantID, got)
		}
		if root["metadata"].(map[string]any)["description"] != "Contoso Ltd." {
			t.Errorf("the root's metadata = %v", root["metadata"])
		}
		if got := relations(root); !sameSet(got, []string{"parentOf group:default/platform", "parentOf group:default/web_devs"}) {
			t.Errorf("the root's relations = %v", got)
		}

		platform := f.mustEntity("group:default/platform")
		if msgs := statusMessages(platform); msgs != "" {
			t.Errorf("platform has processing errors: %s", msgs)
		}
		gspec := platform["spec"].(map[string]any)
		if gspec["type"] != "team" || gspec["parent"] != "group:default/contoso_ltd" || !slices.Equal(gspec["children"].([]any), []any{"group:default/sre_team"}) {
			t.Errorf("platform's spec = %v", gspec)
		}
		if p := gspec["profile"].(map[string]any); p["displayName"] != "Platform" || p["email"] != "platform@contoso.com" {
			t.Errorf("platform's profile = %v", p)
		}
		if platform["metadata"].(map[string]any)["description"] != "The platform team" {
			t.Errorf("platform's metadata = %v", platform["metadata"])
		}
		if got := annotation(platform, AnnotationMSGraphGroupID); got != "g-platform" {
			t.Errorf("platform's %s = %q", AnnotationMSGraphGroupID, got)
		}
		wantRel := []string{"childOf group:default/contoso_ltd", "hasMember user:default/alice_contoso.com", "parentOf group:default/sre_team"}
		if got := relations(platform); !sameSet(got, wantRel) {
			t.Errorf("platform's relations = %v, want %v", got, wantRel)
		}
		wantRel = []string{"childOf group:default/platform", "hasMember user:default/bob_contoso.com", "hasMember user:default/carol_contoso.onmicrosoft.com"}
		if got := relations(f.mustEntity("group:default/sre_team")); !sameSet(got, wantRel) {
			t.Errorf("sre_team's relations = %v, want %v", got, wantRel)
		}
		if got := f.refs("relations.memberof=group:default/sre_team"); !slices.Equal(got, []string{"user:default/bob_contoso.com", "user:default/carol_contoso.onmicrosoft.com"}) {
			t.Errorf("members of sre_team = %v", got)
		}

		// Carol leaves: the next run removes her.
		users := slices.DeleteFunc(graphUsers(), func(u integrationstest.GraphUser) bool { return u.ID == "u-carol" })
		g.SetUsers(users)
		waitFor(t, "carol is gone", func() bool {
			return f.entity("user:default/carol_contoso.onmicrosoft.com") == nil &&
				slices.Equal(f.refs("relations.memberof=group:default/sre_team"), []string{"user:default/bob_contoso.com"})
		})

		// The secret is rotated under the provider and its tokens revoked,
		// and erin leaves meanwhile: failed runs say why and change
		// nothing; the first good run removes erin.
		g.SetClientSecret("rotated")
		g.RevokeTokens()
		g.SetUsers(slices.DeleteFunc(users, func(u integrationstest.GraphUser) bool { return u.ID == "u-erin" }))
		failed := rec.count(graphRunFailed)
		waitFor(t, "two more runs failed", func() bool { return rec.count(graphRunFailed) >= failed+2 })
		msg := rec.last(graphRunFailed)
		for _, want := range []string{"catalog.providers.microsoftGraphOrg.test: no token for Microsoft Graph (check tenantId, clientId, clientSecret",
			"401 Unauthorized: invalid_client: AADSTS7000215: Invalid client secret provided"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the failed run logged %q, want it to contain %q", msg, want)
			}
		}
		if strings.Contains(msg, "Trace ID") {
			t.Errorf("the failed run logged Entra ID's trace lines: %q", msg)
		}
		if got := f.refs("kind=user"); !slices.Contains(got, "user:default/erin_contoso.com") || len(got) != 3 {
			t.Errorf("users after failed runs = %v, want the last good set", got)
		}
		g.SetClientSecret(graphSecret)
		waitFor(t, "erin is gone", func() bool { return f.entity("user:default/erin_contoso.com") == nil })
		if got := f.refs("kind=group"); len(got) != 4 {
			t.Errorf("groups after erin left = %v", got)
		}
	}, Migrations)
}

// Graph failing fails the run with the status, Graph's code and message,
// and the provider's key; a group's members cannot be half read.
func TestMSGraphOrgGraphFailure(t *testing.T) {
	g := newGraphTenant(t)
	g.FailGraph(true)
	_, _, err := readMSGraphOrg(t, msGraphYAML(g, ""))
	if err == nil || !strings.Contains(err.Error(), "catalog.providers.microsoftGraphOrg.test: Microsoft Graph GET /users: 500 Internal Server Error: UnknownError: The service is failing") {
		t.Errorf("failing Graph: %v", err)
	}
	g.FailGraph(false)
	_, _, err = readMSGraphOrg(t, msGraphYAML(g, "user: { filter: \"startswith(displayName,'A')\" }"))
	if err == nil || !strings.Contains(err.Error(), "Microsoft Graph refused the query (check the filter") || !strings.Contains(err.Error(), "400 Bad Request: Request_UnsupportedQuery") {
		t.Errorf("a filter Graph refuses: %v", err)
	}
	if _, _, err := readMSGraphOrg(t, strings.Replace(msGraphYAML(g, ""), graphTenant, "other-tenant", 1)); err == nil ||
		!strings.Contains(err.Error(), "no token for Microsoft Graph") || !strings.Contains(err.Error(), "AADSTS90002: Tenant 'other-tenant' not found.") {
		t.Errorf("an unknown tenant: %v", err)
	}
}

// The query options choose what is read: $search with the
// ConsistencyLevel header, users from the members of selected groups,
// sub-groups of the groups selected, $select, and no photos.
func TestMSGraphOrgQueries(t *testing.T) {
	g := newGraphTenant(t)
	refs := func(des []DeferredEntity) []string {
		got := deferredRefs(des)
		slices.Sort(got)
		return got
	}

	// $search needs the header; the fake refuses it otherwise.
	des, _, err := readMSGraphOrg(t, msGraphYAML(g, `group: { search: '"displayName:team"' }`))
	if err != nil {
		t.Fatal(err)
	}
	if got := refs(des); !slices.Contains(got, "group:default/sre_team") || slices.Contains(got, "group:default/platform") {
		t.Errorf("groups searched for team: %v", got)
	}
	var sawSearch bool
	for _, r := range g.Requests() {
		if r.Path == "/v1.0/groups" && strings.Contains(r.Query, "search") {
			sawSearch = true
			if r.ConsistencyLevel != "eventual" || !strings.Contains(r.Query, "count=true") {
				t.Errorf("a $search request without ConsistencyLevel: eventual and $count: %+v", r)
			}
		}
	}
	if !sawSearch {
		t.Error("no $search request was sent")
	}

	// Users are the members of the groups userGroupMember selects; the
	// groups are Platform and, through includeSubGroups, SRE Team.
	before := len(g.Requests())
	des, _, err = readMSGraphOrg(t, msGraphYAML(g, `
user: { loadPhotos: false, select: [id, displayName, mail, userPrincipalName] }
userGroupMember: { filter: "displayName eq 'SRE Team'" }
group: { filter: "displayName eq 'Platform'", includeSubGroups: true }`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"group:default/contoso_ltd", "group:default/platform", "group:default/sre_team", "user:default/bob_contoso.com", "user:default/carol_contoso.onmicrosoft.com"}
	if got := refs(des); !slices.Equal(got, want) {
		t.Errorf("entities = %v, want %v", got, want)
	}
	for _, d := range des {
		switch d.Entity.Metadata.Name {
		case "sre_team":
			if d.Entity.Spec["parent"] != "group:default/platform" {
				t.Errorf("sre_team (a sub-group) = %+v", d.Entity.Spec)
			}
		case "bob_contoso.com":
			if p := d.Entity.Spec["profile"].(map[string]any); p["picture"] != nil {
				t.Errorf("bob has a picture with loadPhotos: false: %v", p)
			}
			if got := d.Entity.Spec["memberOf"].([]any); !slices.Equal(got, []any{"group:default/sre_team"}) {
				t.Errorf("bob's memberOf = %v", got)
			}
		}
	}
	for _, r := range g.Requests()[before:] {
		if strings.Contains(r.Path, "/photos") {
			t.Errorf("a photo was read with loadPhotos: false: %s", r.Path)
			break
		}
	}

	// queryMode: advanced sends the header on plain listings too.
	before = len(g.Requests())
	if _, _, err := readMSGraphOrg(t, msGraphYAML(g, "queryMode: advanced\nuser: { filter: accountEnabled eq true, loadPhotos: false }")); err != nil {
		t.Fatal(err)
	}
	for _, r := range g.Requests()[before:] {
		if r.Path == "/v1.0/users" && r.ConsistencyLevel != "eventual" {
			t.Errorf("queryMode: advanced listed users without ConsistencyLevel: %+v", r)
		}
	}
}

// Names follow Backstage's msgraph module: a user's mail (else user
// principal name), a security group's display name, another group's mail
// nickname, all normalized.
func TestMSGraphNames(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice@contoso.com", "alice_contoso.com"},
		{"  Bob.Smith@Contoso.COM ", "bob.smith_contoso.com"},
		{"my group (Reader)", "my_group_reader"},
		{"R&D -- Ops!!", "r_d_--_ops"},
		{"Contoso Ltd.", "contoso_ltd"},
		{"(Reader) group", "reader_group"},
		{"Zoë", "zo"},
		{"___", ""},
	} {
		if got := normalizeMSGraphName(tc.in); got != tc.want {
			t.Errorf("normalizeMSGraphName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	for _, tc := range []struct {
		user graphUser
		want string
	}{
		{graphUser{Mail: "a@x.com", UserPrincipalName: "b@x.onmicrosoft.com"}, "a_x.com"},
		{graphUser{UserPrincipalName: "b@x.onmicrosoft.com"}, "b_x.onmicrosoft.com"},
	} {
		if got := msGraphUserName(tc.user); got != tc.want {
			t.Errorf("msGraphUserName(%+v) = %q, want %q", tc.user, got, tc.want)
		}
	}
	for _, tc := range []struct {
		group graphGroup
		want  string
	}{
		{graphGroup{DisplayName: "SRE Team", MailNickname: "sre", SecurityEnabled: true}, "sre_team"},
		{graphGroup{DisplayName: "All Staff", MailNickname: "allstaff"}, "allstaff"},
		{graphGroup{DisplayName: "No Nickname"}, "no_nickname"},
	} {
		if got := msGraphGroupName(tc.group); got != tc.want {
			t.Errorf("msGraphGroupName(%+v) = %q, want %q", tc.group, got, tc.want)
		}
	}
}

// A microsoftGraphOrg entry without its required keys or with bad values
// is a configuration error naming the key and the fix.
func TestMSGraphOrgConfigErrors(t *testing.T) {
	const creds = "tenantId: t1\nclientId: app\nclientSecret: s\n"
	for _, tc := range []struct {
		yaml, want string
	}{
		{"corp: { clientId: app, clientSecret: s }", "catalog.providers.microsoftGraphOrg.corp.tenantId: missing"},
		{"corp: { tenantId: 'a/b', clientId: app, clientSecret: s }", `catalog.providers.microsoftGraphOrg.corp.tenantId: "a/b" is not a tenant id`},
		{"corp: { tenantId: t1 }", "catalog.providers.microsoftGraphOrg.corp.clientId: missing; Portico reads Microsoft Graph with an app registration's client credentials"},
		{"corp: { tenantId: t1, clientSecret: s }", "catalog.providers.microsoftGraphOrg.corp.clientId: missing"},
		{"corp: { tenantId: t1, clientId: app }", "catalog.providers.microsoftGraphOrg.corp.clientSecret: missing"},
		{"tenantId: t1\nclientId: app", "catalog.providers.microsoftGraphOrg.clientSecret: missing"},
		{"corp:\n" + indent(creds+"target: graph.microsoft.com", "  "), `catalog.providers.microsoftGraphOrg.corp.target: "graph.microsoft.com" is not a URL`},
		{"corp:\n" + indent(creds+"authority: 'login'", "  "), `catalog.providers.microsoftGraphOrg.corp.authority: "login" is not a URL`},
		{"corp:\n" + indent(creds+"queryMode: fancy", "  "), `catalog.providers.microsoftGraphOrg.corp.queryMode: "fancy" is not basic or advanced`},
		{"corp:\n" + indent(creds+"user: { filter: accountEnabled eq true }\nuserGroupMember: { filter: x eq 1 }", "  "), "catalog.providers.microsoftGraphOrg.corp.user.filter: cannot be used with userGroupMember.filter"},
		{"corp:\n" + indent(creds+"user: { filter: accountEnabled eq true }\nuserGroupMember: { search: '\"displayName:x\"' }", "  "), "catalog.providers.microsoftGraphOrg.corp.user.filter: cannot be used with userGroupMember.search"},
		{"corp:\n" + indent(creds+"group: { search: 'displayName:team' }", "  "), "catalog.providers.microsoftGraphOrg.corp.group.search: \"displayName:team\" has no quoted terms"},
		{"corp:\n" + indent(creds+"user: { select: id }", "  "), "catalog.providers.microsoftGraphOrg.corp.user.select"},
		{"corp:\n" + indent(creds+"user: { loadPhotos: sometimes }", "  "), "catalog.providers.microsoftGraphOrg.corp.user.loadPhotos"},
		{"corp:\n" + indent(creds+"schedule: { frequency: soon }", "  "), "catalog.providers.microsoftGraphOrg.corp.schedule.frequency: expected a duration"},
		{"corp:\n" + indent(creds+"schedule: { timeout: { fortnights: 1 } }", "  "), "catalog.providers.microsoftGraphOrg.corp.schedule.timeout.fortnights: unknown duration unit"},
	} {
		cfg, err := decodeMSGraphOrg(t, tc.yaml)
		if err == nil {
			_, err = newDiscoveries(cfg.Providers, nil, slog.New(&logRecorder{}))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.yaml, err, tc.want)
		}
	}

	// Backstage's full example is accepted, by id or written directly
	// (then named default), and names its provider as Backstage does.
	full := `target: https://graph.microsoft.com/v1.0
authority: https://login.microsoftonline.com
tenantId: t1
clientId: app
clientSecret: s
queryMode: basic
user: { filter: accountEnabled eq true and userType eq 'member', expand: manager, select: [id, displayName, mail], loadPhotos: true }
userGroupMember: { search: '"description:One" AND ("displayName:Video" OR "displayName:Drive")' }
group: { filter: securityEnabled eq true, search: '"displayName:team"', select: [id, displayName, description], expand: member, includeSubGroups: true }
schedule: { frequency: { hours: 1 }, timeout: { minutes: 50 }, initialDelay: { seconds: 15 } }`
	full = strings.Replace(full, "user: { filter: accountEnabled eq true and userType eq 'member', ", "user: { ", 1) // user.filter and userGroupMember.search exclude each other
	for yaml, name := range map[string]string{full: "MicrosoftGraphOrgEntityProvider:default", "production:\n" + indent(full, "  "): "MicrosoftGraphOrgEntityProvider:production"} {
		cfg, err := decodeMSGraphOrg(t, yaml)
		if err != nil {
			t.Fatal(err)
		}
		ps, err := newDiscoveries(cfg.Providers, nil, slog.New(&logRecorder{}))
		if err != nil {
			t.Fatalf("%s: %v", yaml, err)
		}
		if len(ps) != 1 || ps[0].Name() != name {
			t.Errorf("providers = %v, want %s", ps, name)
		}
	}
}

// A tenant given by its domain is read too: Graph knows organizations
// only by GUID, so the root group comes from the organization the token's
// tenant lists.
func TestMSGraphOrgTenantDomain(t *testing.T) {
	g := integrationstest.NewMSGraph(t, "contoso.onmicrosoft.com", graphClient, graphSecret)
	g.SetOrganization("Contoso")
	g.SetGroups([]integrationstest.GraphGroup{{ID: "g-web", DisplayName: "Web", SecurityEnabled: true}})
	des, _, err := readMSGraphOrg(t, strings.Replace(msGraphYAML(g, ""), graphTenant, "contoso.onmicrosoft.com", 1))
	if err != nil {
		t.Fatal(err)
	}
	if got := deferredRefs(des); !slices.Equal(got, []string{"group:default/contoso", "group:default/web"}) {
		t.Errorf("entities = %v", got)
	}
	if root := des[0].Entity; root.Metadata.Annotations[AnnotationMSGraphTenantID] != "contoso.onmicrosoft.com" || !slices.Equal(root.Spec["children"].([]any), []any{"group:default/web"}) {
		t.Errorf("root = %+v", root)
	}
	for _, r := range g.Requests() {
		if strings.HasPrefix(r.Path, "/v1.0/organization/") {
			t.Errorf("the organization was read by the domain: %s", r.Path)
		}
	}
}

// Relations follow Backstage's msgraph module where groups nest in
// several groups or in groups that were not read.
func TestResolveMSGraphRelations(t *testing.T) {
	item := func(kind, name, id string) msGraphItem {
		spec := map[string]any{"children": []any{}}
		if kind == "User" {
			spec = map[string]any{"memberOf": []any{}}
		}
		return msGraphItem{graphID: id, e: &Entity{APIVersion: APIVersionV1alpha1, Kind: kind, Metadata: Metadata{Name: name, Namespace: DefaultNamespace}, Spec: spec}}
	}
	root := item("Group", "contoso", "tenant")
	groups := []msGraphItem{item("Group", "a", "ga"), item("Group", "b", "gb"), item("Group", "shared", "gs"), item("Group", "loose", "gl")}
	users := []msGraphItem{item("User", "u", "uu")}
	resolveMSGraphRelations(&root, groups, users, msGraphMembers{
		// shared is in a and b; loose is in no group read (only the
		// members of groups read are known); u is in shared and b, and in
		// a group that is not stated.
		groupGroups: map[string][]string{"ga": {"gs"}, "gb": {"gs"}},
		userGroups:  map[string][]string{"uu": {"gs", "gb", "g-unread"}},
	})
	spec := func(it msGraphItem) map[string]any { return it.e.Spec }
	if got := spec(root)["children"]; !slices.Equal(got.([]any), []any{"group:default/a", "group:default/b", "group:default/loose"}) {
		t.Errorf("root's children = %v, want every group in no group", got)
	}
	if spec(groups[2])["parent"] != "group:default/a" {
		t.Errorf("shared's parent = %v, want the first group read that holds it", spec(groups[2])["parent"])
	}
	if !slices.Equal(spec(groups[1])["children"].([]any), []any{"group:default/shared"}) {
		t.Errorf("b's children = %v", spec(groups[1])["children"])
	}
	if spec(groups[3])["parent"] != "group:default/contoso" || spec(groups[0])["parent"] != "group:default/contoso" || spec(root)["parent"] != nil {
		t.Errorf("loose's parent = %v, a's = %v, the root's = %v", spec(groups[3])["parent"], spec(groups[0])["parent"], spec(root)["parent"])
	}
	if got := spec(users[0])["memberOf"]; !slices.Equal(got.([]any), []any{"group:default/b", "group:default/shared"}) {
		t.Errorf("u's memberOf = %v", got)
	}
}
