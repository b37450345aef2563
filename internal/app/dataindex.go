package app

import (
	"context"

	"github.com/portico-dev/portico/internal/httpapi"
	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/orchestrator/dataindex"
)

// initDataIndex serves the Data Index GraphQL API over the runtime's
// tables at /graphql (where the orchestrator plugin's
// dataIndexService.url points) and at /api/orchestrator/graphql. Like
// SonataFlow's routes it needs no Portico credentials when
// orchestrator.runtimeApi.allowUnauthenticated is set, as the plugin
// sends none, and it is served without credentials on the runtime API's
// own port (orchestrator.runtimeApi.listen) when there is one.
func initDataIndex(ctx context.Context, env *Env, rt *orchestrator.Runtime, cfg *orchestrator.Config) error {
	svc := dataindex.New(dataindex.Options{
		Runtime: rt, DB: env.DB, Logger: env.Logger.With("plugin", "orchestrator", "api", "dataindex"),
	})
	var opts []httpapi.RouteOption
	if cfg.RuntimeAPI.AllowUnauthenticated {
		opts = append(opts, httpapi.Unauthenticated())
	}
	root := env.RootRouter("orchestrator")
	root.Handle("GET /graphql", svc, opts...)
	root.Handle("POST /graphql", svc, opts...)
	env.Router("orchestrator").Handle("/graphql", svc, opts...)
	if p := env.Port(runtimePort); p != nil {
		r := p.Router("orchestrator")
		r.Handle("GET /graphql", svc, httpapi.Unauthenticated())
		r.Handle("POST /graphql", svc, httpapi.Unauthenticated())
	}
	return nil
}
