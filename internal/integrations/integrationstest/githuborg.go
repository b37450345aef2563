package integrationstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// OrgUser is a member of a fake GitHub organization.
type OrgUser struct {
	Login, Name, Email, AvatarURL, Bio string
}

// OrgTeam is a team of a fake GitHub organization. Parent is the slug of
// the team it is nested in; Members are the logins of its immediate
// members.
type OrgTeam struct {
	Slug, Name, Description, Parent string
	Members                         []string
}

// Org is a fake GitHub organization's members and teams, served by the
// fake's GraphQL API (POST /api/graphql) to a caller with the token or an
// installation token for the organization.
type Org struct {
	Members []OrgUser
	Teams   []OrgTeam
}

// orgState is what the fake GitHub knows of organizations.
type orgState struct {
	mu       sync.Mutex
	orgs     map[string]Org
	failing  bool
	pageSize int
}

// SetOrg states (or replaces) the organization login.
func (g *GitHub) SetOrg(login string, o Org) {
	g.orgState.mu.Lock()
	defer g.orgState.mu.Unlock()
	if g.orgState.orgs == nil {
		g.orgState.orgs = map[string]Org{}
	}
	// A copy: tests edit their Org for the next run while the fake may
	// still be serving this one.
	o.Members = slices.Clone(o.Members)
	o.Teams = slices.Clone(o.Teams)
	for i := range o.Teams {
		o.Teams[i].Members = slices.Clone(o.Teams[i].Members)
	}
	g.orgState.orgs[login] = o
}

// ownerType is how GitHub types an owner: an organization given to
// SetOrg is an Organization, any other owner a User.
func (g *GitHub) ownerType(login string) string {
	g.orgState.mu.Lock()
	defer g.orgState.mu.Unlock()
	if _, ok := g.orgState.orgs[login]; ok {
		return "Organization"
	}
	return "User"
}

// FailGraphQL makes the GraphQL API answer 502 while on is true.
func (g *GitHub) FailGraphQL(on bool) {
	g.orgState.mu.Lock()
	defer g.orgState.mu.Unlock()
	g.orgState.failing = on
}

// SetGraphQLPageSize caps every page of a GraphQL connection at n nodes,
// whatever the query asks for (0: no cap), so tests walk several pages.
func (g *GitHub) SetGraphQLPageSize(n int) {
	g.orgState.mu.Lock()
	defer g.orgState.mu.Unlock()
	g.orgState.pageSize = n
}

// githubSchema is the part of GitHub's GraphQL schema the fake serves,
// with GitHub's type, field and argument names, so a query that would be
// invalid on GitHub is refused here too.
const githubSchema = `
scalar URI
type Query {
  organization(login: String!): Organization
}
type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  endCursor: String
  startCursor: String
}
type Organization {
  login: String!
  name: String
  membersWithRole(first: Int, after: String, last: Int, before: String): OrganizationMemberConnection!
  teams(first: Int, after: String, last: Int, before: String, userLogins: [String!], rootTeamsOnly: Boolean = false): TeamConnection!
  team(slug: String!): Team
}
type User {
  id: ID!
  login: String!
  name: String
  email: String!
  avatarUrl(size: Int): URI!
  bio: String
  organizationVerifiedDomainEmails(login: String!): [String!]!
}
type OrganizationMemberConnection {
  nodes: [User]
  pageInfo: PageInfo!
  totalCount: Int!
}
enum TeamMembershipType { IMMEDIATE CHILD_TEAM ALL }
type Team {
  id: ID!
  slug: String!
  combinedSlug: String!
  name: String!
  description: String
  avatarUrl(size: Int = 400): URI
  editTeamUrl: URI!
  url: URI!
  parentTeam: Team
  members(first: Int, after: String, last: Int, before: String, query: String, membership: TeamMembershipType = ALL): TeamMemberConnection!
}
type TeamMemberConnection {
  nodes: [User]
  pageInfo: PageInfo!
  totalCount: Int!
}
type TeamConnection {
  nodes: [Team]
  pageInfo: PageInfo!
  totalCount: Int!
}
`

