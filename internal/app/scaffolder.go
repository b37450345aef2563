package app

import (
	"context"

	"github.com/portico-dev/portico/internal/store"
)

func scaffolderPlugin() Plugin {
	return Plugin{
		ID:         "scaffolder",
		Migrations: []store.Migrations{},
		Init:       initScaffolder,
	}
}

// initScaffolder starts the scaffolder: templates, actions, task workers.
func initScaffolder(ctx context.Context, env *Env) error {
	return nil
}
