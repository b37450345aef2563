package app

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/portico-dev/portico/examples"
	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/seal"
	"github.com/portico-dev/portico/internal/server"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/workflow/engine"
	"github.com/portico-dev/portico/internal/workflow/function"
)

// runtimePort names the extra listener of orchestrator.runtimeApi.listen.
const runtimePort = "orchestrator.runtimeApi.listen"

func orchestratorPlugin() Plugin {
	return Plugin{
		ID:         "orchestrator",
		Migrations: []store.Migrations{orchestrator.Migrations},
		Init:       initOrchestrator,
	}
}

func initOrchestrator(ctx context.Context, env *Env) error {
	var cfg orchestrator.Config
	if err := env.Config.Decode("orchestrator", &cfg); err != nil {
		return err
	}
	log := env.Logger.With("plugin", "orchestrator")
	var sources []orchestrator.Source
	for _, dir := range cfg.Workflows {
		if sub, ok := strings.CutPrefix(dir, EmbeddedLocationType+":"); ok {
			fsys, err := fs.Sub(examples.FS, sub)
			if err != nil {
				return fmt.Errorf("orchestrator.workflows: %s: %w", dir, err)
			}
			sources = append(sources, orchestrator.Source{Name: dir, FS: fsys})
			continue
		}
		if info, err := os.Stat(dir); err != nil || !info.IsDir() {
			return fmt.Errorf("orchestrator.workflows: %s is not a directory", dir)
		}
		sources = append(sources, orchestrator.Source{Name: dir, FS: os.DirFS(dir)})
	}
	if git := cfg.SonataFlowService.WorkflowsSource; git.GitRepositoryURL != "" {
		src, err := gitWorkflows(ctx, env, git, log)
		if err != nil {
			return err
		}
		sources = append(sources, src)
	}
	eng := engine.NewEngine(&function.Invoker{Logger: log})
	eng.Logger = log
	reg := orchestrator.NewRegistry(eng, sources, cfg.Properties, log)
	if _, err := reg.Load(ctx); err != nil {
		return fmt.Errorf("load workflows: %w", err)
	}
	sinkURL := cfg.Eventing.Sink
	if sinkURL == "" {
		sinkURL = os.Getenv("K_SINK")
	}
	if sinkURL == "" {
		sinkURL = cfg.Properties["mp.messaging.outgoing.kogito_outgoing_stream.url"]
	}
	var sink orchestrator.Sink
	if sinkURL != "" {
		sink = &orchestrator.HTTPSink{URL: sinkURL}
	}
	serviceURL := cfg.ServiceURL
	if serviceURL == "" {
		serviceURL = env.Backend.BaseURL
	}
	sealer, err := seal.New(ctx, env.DB, "orchestrator_keys", "headers", cfg.SecretsKey)
	if err != nil {
		return fmt.Errorf("orchestrator.secretsKey: %w", err)
	}
	live := newLiveInstances(env.Signals, log)
	env.Go("orchestrator-live", live.run)
	rt := orchestrator.New(orchestrator.Options{
		DB: env.DB, Registry: reg, Lease: cfg.LeaseDuration, Poll: cfg.PollInterval,
		InboxTTL: cfg.Eventing.InboxTTL, Sink: sink, ServiceURL: serviceURL, Logger: log, Sealer: sealer,
		Changed: live.changed,
	})
	h := &orchestrator.HTTP{Runtime: rt, Public: cfg.RuntimeAPI.AllowUnauthenticated, Fallback: webUI(env)}
	h.Routes(env.RootRouter("orchestrator"))
	if cfg.RuntimeAPI.Listen != nil {
		var l server.Listen
		if err := env.Config.Decode("orchestrator.runtimeApi.listen", &l); err != nil {
			return err
		}
		internal := &orchestrator.HTTP{Runtime: rt, Public: true}
		internal.Routes(env.AddPort(runtimePort, l).Router("orchestrator"))
	}
	h.PluginRoutes(env.Router("orchestrator"))
	env.Orchestrator = rt
	if err := initDataIndex(ctx, env, rt, &cfg); err != nil {
		return err
	}
	if err := initOrchestratorAPI(ctx, env, rt, &cfg); err != nil {
		return err
	}
	env.Go("orchestrator", rt.Run)
	if cfg.ReloadInterval >= 0 && len(sources) > 0 {
		interval := cfg.ReloadInterval
		if interval == 0 {
			interval = time.Second
		}
		env.Go("orchestrator-reload", func(ctx context.Context) error { return reg.Watch(ctx, interval) })
	}
	return nil
}

// gitWorkflows clones orchestrator.sonataFlowService.workflowsSource and
// keeps pulling it; the registry's reload picks up what changed. A clone
// that fails at start is logged and retried: the other sources load.
func gitWorkflows(ctx context.Context, env *Env, cfg orchestrator.GitSourceConfig, log *slog.Logger) (orchestrator.Source, error) {
	dir := cfg.LocalPath
	if dir == "" {
		dir = filepath.Join(env.Backend.DataDirectory, "workflows-git")
	}
	gs := &orchestrator.GitSource{URL: cfg.GitRepositoryURL, Dir: dir, Branch: cfg.Branch, Token: cfg.Token, Log: log}
	if commit, err := gs.Sync(ctx); err != nil {
		log.Error("workflows repository not cloned; retrying in the background", "repository", cfg.GitRepositoryURL, "error", err)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return orchestrator.Source{}, fmt.Errorf("orchestrator.sonataFlowService.workflowsSource.localPath: %w", err)
		}
	} else {
		log.Info("workflows repository cloned", "repository", cfg.GitRepositoryURL, "commit", commit, "dir", dir)
	}
	interval := cfg.PullInterval
	if interval <= 0 {
		interval = time.Minute
	}
	env.Go("orchestrator-git", func(ctx context.Context) error { return gs.Watch(ctx, interval) })
	return orchestrator.Source{Name: cfg.GitRepositoryURL, FS: os.DirFS(dir)}, nil
}