var (
	schemaOnce sync.Once
	schema     *ast.Schema
)

func githubGraphQLSchema() *ast.Schema {
	schemaOnce.Do(func() {
		schema = gqlparser.MustLoadSchema(&ast.Source{Name: "github.graphql", Input: githubSchema})
	})
	return schema
}

// gqlError is an entry of a GraphQL answer's errors.
type gqlError struct {
	Type    string `json:"type,omitempty"`
	Message string `json:"message"`
}

// resolver answers a field of an object: a scalar, a resolver (an
// object), a list of resolvers, or nil.
type resolver func(field string, args map[string]any) (any, error)

// graphql serves POST /api/graphql: the queries are parsed and validated
// against githubSchema and executed over the organizations of SetOrg.
func (g *GitHub) graphql(w http.ResponseWriter, r *http.Request) {
	g.record(r)
	w.Header().Set("Content-Type", "application/json")
	g.orgState.mu.Lock()
	failing := g.orgState.failing
	g.orgState.mu.Unlock()
	if failing {
		w.WriteHeader(http.StatusBadGateway)
		json.NewEncoder(w).Encode(map[string]any{"message": "Server Error"})
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"message": "This endpoint requires you to be authenticated."})
		return
	}
	if auth != "Bearer "+g.Token && !g.anyInstallationToken(auth) {
		w.WriteHeader(http.StatusUnauthorized)
		json.NewEncoder(w).Encode(map[string]any{"message": "Bad credentials"})
		return
	}
	var body struct {
		Query     string         `json:"query"`
		Variables map[string]any `json:"variables"`
	}
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"message": "Problems parsing JSON"})
		return
	}
	answer := func(data any, errs ...gqlError) {
		out := map[string]any{"data": data}
		if len(errs) > 0 {
			out["errors"] = errs
		}
		json.NewEncoder(w).Encode(out)
	}
	doc, list := gqlparser.LoadQueryWithRules(githubGraphQLSchema(), body.Query, rules.NewDefaultRules())
	if len(list) > 0 {
		var errs []gqlError
		for _, e := range list {
			errs = append(errs, gqlError{Message: e.Message})
		}
		answer(nil, errs...)
		return
	}
	if len(doc.Operations) != 1 {
		answer(nil, gqlError{Message: "send exactly one operation"})
		return
	}
	op := doc.Operations[0]
	vars, err := validator.VariableValues(githubGraphQLSchema(), op, body.Variables)
	if err != nil {
		answer(nil, gqlError{Message: err.Error()})
		return
	}
	root := func(field string, args map[string]any) (any, error) {
		if field != "organization" {
			return nil, fmt.Errorf("field %s is not served by the fake", field)
		}
		login, _ := args["login"].(string)
		g.orgState.mu.Lock()
		o, ok := g.orgState.orgs[login]
		size := g.orgState.pageSize
		g.orgState.mu.Unlock()
		if !ok {
			return nil, notFound{fmt.Sprintf("Could not resolve to an Organization with the login of '%s'.", login)}
		}
		if auth != "Bearer "+g.Token && !g.installationToken(auth, login) {
			return nil, forbidden{}
		}
		return g.orgResolver(login, o, size), nil
	}
	data, err := execute(resolver(root), op.SelectionSet, vars)
	var nf notFound
	switch {
	case errorAs(err, &nf):
		answer(map[string]any{"organization": nil}, gqlError{Type: "NOT_FOUND", Message: nf.msg})
	case errorAs(err, new(forbidden)):
		answer(map[string]any{"organization": nil}, gqlError{Type: "FORBIDDEN", Message: forbidden{}.Error()})
	case err != nil:
		answer(nil, gqlError{Message: err.Error()})
	default:
		answer(data)
	}
}

type notFound struct{ msg string }

func (n notFound) Error() string { return n.msg }

// forbidden is an installation token used on another organization.
type forbidden struct{}

