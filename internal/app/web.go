package app

import (
	"context"
	"net/http"

	"github.com/portico-dev/portico/web"
)

// webUI returns the handler of the embedded web UI. When the binary was
// built without the UI, it answers with a page that says how to build it.
func webUI(env *Env) http.Handler {
	h, err := web.NewHandler(nil, env.Logger.With("plugin", "web"))
	if err != nil {
		// The embedded files were hashed at build time and cannot fail to
		// read; report it anyway rather than serve nothing.
		env.Logger.Error("web UI unavailable", "err", err)
		return http.NotFoundHandler()
	}
	return h
}

// mountWebUI serves the UI at / and below its own pages' paths, without
// authentication: the app signs in by itself, and its assets are public.
// Other GET paths reach it through the orchestrator's fallback (the
// SonataFlow routes at the root take every /{name}).
func mountWebUI(env *Env, ui http.Handler) {
	env.server.Handle("GET /{$}", ui)
	env.server.Handle("GET /assets/", ui)
	env.server.Handle("GET /favicon.svg", ui)
	for _, route := range web.ClientRoutes {
		env.server.Handle("GET /"+route, ui)
		env.server.Handle("GET /"+route+"/", ui)
	}
}

func webPlugin() Plugin {
	return Plugin{
		ID: "web",
		Init: func(_ context.Context, env *Env) error {
			mountWebUI(env, webUI(env))
			return nil
		},
	}
}
