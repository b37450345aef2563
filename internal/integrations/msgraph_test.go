package integrations_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/integrations/integrationstest"
)

func graphFake(t *testing.T) *integrationstest.MSGraph {
	t.Helper()
	g := integrationstest.NewMSGraph(t, "tenant-1", "app-1", "secret-1")
	var users []integrationstest.GraphUser
	for _, id := range []string{"a", "b", "c", "d", "e"} {
		users = append(users, integrationstest.GraphUser{ID: id, DisplayName: strings.ToUpper(id), Mail: id + "@contoso.com", AccountEnabled: id != "c"})
	}
	g.SetUsers(users)
	g.SetGroups([]integrationstest.GraphGroup{{ID: "g1", DisplayName: "Team One", SecurityEnabled: true, Members: []string{"a", "b"}}})
	g.SetPageSize(2)
	return g
}

func newGraphClient(t *testing.T, cfg integrations.MSGraphConfig) *integrations.MSGraph {
	t.Helper()
	c, err := integrations.NewMSGraph(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// listIDs lists a collection's ids.
func listIDs(ctx context.Context, c *integrations.MSGraph, path string, q integrations.MSGraphQuery) ([]string, error) {
	var ids []string
	err := c.List(ctx, path, q, func(raw json.RawMessage) error {
		var o struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(raw, &o); err != nil {
			return err
		}
		ids = append(ids, o.ID)
		return nil
	})
	return ids, err
}

// A collection is read page by page through @odata.nextLink with one token,
// which is renewed shortly before it expires and when Graph refuses it.
func TestMSGraphPagingAndTokens(t *testing.T) {
	g := graphFake(t)
	ctx := context.Background()
	c := newGraphClient(t, g.Config())

	ids, err := listIDs(ctx, c, "users", integrations.MSGraphQuery{Top: 999})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"a", "b", "c", "d", "e"}) {
		t.Errorf("users = %v", ids)
	}
	ids, err = listIDs(ctx, c, "users", integrations.MSGraphQuery{Filter: "accountEnabled eq true", Select: []string{"id", "mail"}})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"a", "b", "d", "e"}) {
		t.Errorf("enabled users = %v", ids)
	}
	if n := len(g.Requests()); n != 5 {
		t.Errorf("%d requests for 5 and 4 users in pages of 2, want 5", n)
	}
	for _, r := range g.Requests() {
		if strings.Contains(r.Query, "+") && !strings.Contains(r.Query, "skiptoken") { // next links are Graph's own
			t.Errorf("query %q encodes a space as +, which OData reads literally", r.Query)
		}
		if r.ConsistencyLevel != "" {
			t.Errorf("a basic query sent ConsistencyLevel: %+v", r)
		}
	}
	if n := g.TokenRequests(); n != 1 {
		t.Errorf("%d token requests, want 1 (cached)", n)
	}

	// Graph stops accepting the token: it is renewed once and the request
	// goes through.
	g.RevokeTokens()
	var org map[string]any
	if err := c.Get(ctx, "organization/tenant-1", integrations.MSGraphQuery{}, &org); err != nil {
		t.Fatal(err)
	}
	if org["displayName"] != "Contoso" || g.TokenRequests() != 2 {
		t.Errorf("organization = %v after %d token requests", org, g.TokenRequests())
	}

	// A token of two seconds is renewed after one.
	g.SetTokenLifetime(2 * time.Second)
	short := newGraphClient(t, g.Config())
	before := g.TokenRequests()
	for range 2 {
		if err := short.Get(ctx, "organization/tenant-1", integrations.MSGraphQuery{}, &org); err != nil {
			t.Fatal(err)
		}
	}
	if n := g.TokenRequests() - before; n != 1 {
		t.Errorf("%d token requests for two reads at once, want 1", n)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := short.Get(ctx, "organization/tenant-1", integrations.MSGraphQuery{}, &org); err != nil {
		t.Fatal(err)
	}
	if n := g.TokenRequests() - before; n != 2 {
		t.Errorf("%d token requests after the token neared its expiry, want 2", n)
	}
}