func (forbidden) Error() string { return "Resource not accessible by integration" }

// anyInstallationToken reports whether auth carries an installation token
// the fake issued and that has not expired, for whichever owner.
func (g *GitHub) anyInstallationToken(auth string) bool {
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		return false
	}
	g.appsMu.Lock()
	defer g.appsMu.Unlock()
	it, ok := g.issued[tok]
	return ok && time.Now().Before(it.expires)
}

func errorAs[T error](err error, target *T) bool {
	t, ok := err.(T)
	if ok {
		*target = t
	}
	return ok
}

// execute resolves a selection set on obj.
func execute(obj resolver, set ast.SelectionSet, vars map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for _, sel := range set {
		switch sel := sel.(type) {
		case *ast.Field:
			if !included(sel.Directives, vars) {
				continue
			}
			v, err := obj(sel.Name, sel.ArgumentMap(vars))
			if err != nil {
				return nil, err
			}
			if v, err = value(v, sel.SelectionSet, vars); err != nil {
				return nil, err
			}
			out[sel.Alias] = v
		case *ast.InlineFragment:
			sub, err := execute(obj, sel.SelectionSet, vars)
			if err != nil {
				return nil, err
			}
			for k, v := range sub {
				out[k] = v
			}
		case *ast.FragmentSpread:
			sub, err := execute(obj, sel.Definition.SelectionSet, vars)
			if err != nil {
				return nil, err
			}
			for k, v := range sub {
				out[k] = v
			}
		}
	}
	return out, nil
}

func value(v any, set ast.SelectionSet, vars map[string]any) (any, error) {
	switch v := v.(type) {
	case resolver:
		return execute(v, set, vars)
	case []resolver:
		list := make([]any, 0, len(v))
		for _, o := range v {
			m, err := execute(o, set, vars)
			if err != nil {
				return nil, err
			}
			list = append(list, m)
		}
		return list, nil
	}
	return v, nil
}

// included applies @include and @skip.
func included(ds ast.DirectiveList, vars map[string]any) bool {
	if d := ds.ForName("include"); d != nil {
		if on, _ := d.ArgumentMap(vars)["if"].(bool); !on {
			return false
		}
	}
	if d := ds.ForName("skip"); d != nil {
		if on, _ := d.ArgumentMap(vars)["if"].(bool); on {
			return false
		}
	}
	return true
}

