package app

import (
	"context"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"time"

	"github.com/portico-dev/portico/examples"
	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/scaffolder/actions"
	"github.com/portico-dev/portico/internal/scaffolder/nunjucks"
	"github.com/portico-dev/portico/internal/scaffolder/workspaces"
	"github.com/portico-dev/portico/internal/store"
)

func scaffolderPlugin() Plugin {
	return Plugin{
		ID:         "scaffolder",
		Migrations: []store.Migrations{scaffolder.Migrations, workspaces.Migrations},
		Init:       initScaffolder,
	}
}

// initScaffolder starts the scaffolder: templates from the catalog, the
// built-in actions, the task workers with recovery, and the API.
func initScaffolder(ctx context.Context, env *Env) error {
	var cfg scaffolder.Config
	if err := env.Config.Decode("scaffolder", &cfg); err != nil {
		return err
	}
	settings, err := cfg.Resolve()
	if err != nil {
		return err
	}
	if env.Catalog == nil {
		return fmt.Errorf("the scaffolder needs the catalog, which has not started")
	}
	log := env.Logger.With("plugin", "scaffolder")

	var provider scaffolder.WorkspaceProvider
	switch settings.WorkspaceProvider {
	case scaffolder.WorkspaceDatabase:
		provider = &workspaces.Database{DB: env.DB}
	case scaffolder.WorkspaceGCPBucket, scaffolder.WorkspaceBucket:
		b, err := workspaces.OpenBucket(ctx, settings.BucketURL)
		if err != nil {
			return fmt.Errorf("scaffolder.taskRecovery: %w", err)
		}
		provider = b
	}

	var allow []actions.ReadAllow
	if err := env.Config.Decode("backend.reading.allow", &allow); err != nil {
		return err
	}
	integ, err := integrationsOf(env)
	if err != nil {
		return err
	}
	// parseRepoUrl checks the query parameters of a configured GitLab
	// host as GitLab's (project instead of owner); other hosts keep the
	// well-known classification, any other host counting as GitHub-like.
	filters := scaffolder.TemplateFiltersFor(func(host string) (string, bool) {
		if _, ok := integ.GitLab(host); ok {
			return "gitlab", true
		}
		if _, ok := integ.GitHub(host); ok {
			return "github", true
		}
		return scaffolder.DefaultRepoHostType(host)
	})
	deps := actions.Deps{
		TemplateFilters:      filters,
		Catalog:              env.Catalog,
		Integrations:         integ,
		ReadAllow:            allow,
		HTTPClient:           &http.Client{Timeout: 5 * time.Minute},
		DefaultAuthor:        actions.GitAuthor{Name: cfg.DefaultAuthor.Name, Email: cfg.DefaultAuthor.Email},
		DefaultCommitMessage: cfg.DefaultCommitMessage,
		// Templates of the embedded examples fetch their skeletons from
		// the binary.
		FileSystems: map[string]fs.FS{EmbeddedLocationType: examples.FS},
		// publish:git keeps local repositories here; the catalog reads
		// them as local-git: locations (see catalog.go).
		LocalGitDir: localGitDir(env),
	}
	if env.Orchestrator != nil {
		deps.Orchestrator = env.Orchestrator
	}

	workDir := env.Backend.WorkingDirectory
	if workDir != "" {
		if err := os.MkdirAll(workDir, 0o700); err != nil {
			return fmt.Errorf("backend.workingDirectory: %w", err)
		}
	}
	svc, err := scaffolder.New(ctx, scaffolder.Options{
		DB:               env.DB,
		Bus:              env.Bus,
		Catalog:          scaffolderCatalog{env.Catalog},
		Templater:        nunjucks.New(nunjucks.Options{Filters: filters}),
		Actions:          actions.Builtins(deps),
		Workspaces:       provider,
		Settings:         settings,
		WorkingDirectory: workDir,
		Logger:           log,
		Permissions:      env.Permissions,
	})
	if err != nil {
		return err
	}
	env.Scaffolder = svc
	scaffolder.RegisterPermissionRules(env.Permissions, svc)
	if err := addFormDecorators(svc); err != nil {
		return err
	}
	(&scaffolder.HTTP{
		Service:              svc,
		Permissions:          env.Permissions,
		TemplatingExtensions: scaffolder.TemplatingExtensions(),
	}).Routes(env.Router("scaffolder"))
	env.Go("scaffolder", svc.Run)
	log.Info("scaffolder ready", "workers", settings.ConcurrentTasksLimit, "recovery", settings.RecoveryEnabled,
		"staleTimeout", settings.StaleTimeout, "workspaceProvider", settings.WorkspaceProvider)
	return nil
}

// scaffolderCatalog reads templates and users for the scaffolder.
type scaffolderCatalog struct{ svc *catalog.Service }

// EntityJSON implements scaffolder.Catalog.
func (c scaffolderCatalog) EntityJSON(ctx context.Context, ref string) ([]byte, error) {
	r, err := catalog.ParseRef(ref, catalog.RefDefaults{Kind: "template", Namespace: "default"})
	if err != nil {
		return nil, err
	}
	return c.svc.EntityJSON(ctx, r)
}