// $search is sent with ConsistencyLevel: eventual and $count, which Graph
// demands; throttled requests are retried after Retry-After.
func TestMSGraphSearchAndThrottling(t *testing.T) {
	g := graphFake(t)
	ctx := context.Background()
	c := newGraphClient(t, g.Config())
	g.ThrottleNext(2)
	ids, err := listIDs(ctx, c, "groups", integrations.MSGraphQuery{Search: `"displayName:one"`})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ids, []string{"g1"}) {
		t.Errorf("groups searched = %v", ids)
	}
	reqs := g.Requests()
	if len(reqs) != 3 {
		t.Errorf("requests = %+v, want two throttled and one served", reqs)
	}
	last := reqs[len(reqs)-1]
	if last.ConsistencyLevel != "eventual" || !strings.Contains(last.Query, "$count=true") || !strings.Contains(last.Query, "$search=%22displayName%3Aone%22") {
		t.Errorf("search request = %+v", last)
	}
}

// Failures are errors that say what was asked, the status, and Graph's (or
// Entra ID's) code and message.
func TestMSGraphErrors(t *testing.T) {
	g := graphFake(t)
	ctx := context.Background()

	c := newGraphClient(t, g.Config())
	_, err := listIDs(ctx, c, "groups/nope/members", integrations.MSGraphQuery{})
	if !integrations.IsMSGraphNotFound(err) || err.Error() != "Microsoft Graph GET /groups/nope/members: 404 Not Found: Request_ResourceNotFound: Resource 'nope' does not exist." {
		t.Errorf("a missing group: %v", err)
	}
	g.FailGraph(true)
	_, err = listIDs(ctx, c, "users", integrations.MSGraphQuery{})
	var ge *integrations.MSGraphError
	if !errors.As(err, &ge) || ge.Status != 500 || ge.Code != "UnknownError" {
		t.Errorf("failing Graph: %v", err)
	}
	g.FailGraph(false)

	cfg := g.Config()
	cfg.ClientSecret = "wrong"
	_, err = listIDs(ctx, newGraphClient(t, cfg), "users", integrations.MSGraphQuery{})
	want := "Microsoft Graph token request to " + g.URL + "/tenant-1/oauth2/v2.0/token: 401 Unauthorized: invalid_client: AADSTS7000215: Invalid client secret provided."
	if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "Trace ID") {
		t.Errorf("a wrong secret: %v\nwant %s…", err, want)
	}

	for _, tc := range []struct {
		cfg  integrations.MSGraphConfig
		want string
	}{
		{integrations.MSGraphConfig{TenantID: "t", ClientID: "a"}, "clientId and clientSecret are both needed"},
		{integrations.MSGraphConfig{ClientID: "a", ClientSecret: "s"}, `tenantId "" is not a tenant id`},
		{integrations.MSGraphConfig{Target: "ftp://x", TenantID: "t", ClientID: "a", ClientSecret: "s"}, `target "ftp://x" is not an http(s) URL`},
		{integrations.MSGraphConfig{Authority: "login", TenantID: "t", ClientID: "a", ClientSecret: "s"}, `authority "login" is not an http(s) URL`},
	} {
		if _, err := integrations.NewMSGraph(tc.cfg, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}

// A next link to another host is refused: the token goes only to Graph.
func TestMSGraphForeignNextLink(t *testing.T) {
	var leaked atomic.Bool
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { leaked.Store(true) }))
	defer other.Close()
	mux := http.NewServeMux()
	mux.HandleFunc("POST /t/oauth2/v2.0/token", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "tok", "expires_in": 3600})
	})
	mux.HandleFunc("GET /v1.0/users", func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(map[string]any{"value": []any{map[string]any{"id": "a"}}, "@odata.nextLink": other.URL + "/v1.0/users?$skiptoken=1"})
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	c := newGraphClient(t, integrations.MSGraphConfig{Target: srv.URL + "/v1.0", Authority: srv.URL, TenantID: "t", ClientID: "a", ClientSecret: "s"})
	_, err := listIDs(context.Background(), c, "users", integrations.MSGraphQuery{})
	if err == nil || !strings.Contains(err.Error(), "the next page's link") || leaked.Load() {
		t.Errorf("a next link to another host: %v (followed: %v)", err, leaked.Load())
	}
}