// orgResolver serves one organization.
func (g *GitHub) orgResolver(login string, o Org, size int) resolver {
	users := map[string]OrgUser{}
	for _, u := range o.Members {
		users[u.Login] = u
	}
	userOf := func(l string) resolver {
		u, ok := users[l]
		if !ok {
			u = OrgUser{Login: l}
		}
		return func(field string, args map[string]any) (any, error) {
			switch field {
			case "id":
				return "U_" + u.Login, nil
			case "login":
				return u.Login, nil
			case "name":
				return nullable(u.Name), nil
			case "email":
				return u.Email, nil
			case "avatarUrl":
				return u.AvatarURL, nil
			case "bio":
				return nullable(u.Bio), nil
			case "organizationVerifiedDomainEmails":
				return []string{}, nil
			}
			return nil, fmt.Errorf("field User.%s is not served by the fake", field)
		}
	}
	teams := map[string]OrgTeam{}
	for _, t := range o.Teams {
		teams[t.Slug] = t
	}
	// members lists a team's members for a membership type.
	var members func(t OrgTeam, membership string) []string
	members = func(t OrgTeam, membership string) []string {
		var out []string
		if membership != "CHILD_TEAM" {
			out = append(out, t.Members...)
		}
		if membership != "IMMEDIATE" {
			for _, c := range o.Teams {
				if c.Parent == t.Slug {
					out = append(out, members(c, "ALL")...)
				}
			}
		}
		slices.Sort(out)
		return slices.Compact(out)
	}
	var teamOf func(t OrgTeam) resolver
	teamOf = func(t OrgTeam) resolver {
		return func(field string, args map[string]any) (any, error) {
			switch field {
			case "id":
				return "T_" + t.Slug, nil
			case "slug":
				return t.Slug, nil
			case "combinedSlug":
				return login + "/" + t.Slug, nil
			case "name":
				return t.Name, nil
			case "description":
				return nullable(t.Description), nil
			case "avatarUrl":
				return nil, nil
			case "editTeamUrl":
				return g.URL + "/orgs/" + login + "/teams/" + t.Slug + "/edit", nil
			case "url":
				return g.URL + "/orgs/" + login + "/teams/" + t.Slug, nil
			case "parentTeam":
				if p, ok := teams[t.Parent]; ok {
					return teamOf(p), nil
				}
				return nil, nil
			case "members":
				membership, _ := args["membership"].(string)
				logins := members(t, membership)
				return connection(args, size, len(logins), func(i int) resolver { return userOf(logins[i]) })
			}
			return nil, fmt.Errorf("field Team.%s is not served by the fake", field)
		}
	}
	return func(field string, args map[string]any) (any, error) {
		switch field {
		case "login":
			return login, nil
		case "name":
			return login, nil
		case "membersWithRole":
			return connection(args, size, len(o.Members), func(i int) resolver { return userOf(o.Members[i].Login) })
		case "teams":
			return connection(args, size, len(o.Teams), func(i int) resolver { return teamOf(o.Teams[i]) })
		case "team":
			slug, _ := args["slug"].(string)
			if t, ok := teams[slug]; ok {
				return teamOf(t), nil
			}
			return nil, nil
		}
		return nil, fmt.Errorf("field Organization.%s is not served by the fake", field)
	}
}

// toInt reads an Int argument, literal or from a variable.
func toInt(v any) (int64, bool) {
	switch v := v.(type) {
	case int64:
		return v, true
	case int:
		return int64(v), true
	case float64:
		return int64(v), v == float64(int64(v))
	case json.Number:
		i, err := v.Int64()
		return i, err == nil
	}
	return 0, false
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// connection serves a page of n nodes as GitHub does: first is required
// (at most 100), after is the endCursor of the previous page. size, when
// set, caps the page.
func connection(args map[string]any, size, n int, node func(i int) resolver) (any, error) {
	first, ok := toInt(args["first"])
	if !ok {
		return nil, fmt.Errorf("you must provide a `first` value to properly paginate the connection")
	}
	if first < 0 || first > 100 {
		return nil, fmt.Errorf("requesting %d records exceeds the `first` limit of 100 records", first)
	}
	if size > 0 {
		first = min(first, int64(size))
	}
	start := 0
	if after, ok := args["after"].(string); ok && after != "" {
		v, err := strconv.Atoi(strings.TrimPrefix(after, "cursor:"))
		if err != nil || !strings.HasPrefix(after, "cursor:") {
			return nil, fmt.Errorf("`%s` does not appear to be a valid cursor", after)
		}
		start = min(v, n)
	}
	end := min(start+int(first), n)
	nodes := make([]resolver, 0, end-start)
	for i := start; i < end; i++ {
		nodes = append(nodes, node(i))
	}
	var endCursor any
	if end > start {
		endCursor = "cursor:" + strconv.Itoa(end)
	}
	return resolver(func(field string, _ map[string]any) (any, error) {
		switch field {
		case "nodes":
			return nodes, nil
		case "totalCount":
			return n, nil
		case "pageInfo":
			return resolver(func(field string, _ map[string]any) (any, error) {
				switch field {
				case "hasNextPage":
					return end < n, nil
				case "hasPreviousPage":
					return start > 0, nil
				case "endCursor":
					return endCursor, nil
				case "startCursor":
					if end > start {
						return "cursor:" + strconv.Itoa(start+1), nil
					}
					return nil, nil
				}
				return nil, fmt.Errorf("field PageInfo.%s is not served by the fake", field)
			}), nil
		}
		return nil, fmt.Errorf("connection field %s is not served by the fake", field)
	}), nil
}
