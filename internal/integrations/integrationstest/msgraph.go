package integrationstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/integrations"
)

// GraphUser is a user of the fake Microsoft Graph tenant.
type GraphUser struct {
	ID, DisplayName, Mail, UserPrincipalName string
	AccountEnabled                           bool
	// Photo is the user's photo (served as JPEG in 48, 120 and 240 pixel
	// sizes, all the same bytes); none: photo requests answer 404.
	Photo []byte
}

// GraphGroup is a group of the fake tenant. Members are the ids of its
// direct members, users or groups.
type GraphGroup struct {
	ID, DisplayName, MailNickname, Mail, Description string
	SecurityEnabled, MailEnabled                     bool
	Members                                          []string
}

// GraphRequest is a request the fake Graph received.
type GraphRequest struct {
	Path, Query      string
	Authorization    string
	ConsistencyLevel string
}

// MSGraph is a fake Microsoft Graph with its Entra ID token endpoint, on a
// real listener. It issues tokens by the client credentials grant to the
// one application it knows, accepts only unexpired tokens it issued, and
// serves users, groups, group members, the organization and user photos in
// pages with @odata.nextLink. $filter understands "<property> eq <value>"
// clauses joined by "and"; $search ("property:text") needs the
// ConsistencyLevel: eventual header, as Graph's does.
type MSGraph struct {
	// URL is the server's root: the authority (tokens are at
	// /<tenant>/oauth2/v2.0/token); Graph is below /v1.0.
	URL                string
	TenantID, ClientID string

	mu           sync.Mutex
	clientSecret string
	orgName      string
	users        []GraphUser
	groups       []GraphGroup
	pageSize     int
	failing      bool
	throttle     int
	tokenLife    time.Duration
	tokens       map[string]time.Time
	tokenCalls   int
	reqs         []GraphRequest
}

// NewMSGraph starts a fake Graph for one tenant and application; it stops
// with the test.
func NewMSGraph(t testing.TB, tenantID, clientID, clientSecret string) *MSGraph {
	t.Helper()
	m := &MSGraph{TenantID: tenantID, ClientID: clientID, clientSecret: clientSecret, orgName: "Contoso",
		tokenLife: time.Hour, tokens: map[string]time.Time{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /{tenant}/oauth2/v2.0/token", m.token)
	mux.HandleFunc("GET /v1.0/organization", m.graph(m.organizations))
	mux.HandleFunc("GET /v1.0/organization/{id}", m.graph(m.organization))
	mux.HandleFunc("GET /v1.0/users", m.graph(m.listUsers))
	mux.HandleFunc("GET /v1.0/users/{id}/photos", m.graph(m.photos))
	mux.HandleFunc("GET /v1.0/users/{id}/photos/{size}/{value}", m.graph(m.photo))
	mux.HandleFunc("GET /v1.0/groups", m.graph(m.listGroups))
	mux.HandleFunc("GET /v1.0/groups/{id}/members", m.graph(m.members))
	mux.HandleFunc("GET /v1.0/groups/{id}/members/microsoft.graph.user", m.graph(m.userMembers))
	mux.HandleFunc("GET /v1.0/groups/{id}/members/microsoft.graph.user/", m.graph(m.userMembers))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	m.URL = srv.URL
	return m
}

// Config is the client configuration that reaches this fake.
func (m *MSGraph) Config() integrations.MSGraphConfig {
	m.mu.Lock()
	defer m.mu.Unlock()
	return integrations.MSGraphConfig{Target: m.Target(), Authority: m.URL, TenantID: m.TenantID, ClientID: m.ClientID, ClientSecret: m.clientSecret}
}

// Target is Graph's base URL on this fake.
func (m *MSGraph) Target() string { return m.URL + "/v1.0" }

// SetOrganization names the tenant's organization.
func (m *MSGraph) SetOrganization(displayName string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.orgName = displayName
}

// SetUsers replaces the tenant's users.
func (m *MSGraph) SetUsers(users []GraphUser) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users = slices.Clone(users)
}

// SetGroups replaces the tenant's groups.
func (m *MSGraph) SetGroups(groups []GraphGroup) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.groups = slices.Clone(groups)
}

