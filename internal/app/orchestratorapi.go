package app

import (
	"context"

	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/orchestrator/orchestratorapi"
)

// orchestratorCatalogConfig is orchestrator.catalog, as the RHDH
// orchestrator plugin names it: who owns the workflows' catalog entities
// and the environment that names their location key.
type orchestratorCatalogConfig struct {
	Owner       string `yaml:"owner"`
	Environment string `yaml:"environment"`
}

// initOrchestratorAPI serves the RHDH orchestrator plugin's v2 REST API at
// /api/orchestrator and publishes workflows as catalog entities.
func initOrchestratorAPI(ctx context.Context, env *Env, rt *orchestrator.Runtime, cfg *orchestrator.Config) error {
	log := env.Logger.With("plugin", "orchestrator")
	svc := &orchestratorapi.Service{Runtime: rt, Permissions: env.Permissions, Logger: log}
	(&orchestratorapi.HTTP{Service: svc}).Routes(env.Router("orchestrator"))
	if env.Catalog == nil {
		return nil
	}
	var cc orchestratorCatalogConfig
	if err := env.Config.Decode("orchestrator.catalog", &cc); err != nil {
		return err
	}
	env.Catalog.AddProvider(&orchestratorapi.EntityProvider{
		Registry: rt.Registry(), ServiceURL: rt.ServiceURL(), Owner: cc.Owner, Environment: cc.Environment, Logger: log,
	})
	return nil
}
