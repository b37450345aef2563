package actions

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-git/go-billy/v5/osfs"
	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
	"github.com/go-git/go-git/v5/storage/memory"

	"github.com/portico-dev/portico/internal/scaffolder"
)

// commitOptions say what commit a publish action makes.
type commitOptions struct {
	sourcePath string // inside the workspace, "." for all of it
	branch     string
	message    string
	author     GitAuthor
}

// commitWorkspace makes one commit of the files below sourcePath (honouring
// .gitignore files) on a fresh branch. The repository lives in memory:
// nothing is written into the workspace, and the files are read through a
// file system bound to sourcePath, so links cannot pull in other files.
func commitWorkspace(ac *scaffolder.ActionContext, o commitOptions) (*git.Repository, plumbing.Hash, error) {
	dir := filepath.Join(ac.WorkspacePath, filepath.FromSlash(o.sourcePath))
	if info, err := ac.Workspace.Stat(o.sourcePath); err != nil || !info.IsDir() {
		return nil, plumbing.ZeroHash, fmt.Errorf("input.sourcePath: %s is not a directory in the workspace", o.sourcePath)
	}
	repo, err := git.InitWithOptions(memory.NewStorage(), osfs.New(dir, osfs.WithBoundOS()),
		git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(o.branch)})
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("input.defaultBranch: %q: %w", o.branch, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return nil, plumbing.ZeroHash, err
	}
	if err := wt.AddWithOptions(&git.AddOptions{All: true}); err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("add the files of %s: %w", o.sourcePath, err)
	}
	sig := &object.Signature{Name: o.author.Name, Email: o.author.Email, When: time.Now()}
	hash, err := wt.Commit(o.message, &git.CommitOptions{Author: sig, Committer: sig, AllowEmptyCommits: true})
	if err != nil {
		return nil, plumbing.ZeroHash, fmt.Errorf("commit the files of %s: %w", o.sourcePath, err)
	}
	return repo, hash, nil
}

// push pushes the branch to remote.
func push(ctx context.Context, repo *git.Repository, remote, branch string, auth transport.AuthMethod, force bool) error {
	if _, err := repo.CreateRemote(&gitconfig.RemoteConfig{Name: "origin", URLs: []string{remote}}); err != nil {
		return err
	}
	ref := plumbing.NewBranchReferenceName(branch)
	err := repo.PushContext(ctx, &git.PushOptions{
		RemoteName: "origin",
		RefSpecs:   []gitconfig.RefSpec{gitconfig.RefSpec(ref + ":" + ref)},
		Auth:       auth,
		Force:      force,
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return fmt.Errorf("push to %s: %w", redactURL(remote), err)
	}
	return nil
}

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return s
	}
	return u.Redacted()
}

// commitInput is the commit part of publish actions' input.
type commitInput struct {
	SourcePath       string `json:"sourcePath"`
	DefaultBranch    string `json:"defaultBranch"`
	GitCommitMessage string `json:"gitCommitMessage"`
	GitAuthorName    string `json:"gitAuthorName"`
	GitAuthorEmail   string `json:"gitAuthorEmail"`
}

func (c commitInput) options(deps Deps, defaultBranch string) (commitOptions, error) {
	src, err := targetDir("sourcePath", c.SourcePath)
	if err != nil {
		return commitOptions{}, err
	}
	o := commitOptions{sourcePath: src, branch: c.DefaultBranch, message: c.GitCommitMessage, author: deps.DefaultAuthor}
	if o.branch == "" {
		o.branch = defaultBranch
	}
	if o.message == "" {
		o.message = deps.DefaultCommitMessage
	}
	if c.GitAuthorName != "" {
		o.author.Name = c.GitAuthorName
	}
	if c.GitAuthorEmail != "" {
		o.author.Email = c.GitAuthorEmail
	}
	return o, nil
}