// SetPageSize caps every page at n items, whatever $top asks (0: Graph's
// default of 100).
func (m *MSGraph) SetPageSize(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pageSize = n
}

// SetClientSecret changes the application's secret, as rotating it in the
// portal does: tokens are refused to the old one (those issued stay valid).
func (m *MSGraph) SetClientSecret(secret string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.clientSecret = secret
}

// SetTokenLifetime sets the expires_in of the tokens issued from now on.
func (m *MSGraph) SetTokenLifetime(d time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokenLife = d
}

// RevokeTokens makes every token issued so far invalid.
func (m *MSGraph) RevokeTokens() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokens = map[string]time.Time{}
}

// FailGraph makes Graph answer 500 while on is true.
func (m *MSGraph) FailGraph(on bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failing = on
}

// ThrottleNext answers the next n Graph requests 429 Too Many Requests
// with Retry-After: 0, as Graph throttles a busy application.
func (m *MSGraph) ThrottleNext(n int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.throttle = n
}

// TokenRequests is how many token requests were received.
func (m *MSGraph) TokenRequests() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.tokenCalls
}

// Requests returns the Graph requests received so far.
func (m *MSGraph) Requests() []GraphRequest {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.reqs)
}

func graphFail(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": code, "message": message}})
}

func tokenFail(w http.ResponseWriter, status int, code, description string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": code, "error_description": description + "\r\nTrace ID: 0000\r\nCorrelation ID: 0000"})
}

// token is the client credentials grant of Entra ID's v2.0 endpoint.
func (m *MSGraph) token(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.tokenCalls++
	if r.PathValue("tenant") != m.TenantID {
		tokenFail(w, http.StatusBadRequest, "invalid_request", fmt.Sprintf("AADSTS90002: Tenant '%s' not found.", r.PathValue("tenant")))
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenFail(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: The request body must contain a form.")
		return
	}
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if u, p, ok := r.BasicAuth(); ok {
		id, secret = u, p
	}
	switch {
	case r.PostForm.Get("grant_type") != "client_credentials":
		tokenFail(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: The app requested an unsupported grant type.")
	case id != m.ClientID:
		tokenFail(w, http.StatusBadRequest, "unauthorized_client", fmt.Sprintf("AADSTS700016: Application with identifier '%s' was not found in the directory.", id))
	case secret != m.clientSecret:
		tokenFail(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.")
	case r.PostForm.Get("scope") != m.URL+"/.default":
		tokenFail(w, http.StatusBadRequest, "invalid_scope", fmt.Sprintf("AADSTS1002012: The provided value for scope %s is not valid.", r.PostForm.Get("scope")))
	default:
		token := randomID()
		m.tokens[token] = time.Now().Add(m.tokenLife)
		writeJSON(w, map[string]any{"token_type": "Bearer", "expires_in": int(m.tokenLife / time.Second), "access_token": token})
	}
}

// graph checks the bearer token and the failure switch, records the
// request and serves it with h.
func (m *MSGraph) graph(h func(w http.ResponseWriter, r *http.Request)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m.mu.Lock()
		m.reqs = append(m.reqs, GraphRequest{Path: r.URL.Path, Query: r.URL.RawQuery,
			Authorization: r.Header.Get("Authorization"), ConsistencyLevel: r.Header.Get("ConsistencyLevel")})
		token, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		expires, known := m.tokens[token]
		failing, throttled := m.failing, m.throttle > 0
		if throttled && known {
			m.throttle--
		}
		m.mu.Unlock()
		switch {
		case !known || time.Now().After(expires):
			graphFail(w, http.StatusUnauthorized, "InvalidAuthenticationToken", "Access token is empty, expired or not valid.")
			return
		case throttled:
			w.Header().Set("Retry-After", "0")
			graphFail(w, http.StatusTooManyRequests, "TooManyRequests", "Too many requests.")
			return
		case failing:
			graphFail(w, http.StatusInternalServerError, "UnknownError", "The service is failing (test switch).")
			return
		}
		h(w, r)
	}
}

func (m *MSGraph) organization(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	name := m.orgName
	m.mu.Unlock()
	if r.PathValue("id") != m.TenantID {
		graphFail(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist or one of its queried reference-property objects are not present.", r.PathValue("id")))
		return
	}
	writeJSON(w, map[string]any{"id": m.TenantID, "displayName": name})
}

// organizations lists the one organization, the tenant's.
func (m *MSGraph) organizations(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	name := m.orgName
	m.mu.Unlock()
	m.serveCollection(w, r, []map[string]any{{"id": m.TenantID, "displayName": name}})
}

func userObject(u GraphUser) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.user", "id": u.ID, "displayName": graphNullable(u.DisplayName),
		"mail": graphNullable(u.Mail), "userPrincipalName": graphNullable(u.UserPrincipalName), "accountEnabled": u.AccountEnabled}
}

func groupObject(g GraphGroup) map[string]any {
	return map[string]any{"@odata.type": "#microsoft.graph.group", "id": g.ID, "displayName": graphNullable(g.DisplayName),
		"mailNickname": graphNullable(g.MailNickname), "mail": graphNullable(g.Mail), "description": graphNullable(g.Description),
		"securityEnabled": g.SecurityEnabled, "mailEnabled": g.MailEnabled}
}

// graphNullable is Graph's null for an unset string property.
func graphNullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (m *MSGraph) listUsers(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	var objs []map[string]any
	for _, u := range m.users {
		objs = append(objs, userObject(u))
	}
	m.mu.Unlock()
	m.serveCollection(w, r, objs)
}

func (m *MSGraph) listGroups(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	var objs []map[string]any
	for _, g := range m.groups {
		objs = append(objs, groupObject(g))
	}
	m.mu.Unlock()
	m.serveCollection(w, r, objs)
}

// groupMembers are the member objects of a group, or false when there is
// no such group.
func (m *MSGraph) groupMembers(id string) ([]map[string]any, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.groups, func(g GraphGroup) bool { return g.ID == id })
	if i < 0 {
		return nil, false
	}
	var objs []map[string]any
	for _, mid := range m.groups[i].Members {
		if j := slices.IndexFunc(m.users, func(u GraphUser) bool { return u.ID == mid }); j >= 0 {
			objs = append(objs, userObject(m.users[j]))
		} else if j := slices.IndexFunc(m.groups, func(g GraphGroup) bool { return g.ID == mid }); j >= 0 {
			objs = append(objs, groupObject(m.groups[j]))
		}
	}
	return objs, true
}

