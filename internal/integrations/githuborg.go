package integrations

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// An organization's users and teams are read through GitHub's GraphQL API
// rather than REST, for two reasons:
//
//   - REST needs one call per member for a name and e-mail (GET
//     /users/{login}) and one per team for its members: N+1 calls, which
//     on an organization of thousands of people eats the hourly rate
//     limit. GraphQL returns the members with their profiles, and the
//     teams with their first members, a page at a time; only a team with
//     more members than a page costs further calls.
//   - REST's team members include the members of child teams, so a
//     person in a nested team would look like a direct member of every
//     team above it. GraphQL's membership: IMMEDIATE gives the direct
//     members, which is what spec.memberOf and spec.members state
//     (the hierarchy comes from spec.parent).

// Page sizes of the organization queries. Teams are read 25 at a time
// because each carries up to a page of members: GitHub refuses queries
// that may return too many nodes (RESOURCE_LIMITS_EXCEEDED).
const (
	orgMembersPage  = 100
	orgTeamsPage    = 25
	teamMembersPage = 100
	// maxOrgNodes bounds an organization's users and teams, so a confused
	// host (or a cursor loop) cannot fill memory.
	maxOrgNodes = 200_000
)

// GitHubUser is a member of a GitHub organization.
type GitHubUser struct {
	Login string
	Name  string
	// Email is the public e-mail address, empty when it is hidden or the
	// credential may not read it (GitHub Apps never see it).
	Email     string
	AvatarURL string
	Bio       string
}

// GitHubTeam is a team of a GitHub organization.
type GitHubTeam struct {
	Slug string
	// CombinedSlug is org/slug.
	CombinedSlug string
	Name         string
	Description  string
	AvatarURL    string
	EditTeamURL  string
	// ParentSlug is the slug of the team this one is nested in, if any.
	ParentSlug string
	// Members are the logins of the team's immediate members (not those
	// of its child teams).
	Members []string
}

// GitHubOrganization is an organization's members and teams.
type GitHubOrganization struct {
	Login string
	Users []GitHubUser
	Teams []GitHubTeam
}

const orgMembersQuery = `query members($org: String!, $cursor: String, $email: Boolean!, $first: Int!) {
  organization(login: $org) {
    membersWithRole(first: $first, after: $cursor) {
      pageInfo { hasNextPage endCursor }
      nodes { login name email @include(if: $email) avatarUrl bio }
    }
  }
}`

const orgTeamsQuery = `query teams($org: String!, $cursor: String, $first: Int!, $members: Int!) {
  organization(login: $org) {
    teams(first: $first, after: $cursor) {
      pageInfo { hasNextPage endCursor }
      nodes {
        slug combinedSlug name description avatarUrl editTeamUrl
        parentTeam { slug }
        members(first: $members, membership: IMMEDIATE) {
          pageInfo { hasNextPage endCursor }
          nodes { login }
        }
      }
    }
  }
}`

const teamMembersQuery = `query teamMembers($org: String!, $slug: String!, $cursor: String, $first: Int!) {
  organization(login: $org) {
    team(slug: $slug) {
      members(first: $first, after: $cursor, membership: IMMEDIATE) {
        pageInfo { hasNextPage endCursor }
        nodes { login }
      }
    }
  }
}`

type pageInfo struct {
	HasNextPage bool   `json:"hasNextPage"`
	EndCursor   string `json:"endCursor"`
}

type loginConnection struct {
	PageInfo pageInfo `json:"pageInfo"`
	Nodes    []struct {
		Login string `json:"login"`
	} `json:"nodes"`
}

type teamNode struct {
	Slug         string  `json:"slug"`
	CombinedSlug string  `json:"combinedSlug"`
	Name         string  `json:"name"`
	Description  *string `json:"description"`
	AvatarURL    *string `json:"avatarUrl"`
	EditTeamURL  string  `json:"editTeamUrl"`
	ParentTeam   *struct {
		Slug string `json:"slug"`
	} `json:"parentTeam"`
	Members loginConnection `json:"members"`
}

