package integrations

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// GitHubRepository is a repository of a GitHub organization or user, as
// the catalog's GitHub discovery filters them.
type GitHubRepository struct {
	Name          string   `json:"name"`
	DefaultBranch string   `json:"default_branch"`
	Archived      bool     `json:"archived"`
	Fork          bool     `json:"fork"`
	Visibility    string   `json:"visibility"`
	Topics        []string `json:"topics"`
}

// maxRepositories bounds a listing, so that a confused host (or a
// redirect loop of next links) cannot fill memory.
const maxRepositories = 100_000

// GitHubRepositories lists the repositories of owner (an organization, or
// a user when no organization has that name) on the GitHub host, with the
// owner's credentials (see ReadFile); private ones are listed when the
// credential may see them.
func (s *Set) GitHubRepositories(ctx context.Context, host, owner string) ([]GitHubRepository, error) {
	g, ok := s.GitHub(host)
	if !ok {
		return nil, errs.InputErrorf("no integrations.github entry for host %s; add one", host)
	}
	cred, err := s.githubCredentials(ctx, g, owner, "")
	if err != nil {
		return nil, err
	}
	out, status, err := s.listRepositories(ctx, g, &cred, "orgs", owner)
	if status == http.StatusNotFound {
		// Not an organization: the user of that name.
		out, _, err = s.listRepositories(ctx, g, &cred, "users", owner)
	}
	return out, err
}

// listRepositories reads every page of /{kind}/{owner}/repos. status is
// the first page's HTTP status.
func (s *Set) listRepositories(ctx context.Context, g GitHub, cred *githubCredential, kind, owner string) ([]GitHubRepository, int, error) {
	var out []GitHubRepository
	next := fmt.Sprintf("%s/%s/%s/repos?per_page=100", g.APIBaseURL, kind, url.PathEscape(owner))
	first := 0
	for next != "" {
		page, link, status, err := s.repositoryPage(ctx, next, cred, g)
		if first == 0 {
			first = status
		}
		if err != nil {
			return nil, first, err
		}
		out = append(out, page...)
		if len(out) > maxRepositories {
			return nil, first, errs.InputErrorf("%s on %s has more than %d repositories; narrow the discovery", owner, g.Host, maxRepositories)
		}
		next = ""
		// Only pages on the same API host get the token.
		if l := nextLink(link); strings.HasPrefix(l, g.APIBaseURL+"/") {
			next = l
		}
	}
	return out, first, nil
}

// repositoryPage reads one page of a repository listing.
func (s *Set) repositoryPage(ctx context.Context, target string, cred *githubCredential, g GitHub) ([]GitHubRepository, string, int, error) {
	req, err := newRequest(ctx, target)
	if err != nil {
		return nil, "", 0, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	if cred.token != "" {
		req.Header.Set("Authorization", "Bearer "+cred.token)
	}
	shown := redact(req.URL)
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, "", 0, fmt.Errorf("list repositories %s: %w", shown, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		if resp.StatusCode == http.StatusUnauthorized {
			cred.refused()
		}
		msg := fmt.Sprintf("listing repositories at %s failed (HTTP %d", shown, resp.StatusCode)
		if m := hostMessage(resp); m != "" {
			msg += ": " + m
		}
		return nil, "", resp.StatusCode, errs.InputErrorf("%s); %s", msg, cred.hint(g))
	}
	var page []GitHubRepository
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&page); err != nil {
		return nil, "", resp.StatusCode, fmt.Errorf("read the repositories at %s: %w", shown, err)
	}
	return page, resp.Header.Get("Link"), resp.StatusCode, nil
}

// GitLabProject is a project of a GitLab group, as the catalog's GitLab
// discovery filters them.
type GitLabProject struct {
	PathWithNamespace string         `json:"path_with_namespace"`
	DefaultBranch     string         `json:"default_branch"`
	WebURL            string         `json:"web_url"`
	Archived          bool           `json:"archived"`
	ForkedFrom        map[string]any `json:"forked_from_project"`
}

// GitLabProjects lists the projects of group and its subgroups on the
// GitLab host (every project the token may see when group is ""), with
// the integration's token, archived ones included.
func (s *Set) GitLabProjects(ctx context.Context, host, group string) ([]GitLabProject, error) {
	g, ok := s.GitLab(host)
	if !ok {
		return nil, errs.InputErrorf("no integrations.gitlab entry for host %s; add one", host)
	}
	next := g.APIBaseURL + "/projects?per_page=100&membership=true"
	if group != "" {
		next = g.APIBaseURL + "/groups/" + url.PathEscape(group) + "/projects?per_page=100&include_subgroups=true"
	}
	var out []GitLabProject
	for next != "" {
		req, err := newRequest(ctx, next)
		if err != nil {
			return nil, err
		}
		if g.Token != "" {
			req.Header.Set("PRIVATE-TOKEN", g.Token)
		}
		shown := redact(req.URL)
		resp, err := s.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("list projects %s: %w", shown, err)
		}
		var page []GitLabProject
		if resp.StatusCode != http.StatusOK {
			msg := fmt.Sprintf("listing projects at %s failed (HTTP %d", shown, resp.StatusCode)
			if m := hostMessage(resp); m != "" {
				msg += ": " + m
			}
			resp.Body.Close()
			return nil, errs.InputErrorf("%s); check the group and the token of integrations.gitlab (host %s)", msg, g.Host)
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, 64<<20)).Decode(&page)
		link := resp.Header.Get("Link")
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("read the projects at %s: %w", shown, err)
		}
		out = append(out, page...)
		if len(out) > maxRepositories {
			return nil, errs.InputErrorf("%s has more than %d projects; narrow the discovery", host, maxRepositories)
		}
		next = ""
		// Only pages on the same API host get the token.
		if l := nextLink(link); strings.HasPrefix(l, g.APIBaseURL+"/") {
			next = l
		}
	}
	return out, nil
}
