package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"

	"github.com/portico-dev/portico/internal/scaffolder"
)

// github is a client of one GitHub host's REST API.
type github struct {
	client *http.Client
	api    string // base URL without a trailing slash
	token  string
}

// githubFor finds the integration for host and the token to use for the
// owner's repositories: the input token, else the installation token of a
// GitHub App installed on the owner, else the integration's token.
func (d Deps) githubFor(ctx context.Context, host, owner, token string) (*github, error) {
	integ, ok := d.Integrations.GitHub(host)
	if !ok {
		return nil, fmt.Errorf("input.repoUrl: no integrations.github entry for host %s; add one with a token or apps", host)
	}
	if token == "" {
		t, err := d.Integrations.GitHubToken(ctx, host, owner)
		if err != nil {
			return nil, fmt.Errorf("%w (or give the action a token input)", err)
		}
		token = t
	}
	return &github{client: d.HTTPClient, api: integ.APIBaseURL, token: token}, nil
}

// githubError is GitHub's error body.
type githubError struct {
	Message string `json:"message"`
	Errors  []struct {
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"errors"`
}

// call makes one REST call; a status other than the wanted ones is an
// error carrying GitHub's message.
func (g *github) call(ctx context.Context, method, p string, body, out any, want ...int) (int, error) {
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, g.api+p, rd)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+g.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := g.client.Do(req)
	if err != nil {
		return 0, fmt.Errorf("GitHub %s %s: %w", method, p, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	for _, w := range want {
		if resp.StatusCode == w {
			if out != nil && len(data) > 0 {
				if err := json.Unmarshal(data, out); err != nil {
					return resp.StatusCode, fmt.Errorf("GitHub %s %s: %w", method, p, err)
				}
			}
			return resp.StatusCode, nil
		}
	}
	var ge githubError
	_ = json.Unmarshal(data, &ge)
	msg := ge.Message
	for _, e := range ge.Errors {
		if e.Message != "" {
			msg += "; " + e.Message
		}
	}
	if msg == "" {
		msg = strings.TrimSpace(string(data))
	}
	return resp.StatusCode, fmt.Errorf("GitHub %s %s: HTTP %d: %s", method, p, resp.StatusCode, msg)
}

// createdRepo is what the create checkpoint remembers.
type createdRepo struct {
	CloneURL string `json:"cloneUrl"`
	HTMLURL  string `json:"htmlUrl"`
}

func publishGitHub(deps Deps) scaffolder.Action {
	boolProp := func(title string) map[string]any { return prop("boolean", title) }
	return scaffolder.Action{
		ID:          "publish:github",
		Description: "Creates a GitHub repository (github.com or GitHub Enterprise) and pushes the workspace (or sourcePath) to it as one commit.",
		Examples: []scaffolder.ActionExample{{
			Description: "Publish to a new GitHub repository",
			Example: lines("steps:", "  - id: publish", "    action: publish:github", "    input:", "      repoUrl: github.com?owner=acme&repo=${{ parameters.name }}",
				"      description: ${{ parameters.description }}", "      repoVisibility: private"),
		}},
		Schema: scaffolder.ActionSchema{
			Input: schema("", []string{"repoUrl"}, commitProps(map[string]any{
				"repoUrl":                      prop("string", "The repository: <host>?owner=<owner>&repo=<repo>."),
				"description":                  prop("string", "Repository description."),
				"homepage":                     prop("string", "Repository homepage URL."),
				"repoVisibility":               map[string]any{"title": "Repository Visibility", "type": "string", "enum": []any{"private", "public", "internal"}},
				"protectDefaultBranch":         boolProp("Protect the default branch after the push (default true)."),
				"deleteBranchOnMerge":          boolProp("Delete head branches when pull requests are merged (default false)."),
				"allowMergeCommit":             boolProp("Allow merge commits (default true)."),
				"allowSquashMerge":             boolProp("Allow squash merges (default true)."),
				"allowRebaseMerge":             boolProp("Allow rebase merges (default true)."),
				"allowAutoMerge":               boolProp("Allow auto-merge (default false)."),
				"requireCodeOwnerReviews":      boolProp("Require an approved review from code owners on the protected branch."),
				"requiredApprovingReviewCount": prop("number", "Approving reviews the protected branch requires (default 1)."),
				"requiredStatusCheckContexts":  stringList("Status checks that must pass on the protected branch."),
				"topics":                       stringList("Topics of the repository."),
				"token":                        prop("string", "A token instead of integrations.github[].token."),
			}, "master")),
			Output: schema("", nil, map[string]any{
				"remoteUrl":       prop("string", "The clone URL of the new repository."),
				"repoContentsUrl": prop("string", "The URL to the contents of the default branch."),
				"commitHash":      prop("string", "The hash of the pushed commit."),
			}),
		},
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				commitInput
				RepoURL                      string   `json:"repoUrl"`
				Description                  string   `json:"description"`
				Homepage                     string   `json:"homepage"`
				RepoVisibility               string   `json:"repoVisibility"`
				ProtectDefaultBranch         *bool    `json:"protectDefaultBranch"`
				DeleteBranchOnMerge          bool     `json:"deleteBranchOnMerge"`
				AllowMergeCommit             *bool    `json:"allowMergeCommit"`
				AllowSquashMerge             *bool    `json:"allowSquashMerge"`
				AllowRebaseMerge             *bool    `json:"allowRebaseMerge"`
				AllowAutoMerge               bool     `json:"allowAutoMerge"`
				RequireCodeOwnerReviews      bool     `json:"requireCodeOwnerReviews"`
				RequiredApprovingReviewCount *int     `json:"requiredApprovingReviewCount"`
				RequiredStatusCheckContexts  []string `json:"requiredStatusCheckContexts"`
				Topics                       []string `json:"topics"`
				Token                        string   `json:"token"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			if in.RepoURL == "" {
				return errors.New("input.repoUrl: required; give <host>?owner=<owner>&repo=<repo>")
			}
			r, err := parseRepoURL("repoUrl", in.RepoURL)
			if err != nil {
				return err
			}
			visibility := in.RepoVisibility
			switch visibility {
			case "":
				visibility = "private"
			case "private", "public", "internal":
			default:
				return fmt.Errorf("input.repoVisibility: expected private, public or internal, got %q", visibility)
			}
			opts, err := in.options(deps, "master")
			if err != nil {
				return err
			}
			gh, err := deps.githubFor(ctx, r.host, r.owner, in.Token)
			if err != nil {
				return err
			}
			or := func(b *bool, def bool) bool {
				if b == nil {
					return def
				}
				return *b
			}
			key := r.owner + "." + r.repo
			raw, err := ac.Checkpoint(ctx, "publish.github.create.repo."+key, func(ctx context.Context) (json.RawMessage, error) {
				var owner struct {
					Type string `json:"type"`
				}
				if _, err := gh.call(ctx, http.MethodGet, "/users/"+url.PathEscape(r.owner), nil, &owner, http.StatusOK); err != nil {
					return nil, fmt.Errorf("look up owner %s: %w", r.owner, err)
				}
				body := map[string]any{
					"name": r.repo, "private": visibility == "private", "visibility": visibility,
					"description": in.Description, "homepage": in.Homepage,
					"delete_branch_on_merge": in.DeleteBranchOnMerge,
					"allow_merge_commit":     or(in.AllowMergeCommit, true),
					"allow_squash_merge":     or(in.AllowSquashMerge, true),
					"allow_rebase_merge":     or(in.AllowRebaseMerge, true),
					"allow_auto_merge":       in.AllowAutoMerge,
				}
				p := "/user/repos"
				if owner.Type == "Organization" {
					p = "/orgs/" + url.PathEscape(r.owner) + "/repos"
				}
				var created struct {
					CloneURL string `json:"clone_url"`
					HTMLURL  string `json:"html_url"`
				}
				status, err := gh.call(ctx, http.MethodPost, p, body, &created, http.StatusCreated)
				if status == http.StatusUnprocessableEntity {
					return nil, fmt.Errorf("create repository %s/%s on %s (does it exist already?): %w", r.owner, r.repo, r.host, err)
				}
				if err != nil {
					return nil, fmt.Errorf("create repository %s/%s: %w", r.owner, r.repo, err)
				}
				ac.Logger.Info(fmt.Sprintf("Created repository %s", created.HTMLURL))
				return json.Marshal(createdRepo{CloneURL: created.CloneURL, HTMLURL: created.HTMLURL})
			})
			if err != nil {
				return err
			}
			var repo createdRepo
			if err := json.Unmarshal(raw, &repo); err != nil {
				return fmt.Errorf("publish:github checkpoint: %w", err)
			}
			if len(in.Topics) > 0 {
				if _, err := gh.call(ctx, http.MethodPut, "/repos/"+url.PathEscape(r.owner)+"/"+url.PathEscape(r.repo)+"/topics",
					map[string]any{"names": in.Topics}, nil, http.StatusOK); err != nil {
					return fmt.Errorf("set topics: %w", err)
				}
			}
			raw, err = ac.Checkpoint(ctx, "publish.github.push.repo."+key, func(ctx context.Context) (json.RawMessage, error) {
				gr, hash, err := commitWorkspace(ac, opts)
				if err != nil {
					return nil, err
				}
				ac.Logger.Info(fmt.Sprintf("Pushing commit %s to %s (branch %s)", hash, repo.CloneURL, opts.branch))
				auth := &githttp.BasicAuth{Username: "x-access-token", Password: gh.token}
				if err := push(ctx, gr, repo.CloneURL, opts.branch, auth, false); err != nil {
					return nil, err
				}
				return json.Marshal(pushResult{RemoteURL: repo.CloneURL, CommitHash: hash.String()})
			})
			if err != nil {
				return err
			}
			var pushed pushResult
			if err := json.Unmarshal(raw, &pushed); err != nil {
				return fmt.Errorf("publish:github checkpoint: %w", err)
			}
			if or(in.ProtectDefaultBranch, true) {
				reviews := 1
				if in.RequiredApprovingReviewCount != nil {
					reviews = *in.RequiredApprovingReviewCount
				}
				checks := in.RequiredStatusCheckContexts
				if checks == nil {
					checks = []string{}
				}
				body := map[string]any{
					"required_status_checks": map[string]any{"strict": true, "contexts": checks},
					"enforce_admins":         true,
					"required_pull_request_reviews": map[string]any{
						"require_code_owner_reviews":      in.RequireCodeOwnerReviews,
						"required_approving_review_count": reviews,
					},
					"restrictions": nil,
				}
				p := "/repos/" + url.PathEscape(r.owner) + "/" + url.PathEscape(r.repo) + "/branches/" + url.PathEscape(opts.branch) + "/protection"
				if _, err := gh.call(ctx, http.MethodPut, p, body, nil, http.StatusOK); err != nil {
					// As Backstage does: the repository exists and has the
					// code; a plan without branch protection only loses it.
					ac.Logger.Warn(fmt.Sprintf("Could not protect branch %s: %v", opts.branch, err))
				}
			}
			ac.Output("remoteUrl", repo.CloneURL)
			ac.Output("repoContentsUrl", repo.HTMLURL+"/blob/"+opts.branch)
			ac.Output("commitHash", pushed.CommitHash)
			return nil
		},
	}
}