// GitHubOrganization reads the members and teams of org on the GitHub
// host with the organization's credentials (an installation token of an
// app installed on org, else the integration's token; see ReadFile).
// GitHub's GraphQL API needs one of them.
func (s *Set) GitHubOrganization(ctx context.Context, host, org string) (*GitHubOrganization, error) {
	g, ok := s.GitHub(host)
	if !ok {
		return nil, errs.InputErrorf("no integrations.github entry for host %s; add one", host)
	}
	cred, err := s.githubCredentials(ctx, g, org, "")
	if err != nil {
		return nil, err
	}
	if cred.token == "" {
		msg := fmt.Sprintf("reading the users and teams of %s needs credentials: GitHub's GraphQL API takes no anonymous calls; set a token or apps in integrations.github (host %s)", org, g.Host)
		if cred.missing != "" {
			msg += "; " + cred.missing
		}
		return nil, errs.InputErrorf("%s", msg)
	}
	q := &orgQuerier{s: s, g: g, cred: &cred, endpoint: graphQLEndpoint(g.APIBaseURL), org: org}
	out := &GitHubOrganization{Login: org}
	// GitHub Apps may not read e-mail addresses: asking for them fails
	// the whole query, so only a token asks.
	withEmail := cred.app == nil
	err = q.pages(ctx, orgMembersQuery, map[string]any{"email": withEmail, "first": orgMembersPage}, "membersWithRole", func(raw json.RawMessage) (int, error) {
		var nodes []struct {
			Login     string  `json:"login"`
			Name      *string `json:"name"`
			Email     *string `json:"email"`
			AvatarURL *string `json:"avatarUrl"`
			Bio       *string `json:"bio"`
		}
		if err := json.Unmarshal(raw, &nodes); err != nil {
			return 0, err
		}
		for _, n := range nodes {
			if n.Login == "" {
				continue
			}
			out.Users = append(out.Users, GitHubUser{Login: n.Login, Name: deref(n.Name), Email: deref(n.Email), AvatarURL: deref(n.AvatarURL), Bio: deref(n.Bio)})
		}
		return len(out.Users), nil
	})
	if err != nil {
		return nil, err
	}
	var partial []int // teams with more members than the first page
	var cursors []string
	err = q.pages(ctx, orgTeamsQuery, map[string]any{"first": orgTeamsPage, "members": teamMembersPage}, "teams", func(raw json.RawMessage) (int, error) {
		var nodes []teamNode
		if err := json.Unmarshal(raw, &nodes); err != nil {
			return 0, err
		}
		for _, n := range nodes {
			if n.Slug == "" {
				continue
			}
			t := GitHubTeam{Slug: n.Slug, CombinedSlug: n.CombinedSlug, Name: n.Name, Description: deref(n.Description),
				AvatarURL: deref(n.AvatarURL), EditTeamURL: n.EditTeamURL}
			if n.ParentTeam != nil {
				t.ParentSlug = n.ParentTeam.Slug
			}
			for _, m := range n.Members.Nodes {
				t.Members = append(t.Members, m.Login)
			}
			if n.Members.PageInfo.HasNextPage {
				partial = append(partial, len(out.Teams))
				cursors = append(cursors, n.Members.PageInfo.EndCursor)
			}
			out.Teams = append(out.Teams, t)
		}
		return len(out.Users) + len(out.Teams), nil
	})
	if err != nil {
		return nil, err
	}
	for i, ti := range partial {
		t := &out.Teams[ti]
		vars := map[string]any{"slug": t.Slug, "first": teamMembersPage, "cursor": cursors[i]}
		err := q.pages(ctx, teamMembersQuery, vars, "team.members", func(raw json.RawMessage) (int, error) {
			var nodes []struct {
				Login string `json:"login"`
			}
			if err := json.Unmarshal(raw, &nodes); err != nil {
				return 0, err
			}
			for _, n := range nodes {
				t.Members = append(t.Members, n.Login)
			}
			return len(t.Members), nil
		})
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// graphQLEndpoint is the GraphQL URL beside a REST API base: GitHub
// Enterprise serves REST at /api/v3 and GraphQL at /api/graphql;
// api.github.com serves both at its root.
func graphQLEndpoint(api string) string {
	if base, ok := strings.CutSuffix(api, "/api/v3"); ok {
		return base + "/api/graphql"
	}
	return api + "/graphql"
}

// orgQuerier sends an organization's GraphQL queries.
type orgQuerier struct {
	s        *Set
	g        GitHub
	cred     *githubCredential
	endpoint string
	org      string
}

// pages runs query with vars (plus org and cursor) until the connection
// at path below organization (dotted: "teams", "team.members") has no
// next page, handing each page's nodes to take, which returns how many
// nodes have been taken so far.
func (q *orgQuerier) pages(ctx context.Context, query string, vars map[string]any, path string, take func(json.RawMessage) (int, error)) error {
	vars["org"] = q.org
	if _, ok := vars["cursor"]; !ok {
		vars["cursor"] = nil
	}
	for {
		var data struct {
			Organization map[string]json.RawMessage `json:"organization"`
		}
		if err := q.do(ctx, query, vars, &data); err != nil {
			return err
		}
		if data.Organization == nil {
			return errs.NotFoundf("organization %s was not found on %s; check the orgs of the provider and that the credentials may read it", q.org, q.g.Host)
		}
		conn, err := connectionAt(data.Organization, path)
		if err != nil {
			return fmt.Errorf("read %s of %s: %w", path, q.org, err)
		}
		n, err := take(conn.Nodes)
		if err != nil {
			return fmt.Errorf("read %s of %s: %w", path, q.org, err)
		}
		if n > maxOrgNodes {
			return errs.InputErrorf("%s on %s has more than %d members and teams; Portico does not read organizations that large", q.org, q.g.Host, maxOrgNodes)
		}
		if !conn.PageInfo.HasNextPage {
			return nil
		}
		if conn.PageInfo.EndCursor == "" || conn.PageInfo.EndCursor == vars["cursor"] {
			return fmt.Errorf("read %s of %s: GitHub announced a next page without a new cursor", path, q.org)
		}
		vars["cursor"] = conn.PageInfo.EndCursor
	}
}

// connection is a page of a GraphQL connection, its nodes still encoded.
type connection struct {
	PageInfo pageInfo        `json:"pageInfo"`
	Nodes    json.RawMessage `json:"nodes"`
}

// connectionAt finds the connection at a dotted path below an object.
func connectionAt(obj map[string]json.RawMessage, path string) (connection, error) {
	var conn connection
	head, rest, nested := strings.Cut(path, ".")
	raw, ok := obj[head]
	if !ok || string(raw) == "null" {
		return conn, fmt.Errorf("the answer has no %s (a team that was deleted while it was read?)", head)
	}
	if nested {
		var inner map[string]json.RawMessage
		if err := json.Unmarshal(raw, &inner); err != nil {
			return conn, err
		}
		return connectionAt(inner, rest)
	}
	err := json.Unmarshal(raw, &conn)
	return conn, err
}

// do sends one GraphQL query and decodes its data into out. GraphQL
// errors come with HTTP 200; any of them fails the query, since partial
// data would state an organization without some of its people.
func (q *orgQuerier) do(ctx context.Context, query string, vars map[string]any, out any) error {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, q.endpoint, bytes.NewReader(body))
	if err != nil {
		return errs.InputErrorf("invalid GraphQL URL %q: %w", q.endpoint, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+q.cred.token)
	shown := redact(req.URL)
	resp, err := q.s.client.Do(req)
	if err != nil {
		return fmt.Errorf("query the organization %s at %s: %w", q.org, shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusUnauthorized {
			q.cred.refused()
		}
		msg := fmt.Sprintf("querying the organization %s at %s failed (HTTP %d", q.org, shown, resp.StatusCode)
		if m := hostMessage(resp); m != "" {
			msg += ": " + m
		}
		return errs.InputErrorf("%s); check that %s may read the organization's members and teams (a token needs read:org)", msg, q.cred.what)
	}
	var answer struct {
		Data   json.RawMessage `json:"data"`
		Errors []struct {
			Type    string `json:"type"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&answer); err != nil {
		return fmt.Errorf("read the answer of %s: %w", shown, err)
	}
	if len(answer.Errors) > 0 {
		msgs := make([]string, 0, len(answer.Errors))
		notFound := false
		for _, e := range answer.Errors {
			msgs = append(msgs, e.Message)
			notFound = notFound || e.Type == "NOT_FOUND"
		}
		if notFound {
			return errs.NotFoundf("querying the organization %s on %s: %s; check the orgs of the provider and that %s may read it", q.org, q.g.Host, strings.Join(msgs, "; "), q.cred.what)
		}
		return errs.InputErrorf("querying the organization %s on %s: %s", q.org, q.g.Host, strings.Join(msgs, "; "))
	}
	if err := json.Unmarshal(answer.Data, out); err != nil {
		return fmt.Errorf("read the answer of %s: %w", shown, err)
	}
	return nil
}

// HasApps reports whether the integration has GitHub Apps configured.
func (g GitHub) HasApps() bool { return g.apps != nil && len(g.apps.apps) > 0 }

// GitHubAppOrganizations lists the organizations the GitHub Apps of the
// host's integration are installed on (installations on users, suspended
// ones and owners outside an app's allowedInstallationOwners left out),
// sorted and without duplicates: what Backstage's githubOrg provider
// reads when it lists no orgs. A token cannot tell, so apps are needed.
func (s *Set) GitHubAppOrganizations(ctx context.Context, host string) ([]string, error) {
	g, ok := s.GitHub(host)
	if !ok {
		return nil, errs.InputErrorf("no integrations.github entry for host %s; add one", host)
	}
	if !g.HasApps() {
		return nil, errs.InputErrorf("listing the organizations to read needs GitHub Apps in integrations.github (host %s); add apps or list the organizations", host)
	}
	seen := map[string]bool{}
	var out []string
	for _, a := range g.apps.apps {
		// The same walk as installation's, keeping every organization
		// rather than looking for one owner.
		next := a.api + "/app/installations?per_page=100"
		for next != "" {
			var page []struct {
				TargetType  string  `json:"target_type"`
				SuspendedAt *string `json:"suspended_at"`
				Account     struct {
					Login string `json:"login"`
				} `json:"account"`
			}
			link := ""
			if err := a.call(ctx, http.MethodGet, next, http.StatusOK, &page, &link); err != nil {
				return nil, fmt.Errorf("list the installations of GitHub App %s (%s): %w", a.id, a.key, err)
			}
			for _, in := range page {
				lower := strings.ToLower(in.Account.Login)
				if in.TargetType != "Organization" || in.SuspendedAt != nil || lower == "" || (a.allowed != nil && !a.allowed[lower]) || seen[lower] {
					continue
				}
				seen[lower] = true
				out = append(out, in.Account.Login)
			}
			next = nextLink(link)
			// The next page gets the app's JWT too: only from the API itself.
			if u, _ := url.Parse(next); next != "" && !below(u, a.api) {
				return nil, errs.InputErrorf("list the installations of GitHub App %s (%s): the next page %s is not below %s", a.id, a.key, redact(u), a.api)
			}
		}
	}
	slices.SortFunc(out, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) })
	return out, nil
}
