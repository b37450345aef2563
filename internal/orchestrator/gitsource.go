package orchestrator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	git "github.com/go-git/go-git/v5"
	gitconfig "github.com/go-git/go-git/v5/config"
	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/transport"
	githttp "github.com/go-git/go-git/v5/plumbing/transport/http"
)

// GitSourceConfig is orchestrator.sonataFlowService.workflowsSource: a git
// repository of workflow files that Portico clones and keeps pulling, as
// the RHDH plugin's development mode does.
type GitSourceConfig struct {
	GitRepositoryURL string `yaml:"gitRepositoryUrl"`
	// LocalPath is where the clone lives (default <dataDirectory>/workflows-git).
	LocalPath string `yaml:"localPath"`
	// AutoPush is accepted for compatibility; Portico only reads the
	// repository.
	AutoPush bool `yaml:"autoPush"`
	// Branch to follow (default the remote's default branch).
	Branch string `yaml:"branch"`
	// PullInterval is how often the repository is pulled (default 1m).
	PullInterval time.Duration `yaml:"pullInterval"`
	// Token authenticates HTTPS clones of private repositories.
	Token string `yaml:"token"`
}

// SonataFlowServiceConfig is orchestrator.sonataFlowService. Portico is the
// workflow service itself, so only workflowsSource changes what it does;
// the other keys are accepted so that an RHDH configuration loads.
type SonataFlowServiceConfig struct {
	BaseURL         string          `yaml:"baseUrl"`
	Port            int             `yaml:"port"`
	AutoStart       bool            `yaml:"autoStart"`
	Container       string          `yaml:"container"`
	Persistence     any             `yaml:"persistence"`
	WorkflowsSource GitSourceConfig `yaml:"workflowsSource"`
}

// GitSource keeps a local clone of a repository of workflow files up to
// date; the registry reads the clone like any directory and reloads what
// a pull changed.
type GitSource struct {
	URL, Dir, Branch, Token string
	Log                     *slog.Logger
}

// Sync clones the repository, or fetches it and moves the working tree to
// the followed branch's newest commit, discarding local changes. It
// reports the commit the tree is at.
func (g *GitSource) Sync(ctx context.Context) (string, error) {
	repo, err := git.PlainOpen(g.Dir)
	if errors.Is(err, git.ErrRepositoryNotExists) {
		return g.clone(ctx)
	}
	if err != nil {
		return "", fmt.Errorf("open %s: %w", g.Dir, err)
	}
	branch := g.Branch
	if branch == "" {
		head, err := repo.Head()
		if err != nil {
			return "", fmt.Errorf("read HEAD of %s: %w", g.Dir, err)
		}
		branch = head.Name().Short()
	}
	err = repo.FetchContext(ctx, &git.FetchOptions{
		RemoteName: "origin", Auth: g.auth(), Force: true,
		RefSpecs: []gitconfig.RefSpec{gitconfig.RefSpec("+refs/heads/" + branch + ":refs/remotes/origin/" + branch)},
	})
	if err != nil && !errors.Is(err, git.NoErrAlreadyUpToDate) {
		return "", fmt.Errorf("fetch %s: %w", g.URL, err)
	}
	ref, err := repo.Reference(plumbing.NewRemoteReferenceName("origin", branch), true)
	if err != nil {
		return "", fmt.Errorf("branch %q of %s: %w", branch, g.URL, err)
	}
	wt, err := repo.Worktree()
	if err != nil {
		return "", err
	}
	if err := wt.Reset(&git.ResetOptions{Commit: ref.Hash(), Mode: git.HardReset}); err != nil {
		return "", fmt.Errorf("update %s: %w", g.Dir, err)
	}
	return ref.Hash().String(), nil
}

func (g *GitSource) clone(ctx context.Context) (string, error) {
	if err := os.MkdirAll(filepath.Dir(g.Dir), 0o755); err != nil {
		return "", err
	}
	opts := &git.CloneOptions{URL: g.URL, Auth: g.auth(), SingleBranch: true}
	if g.Branch != "" {
		opts.ReferenceName = plumbing.NewBranchReferenceName(g.Branch)
	}
	repo, err := git.PlainCloneContext(ctx, g.Dir, false, opts)
	if err != nil {
		_ = os.RemoveAll(g.Dir)
		return "", fmt.Errorf("clone %s: %w", g.URL, err)
	}
	head, err := repo.Head()
	if err != nil {
		return "", err
	}
	return head.Hash().String(), nil
}

func (g *GitSource) auth() transport.AuthMethod {
	if g.Token == "" {
		return nil
	}
	// GitHub, GitLab and most servers take a token as the password of
	// HTTP basic authentication with any user name.
	return &githttp.BasicAuth{Username: "portico", Password: g.Token}
}

// Watch pulls every interval until ctx ends; a failed pull is logged and
// tried again, the clone keeps serving what it has.
func (g *GitSource) Watch(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	last := ""
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			commit, err := g.Sync(ctx)
			if err != nil {
				if ctx.Err() == nil {
					g.Log.Warn("pull workflows", "repository", g.URL, "error", err)
				}
				continue
			}
			if commit != last && last != "" {
				g.Log.Info("workflows pulled", "repository", g.URL, "commit", commit)
			}
			last = commit
		}
	}
}