func (m *MSGraph) members(w http.ResponseWriter, r *http.Request) {
	objs, ok := m.groupMembers(r.PathValue("id"))
	if !ok {
		graphFail(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", r.PathValue("id")))
		return
	}
	m.serveCollection(w, r, objs)
}

// userMembers is the members cast to users (…/members/microsoft.graph.user).
func (m *MSGraph) userMembers(w http.ResponseWriter, r *http.Request) {
	objs, ok := m.groupMembers(r.PathValue("id"))
	if !ok {
		graphFail(w, http.StatusNotFound, "Request_ResourceNotFound", fmt.Sprintf("Resource '%s' does not exist.", r.PathValue("id")))
		return
	}
	objs = slices.DeleteFunc(objs, func(o map[string]any) bool { return o["@odata.type"] != "#microsoft.graph.user" })
	m.serveCollection(w, r, objs)
}

func (m *MSGraph) userPhoto(id string) ([]byte, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.users, func(u GraphUser) bool { return u.ID == id })
	if i < 0 || m.users[i].Photo == nil {
		return nil, false
	}
	return m.users[i].Photo, true
}

func (m *MSGraph) photos(w http.ResponseWriter, r *http.Request) {
	if _, ok := m.userPhoto(r.PathValue("id")); !ok {
		graphFail(w, http.StatusNotFound, "ImageNotFound", "Exception of type 'Microsoft.Fast.Profile.Core.Exception.ImageNotFoundException' was thrown.")
		return
	}
	var sizes []map[string]any
	for _, px := range []int{48, 120, 240} {
		sizes = append(sizes, map[string]any{"id": fmt.Sprintf("%dx%d", px, px), "height": px, "width": px})
	}
	writeJSON(w, map[string]any{"value": sizes})
}

