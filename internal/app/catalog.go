package app

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/portico-dev/portico/examples"
	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/scaffolder/actions"
	"github.com/portico-dev/portico/internal/store"
)

// EmbeddedLocationType is the location type whose targets are paths inside
// the examples embedded in the binary ("embedded:catalog/all.yaml"), so the
// development setup has a catalog without any files on disk.
const EmbeddedLocationType = "embedded"

func catalogPlugin() Plugin {
	return Plugin{
		ID:         "catalog",
		Migrations: []store.Migrations{catalog.Migrations},
		Init:       initCatalog,
	}
}

func initCatalog(ctx context.Context, env *Env) error {
	var cfg catalog.Config
	if err := env.Config.Decode("catalog", &cfg); err != nil {
		return err
	}
	var allow []catalog.ReadAllow
	if err := env.Config.Decode("backend.reading.allow", &allow); err != nil {
		return err
	}
	integ, err := integrationsOf(env)
	if err != nil {
		return err
	}
	svc, err := catalog.New(catalog.Options{
		DB:      env.DB,
		Config:  cfg,
		BaseDir: ".",
		FileSystems: map[string]fs.FS{
			EmbeddedLocationType: examples.FS,
			// Repositories the scaffolder's publish:git made locally, so
			// catalog:register can register what a template published.
			actions.LocalGitLocationType: actions.LocalGitFS(localGitDir(env)),
		},
		ReadAllow: allow,
		// The client carries the integrations: url locations on their
		// hosts are read through their APIs with their tokens.
		Integrations: integ,
		Logger:       env.Logger.With("plugin", "catalog"),
		Publish: func(ctx context.Context, topic string, data any) error {
			return env.Bus.Publish(ctx, topic, data)
		},
	})
	if err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	env.Catalog = svc
	env.Permissions.RegisterConditions(catalog.ResourceTypeEntity, svc.ConditionRules())
	(&catalog.HTTP{Service: svc, Permissions: env.Permissions}).Routes(env.Router("catalog"))
	env.Go("catalog", svc.Run)
	return nil
}

// localGitDir is where the scaffolder's publish:git keeps local bare
// repositories (repoUrl local?owner=…&repo=…): below the data directory.
func localGitDir(env *Env) string {
	dir, err := filepath.Abs(filepath.Join(env.Backend.DataDirectory, "git"))
	if err != nil {
		return filepath.Join(env.Backend.DataDirectory, "git")
	}
	return dir
}
