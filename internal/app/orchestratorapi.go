package app

import (
	"context"

	"github.com/portico-dev/portico/internal/orchestrator"
)

// initOrchestratorAPI serves the RHDH orchestrator plugin's v2 REST API at
// /api/orchestrator and publishes workflows as catalog entities.
func initOrchestratorAPI(ctx context.Context, env *Env, rt *orchestrator.Runtime, cfg *orchestrator.Config) error {
	return nil
}