func commitProps(props map[string]any, defaultBranch string) map[string]any {
	props["sourcePath"] = prop("string", "The directory of the workspace to publish (default: the whole workspace).")
	props["defaultBranch"] = prop("string", "The branch to push to (default "+defaultBranch+").")
	props["gitCommitMessage"] = prop("string", "The commit message (default: scaffolder.defaultCommitMessage, Initial commit).")
	props["gitAuthorName"] = prop("string", "The commit author's name (default: scaffolder.defaultAuthor.name).")
	props["gitAuthorEmail"] = prop("string", "The commit author's e-mail (default: scaffolder.defaultAuthor.email).")
	return props
}

// pushResult is what a publish checkpoint remembers.
type pushResult struct {
	RemoteURL  string `json:"remoteUrl"`
	CommitHash string `json:"commitHash"`
}

func publishGit(deps Deps) scaffolder.Action {
	return scaffolder.Action{
		ID: "publish:git",
		Description: "Pushes the workspace (or sourcePath) as one commit to a git remote: an http(s) URL of an allowed host, " +
			"a file:// repository below the local git directory, or repoUrl local?owner=…&repo=… for a bare repository there (created when missing).",
		Examples: []scaffolder.ActionExample{{
			Description: "Publish to a local bare repository",
			Example:     lines("steps:", "  - id: publish", "    action: publish:git", "    input:", "      repoUrl: local?owner=examples&repo=${{ parameters.name }}"),
		}},
		Schema: scaffolder.ActionSchema{
			Input: schema("", nil, commitProps(map[string]any{
				"remoteUrl": prop("string", "The git remote to push to (https://…, file:///…)."),
				"repoUrl":   prop("string", "Instead of remoteUrl: local?owner=<owner>&repo=<repo>, a bare repository in Portico's local git directory."),
				"token":     prop("string", "A token for an http(s) remote (sent as basic auth password)."),
				"force":     prop("boolean", "Force the push (replacing the branch's history)."),
			}, "main")),
			Output: schema("", nil, map[string]any{
				"remoteUrl":  prop("string", "The remote the commit was pushed to."),
				"commitHash": prop("string", "The hash of the pushed commit."),
				"repoContentsUrl": prop("string", "For a repository in the local git directory: local-git:<owner>/<repo>.git, "+
					"which catalog:register takes as repoContentsUrl."),
			}),
		},
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				commitInput
				RemoteURL string `json:"remoteUrl"`
				RepoURL   string `json:"repoUrl"`
				Token     string `json:"token"`
				Force     bool   `json:"force"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			opts, err := in.options(deps, "main")
			if err != nil {
				return err
			}
			remote, local, err := deps.gitRemote(in.RemoteURL, in.RepoURL)
			if err != nil {
				return err
			}
			raw, err := ac.Checkpoint(ctx, "publish.git."+remote+"#"+opts.branch, func(ctx context.Context) (json.RawMessage, error) {
				if local != "" {
					if err := ensureBareRepo(local, opts.branch); err != nil {
						return nil, err
					}
				}
				repo, hash, err := commitWorkspace(ac, opts)
				if err != nil {
					return nil, err
				}
				var auth transport.AuthMethod
				if in.Token != "" {
					auth = &githttp.BasicAuth{Username: "x-access-token", Password: in.Token}
				}
				ac.Logger.Info(fmt.Sprintf("Pushing commit %s to %s (branch %s)", hash, redactURL(remote), opts.branch))
				if err := push(ctx, repo, remote, opts.branch, auth, in.Force); err != nil {
					return nil, err
				}
				return json.Marshal(pushResult{RemoteURL: remote, CommitHash: hash.String()})
			})
			if err != nil {
				return err
			}
			var res pushResult
			if err := json.Unmarshal(raw, &res); err != nil {
				return fmt.Errorf("publish:git checkpoint: %w", err)
			}
			ac.Output("remoteUrl", res.RemoteURL)
			ac.Output("commitHash", res.CommitHash)
			if local != "" {
				// The catalog reads local repositories through LocalGitFS,
				// so catalog:register can take this as repoContentsUrl.
				if rel, err := filepath.Rel(deps.LocalGitDir, local); err == nil {
					ac.Output("repoContentsUrl", LocalGitLocationType+":"+filepath.ToSlash(rel))
				}
			}
			return nil
		},
	}
}

// gitRemote works out where publish:git pushes: an explicit remoteUrl
// (http(s) to an allowed host, file:// below the local git directory) or a
// repoUrl on the "local" host. For a local repository it also returns its
// directory.
func (d Deps) gitRemote(remoteURL, repoURL string) (remote, localDir string, err error) {
	switch {
	case remoteURL != "" && repoURL != "":
		return "", "", errors.New("input: give remoteUrl or repoUrl, not both")
	case repoURL != "":
		r, err := parseRepoURL("repoUrl", repoURL)
		if err != nil {
			return "", "", err
		}
		if r.host != "local" {
			return "", "", fmt.Errorf("input.repoUrl: publish:git takes repoUrl only for the local host (local?owner=…&repo=…); for %s use remoteUrl or publish:github", r.host)
		}
		if d.LocalGitDir == "" {
			return "", "", errors.New("input.repoUrl: this Portico has no local git directory; use remoteUrl")
		}
		dir := filepath.Join(d.LocalGitDir, r.owner, r.repo+".git")
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(dir)}).String(), dir, nil
	case remoteURL == "":
		return "", "", errors.New("input.remoteUrl: required; give the git remote to push to, or repoUrl: local?owner=…&repo=…")
	}
	u, err := url.Parse(remoteURL)
	if err != nil {
		return "", "", fmt.Errorf("input.remoteUrl: %q is not a URL: %v", remoteURL, err)
	}
	switch u.Scheme {
	case "file":
		if d.LocalGitDir == "" {
			return "", "", fmt.Errorf("input.remoteUrl: file:// remotes are allowed only below the local git directory, and this Portico has none")
		}
		p := filepath.Clean(filepath.FromSlash(u.Path))
		rel, err := filepath.Rel(d.LocalGitDir, p)
		if err != nil || !filepath.IsLocal(rel) {
			return "", "", fmt.Errorf("input.remoteUrl: %s is outside the local git directory %s", remoteURL, d.LocalGitDir)
		}
		return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String(), p, nil
	case "http", "https":
		f := fetcher{deps: d}
		if err := f.allowed(u); err != nil {
			return "", "", fmt.Errorf("input.remoteUrl: pushing to %s is not allowed; add its host to backend.reading.allow or integrations.github", u.Redacted())
		}
		return u.String(), "", nil
	default:
		return "", "", fmt.Errorf("input.remoteUrl: %q: only http(s) and file:// remotes are supported", remoteURL)
	}
}

// ensureBareRepo creates a bare repository at dir unless one is there.
func ensureBareRepo(dir, branch string) error {
	if _, err := os.Stat(filepath.Join(dir, "HEAD")); err == nil {
		return nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("create repository %s: %w", dir, err)
	}
	_, err := git.PlainInitWithOptions(dir, &git.PlainInitOptions{Bare: true,
		InitOptions: git.InitOptions{DefaultBranch: plumbing.NewBranchReferenceName(branch)}})
	if err != nil && !errors.Is(err, git.ErrRepositoryAlreadyExists) {
		return fmt.Errorf("create repository %s: %w", dir, err)
	}
	return nil
}

// repoRef is a parsed repoUrl (host?owner=…&repo=…), as RepoUrlPicker
// writes it.
type repoRef struct {
	host, owner, repo string
}

func parseRepoURL(field, s string) (repoRef, error) {
	u, err := url.Parse("https://" + s)
	if err != nil || u.Host == "" {
		return repoRef{}, fmt.Errorf("input.%s: %q is not of the form host?owner=…&repo=…", field, s)
	}
	q := u.Query()
	r := repoRef{host: u.Host, owner: q.Get("owner"), repo: q.Get("repo")}
	if r.owner == "" || r.repo == "" {
		return repoRef{}, fmt.Errorf("input.%s: %q needs owner and repo (host?owner=…&repo=…)", field, s)
	}
	for _, part := range []string{r.owner, r.repo} {
		if part != path.Base(part) || part == "." || part == ".." || strings.ContainsAny(part, `\/`) {
			return repoRef{}, fmt.Errorf("input.%s: owner and repo must be plain names, got %q", field, part)
		}
	}
	return r, nil
}