func (m *MSGraph) photo(w http.ResponseWriter, r *http.Request) {
	photo, ok := m.userPhoto(r.PathValue("id"))
	if !ok || r.PathValue("value") != "$value" || !slices.Contains([]string{"48x48", "120x120", "240x240"}, r.PathValue("size")) {
		graphFail(w, http.StatusNotFound, "ImageNotFound", "The photo wasn't found.")
		return
	}
	w.Header().Set("Content-Type", "image/jpeg")
	_, _ = w.Write(photo)
}

// serveCollection applies $search, $filter and $select to objs and serves
// the page that $skiptoken and $top (capped by the page size) select, with
// the next page's link.
func (m *MSGraph) serveCollection(w http.ResponseWriter, r *http.Request, objs []map[string]any) {
	q := r.URL.Query()
	if s := q.Get("$search"); s != "" {
		if r.Header.Get("ConsistencyLevel") != "eventual" {
			graphFail(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'")
			return
		}
		prop, text, ok := strings.Cut(strings.Trim(s, `"`), ":")
		if !ok {
			graphFail(w, http.StatusBadRequest, "Request_UnsupportedQuery", "Syntax error: the $search value must be \"property:text\".")
			return
		}
		objs = slices.DeleteFunc(objs, func(o map[string]any) bool {
			v, _ := o[prop].(string)
			return !strings.Contains(strings.ToLower(v), strings.ToLower(text))
		})
	}
	if f := q.Get("$filter"); f != "" {
		keep, problem := graphFilter(f)
		if problem != "" {
			graphFail(w, http.StatusBadRequest, "Request_UnsupportedQuery", problem)
			return
		}
		objs = slices.DeleteFunc(objs, func(o map[string]any) bool { return !keep(o) })
	}
	if sel := q.Get("$select"); sel != "" {
		fields := strings.Split(sel, ",")
		for i, o := range objs {
			p := map[string]any{"@odata.type": o["@odata.type"], "id": o["id"]}
			for _, f := range fields {
				if v, ok := o[strings.TrimSpace(f)]; ok {
					p[strings.TrimSpace(f)] = v
				}
			}
			objs[i] = p
		}
	}
	skip, _ := strconv.Atoi(q.Get("$skiptoken"))
	top := 100
	if t, err := strconv.Atoi(q.Get("$top")); err == nil && t > 0 {
		top = min(t, 999)
	}
	m.mu.Lock()
	if m.pageSize > 0 {
		top = min(top, m.pageSize)
	}
	m.mu.Unlock()
	skip = min(max(skip, 0), len(objs))
	end := min(skip+top, len(objs))
	page := objs[skip:end]
	if page == nil {
		page = []map[string]any{}
	}
	body := map[string]any{"value": page}
	if end < len(objs) {
		q.Set("$skiptoken", strconv.Itoa(end))
		next := url.URL{Scheme: "http", Host: r.Host, Path: r.URL.Path, RawQuery: q.Encode()}
		body["@odata.nextLink"] = next.String()
	}
	if q.Get("$count") == "true" {
		body["@odata.count"] = len(objs)
	}
	writeJSON(w, body)
}

// graphFilter compiles the $filter clauses the fake understands:
// "<property> eq <true|false|'text'>" joined by "and"; otherwise it says
// what is wrong, as Graph's message.
func graphFilter(f string) (keep func(map[string]any) bool, problem string) {
	type clause struct {
		prop string
		want any
	}
	var clauses []clause
	for _, part := range strings.Split(f, " and ") {
		fields := strings.SplitN(strings.TrimSpace(part), " ", 3)
		if len(fields) != 3 || fields[1] != "eq" {
			return nil, fmt.Sprintf("Unsupported or invalid query filter clause specified for property '%s'.", part)
		}
		var want any
		switch v := fields[2]; {
		case v == "true" || v == "false":
			want = v == "true"
		case len(v) >= 2 && strings.HasPrefix(v, "'") && strings.HasSuffix(v, "'"):
			want = strings.ReplaceAll(v[1:len(v)-1], "''", "'")
		default:
			return nil, fmt.Sprintf("Invalid filter clause: the value %s of property '%s' is not a literal.", v, fields[0])
		}
		clauses = append(clauses, clause{fields[0], want})
	}
	return func(o map[string]any) bool {
		for _, c := range clauses {
			if o[c.prop] != c.want {
				return false
			}
		}
		return true
	}, ""
}
