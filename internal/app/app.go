// Package app assembles Portico from its parts: it reads the configuration,
// opens the database, builds the shared services (auth, live updates,
// permissions), initialises every plugin and runs the server until it is
// told to stop.
package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/auth/authapi"
	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/config"
	"github.com/portico-dev/portico/internal/events"
	"github.com/portico-dev/portico/internal/httpapi"
	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/notifications"
	"github.com/portico-dev/portico/internal/orchestrator"
	"github.com/portico-dev/portico/internal/scaffolder"
	"github.com/portico-dev/portico/internal/server"
	"github.com/portico-dev/portico/internal/store"
)

// Env is what a plugin receives to build itself.
type Env struct {
	Config      *config.Config
	Backend     server.BackendConfig
	App         AppConfig
	Development bool
	DB          *store.DB
	Bus         *events.Bus
	Signals     *events.Signals
	Permissions *auth.Permissions
	Tokens      *auth.Tokens
	Logger      *slog.Logger
	Registry    *prometheus.Registry

	// Catalog is the catalog service once the catalog plugin has started;
	// plugins initialised after it read entities through it.
	Catalog *catalog.Service
	// Notifications sends notifications in process (the scaffolder and the
	// orchestrator tell people what happened through it), once started.
	Notifications *notifications.Service
	// Orchestrator is the workflow runtime once the orchestrator plugin has
	// started (the scaffolder's orchestrator:workflow:run action uses it).
	Orchestrator *orchestrator.Runtime
	// Scaffolder runs software templates once the scaffolder has started.
	Scaffolder *scaffolder.Service
	// Integrations are the source-control integrations (GitHub, GitLab)
	// the catalog and the scaffolder read URLs through, once one of them
	// has started.
	Integrations *integrations.Set

	server  *server.Server
	workers *workers
}

// Router returns the router for the plugin's routes below /api/<id>.
func (e *Env) Router(id string) *httpapi.Router { return e.server.Router(id) }

// RootRouter returns a router for the plugin's routes at the server root.
func (e *Env) RootRouter(id string) *httpapi.Router { return e.server.RootRouter(id) }

// AddPort declares an extra listener with routes of its own (see
// server.Port); Port finds it again by name.
func (e *Env) AddPort(name string, l server.Listen) *server.Port { return e.server.AddPort(name, l) }

// Port returns the extra listener declared under name, or nil.
func (e *Env) Port(name string) *server.Port { return e.server.Port(name) }

// Go runs fn in the background while the server runs. Its context is
// cancelled at shutdown, after the HTTP server has drained; the app waits
// for fn to return before closing the database.
func (e *Env) Go(name string, fn func(ctx context.Context) error) { e.workers.add(name, fn) }

// Plugin is one part of Portico (catalog, scaffolder, ...). Its Init
// registers routes and background work through Env.
type Plugin struct {
	ID         string
	Migrations []store.Migrations
	Init       func(ctx context.Context, env *Env) error
}

// plugins lists what portico serve runs, in initialisation order.
func plugins() []Plugin {
	return []Plugin{catalogPlugin(), notificationsPlugin(), orchestratorPlugin(), scaffolderPlugin(), webPlugin()}
}

// Migrations returns every schema migration set, for portico migrate.
func Migrations() []store.Migrations {
	sets := []store.Migrations{auth.Migrations}
	for _, p := range plugins() {
		sets = append(sets, p.Migrations...)
	}
	return sets
}

// App is a configured Portico ready to run.
type App struct {
	env      *Env
	server   *server.Server
	listener net.Listener
}

// Options are the inputs of New.
type Options struct {
	Config *config.Config
	// Development is true when no configuration was given.
	Development bool
	Logger      *slog.Logger
}

// New builds the app: it opens and migrates the database, builds the shared
// services and initialises every plugin. It does not listen yet.
func New(ctx context.Context, opts Options) (_ *App, err error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	cfg := opts.Config
	backend, err := server.LoadBackend(cfg)
	if err != nil {
		return nil, err
	}
	var appCfg AppConfig
	if err := cfg.Decode("app", &appCfg); err != nil {
		return nil, err
	}
	if appCfg.BaseURL == "" {
		appCfg.BaseURL = backend.BaseURL
	}
	var signIn auth.SignInConfig
	if err := cfg.Decode("auth", &signIn); err != nil {
		return nil, err
	}

	db, err := store.Open(ctx, backend.Database, backend.DataDirectory)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			db.Close()
		}
	}()
	applied, err := db.Migrate(ctx, Migrations()...)
	if err != nil {
		return nil, fmt.Errorf("migrate the database: %w", err)
	}
	for _, m := range applied {
		log.Info("applied migration", "migration", m)
	}

	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		newDBCollector(db),
	)

	issuer := backend.BaseURL + "/api/auth"
	expiration := signIn.BackstageTokenExpiration
	if expiration > 24*time.Hour {
		return nil, fmt.Errorf("auth.backstageTokenExpiration: at most 24 hours, got %v", expiration)
	}
	tokens := auth.NewTokens(db, issuer, expiration)
	var guest *auth.Guest
	var anonymous *auth.Principal
	if g := signIn.Providers.Guest; g != nil {
		if guest, err = auth.NewGuest(*g, tokens, opts.Development); err != nil {
			return nil, err
		}
		if g.AllowUnauthenticated {
			p := guest.Principal()
			anonymous = &p
		}
	}
	authn, err := auth.NewAuthenticator(backend.Auth, tokens, anonymous)
	if err != nil {
		return nil, err
	}
	srv, err := server.New(backend, authn, registry, log)
	if err != nil {
		return nil, err
	}
	srv.SetReadyCheck(func(ctx context.Context) error {
		var one int
		return db.QueryRowContext(ctx, "SELECT 1").Scan(&one)
	})

	bus := events.New(log)
	if db.Dialect() == store.Postgres {
		bus.WithPostgres(db.PostgresDSN(), func(ctx context.Context, channel, payload string) error {
			_, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload)
			return err
		})
	}
	permissions := auth.NewPermissions(nil)
	signals := events.NewSignals(bus, authn, log)

	env := &Env{
		Config: cfg, Backend: srv.Config(), App: appCfg, Development: opts.Development,
		DB: db, Bus: bus, Signals: signals, Permissions: permissions, Tokens: tokens,
		Logger: log, Registry: registry, server: srv, workers: &workers{log: log},
	}
	env.Go("events", bus.Run)
	rbac, err := rbacPolicy(ctx, env)
	if err != nil {
		return nil, err
	}

	providers, err := signInProviders(signIn, backend.BaseURL, tokens, env)
	if err != nil {
		return nil, err
	}

	authHandler := &authapi.Handler{Tokens: tokens, Guest: guest, AppOrigin: appCfg.BaseURL, Issuer: issuer, Permissions: permissions, RBAC: rbac, SignIn: providers, Environment: signIn.Environment}
	authHandler.Routes(srv.Router("auth"))
	authHandler.PermissionRoutes(srv.Router("permission"))
	signals.Routes(srv.Router("signals"))

	for _, p := range plugins() {
		if err := p.Init(ctx, env); err != nil {
			return nil, fmt.Errorf("start %s: %w", p.ID, err)
		}
	}
	// Conditional policies name rules that plugins register as they start.
	if rbac != nil {
		if err := rbac.CheckConditions(permissions); err != nil {
			return nil, err
		}
	}
	return &App{env: env, server: srv}, nil
}

// rbacPolicy installs the role-based policy when permission.enabled is
// set, and returns it (nil when permissions are off: everything a caller
// reaches is allowed). Group memberships come from the catalog, which
// starts after the policy is made.
func rbacPolicy(ctx context.Context, env *Env) (*auth.RBAC, error) {
	var cfg auth.PermissionConfig
	if err := env.Config.Decode("permission", &cfg); err != nil {
		return nil, err
	}
	if !cfg.Enabled {
		return nil, nil
	}
	groups := func(ctx context.Context, userRef string, maxDepth int) ([]string, error) {
		if env.Catalog == nil {
			return nil, nil
		}
		return env.Catalog.GroupsOf(ctx, userRef, maxDepth)
	}
	rbac, err := auth.NewRBAC(ctx, cfg.RBAC, env.DB, groups, env.Logger.With("plugin", "permission"))
	if err != nil {
		return nil, err
	}
	env.Permissions.SetPolicy(rbac)
	// Roles changed through the API on another replica apply here within
	// one interval; the files only when policyFileReload is set.
	env.Go("rbac-policy", func(ctx context.Context) error {
		return rbac.Watch(ctx, rbacReloadInterval, cfg.RBAC.PolicyFileReload)
	})
	return rbac, nil
}

// rbacReloadInterval is how often the stored roles (and a reloadable
// policy file) are checked for changes.
const rbacReloadInterval = 2 * time.Second

// Env returns the services the app was built from (for tests and tools).
func (a *App) Env() *Env { return a.env }

// Listen opens the listening socket and returns its address.
func (a *App) Listen() (net.Addr, error) {
	ln, err := a.server.Listen()
	if err != nil {
		return nil, err
	}
	a.listener = ln
	return ln.Addr(), nil
}

// Run serves until ctx is cancelled, then shuts down in order: the HTTP
// server drains in-flight requests, background workers stop, and the
// database is closed.
func (a *App) Run(ctx context.Context) error {
	if a.listener == nil {
		if _, err := a.Listen(); err != nil {
			return err
		}
	}
	workerCtx, stopWorkers := context.WithCancel(context.WithoutCancel(ctx))
	a.env.workers.start(workerCtx)
	serveErr := a.server.Serve(ctx, a.listener)
	stopWorkers()
	a.env.workers.wait()
	return errors.Join(serveErr, a.env.DB.Close())
}

// Close releases what New acquired, for an app that is not run.
func (a *App) Close() error { return a.env.DB.Close() }

type workers struct {
	log *slog.Logger
	mu  sync.Mutex
	fns []namedWorker
	wg  sync.WaitGroup
}

type namedWorker struct {
	name string
	fn   func(ctx context.Context) error
}

func (w *workers) add(name string, fn func(ctx context.Context) error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.fns = append(w.fns, namedWorker{name, fn})
}

func (w *workers) start(ctx context.Context) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, nw := range w.fns {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			if err := nw.fn(ctx); err != nil && ctx.Err() == nil {
				w.log.Error("background worker stopped", "worker", nw.name, "err", err)
			}
		}()
	}
}

func (w *workers) wait() { w.wg.Wait() }

// dbCollector exports connection pool statistics.
type dbCollector struct {
	db                                 *store.DB
	open, inUse, idle, waitCount, wait *prometheus.Desc
}

func newDBCollector(db *store.DB) *dbCollector {
	labels := []string{"pool"}
	return &dbCollector{
		db:        db,
		open:      prometheus.NewDesc("portico_db_open_connections", "Open database connections.", labels, nil),
		inUse:     prometheus.NewDesc("portico_db_in_use_connections", "Database connections in use.", labels, nil),
		idle:      prometheus.NewDesc("portico_db_idle_connections", "Idle database connections.", labels, nil),
		waitCount: prometheus.NewDesc("portico_db_wait_count_total", "Times a caller waited for a connection.", labels, nil),
		wait:      prometheus.NewDesc("portico_db_wait_seconds_total", "Time spent waiting for connections.", labels, nil),
	}
}

func (c *dbCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.open
	ch <- c.inUse
	ch <- c.idle
	ch <- c.waitCount
	ch <- c.wait
}

func (c *dbCollector) Collect(ch chan<- prometheus.Metric) {
	write, read := c.db.Stats()
	pools := map[string]sql.DBStats{"write": write}
	if c.db.Dialect() == store.SQLite {
		pools["read"] = read
	}
	for name, s := range pools {
		ch <- prometheus.MustNewConstMetric(c.open, prometheus.GaugeValue, float64(s.OpenConnections), name)
		ch <- prometheus.MustNewConstMetric(c.inUse, prometheus.GaugeValue, float64(s.InUse), name)
		ch <- prometheus.MustNewConstMetric(c.idle, prometheus.GaugeValue, float64(s.Idle), name)
		ch <- prometheus.MustNewConstMetric(c.waitCount, prometheus.CounterValue, float64(s.WaitCount), name)
		ch <- prometheus.MustNewConstMetric(c.wait, prometheus.CounterValue, s.WaitDuration.Seconds(), name)
	}
}

// OpenDatabase opens the configured database without starting anything
// else (for portico migrate).
func OpenDatabase(ctx context.Context, cfg *config.Config) (*store.DB, error) {
	backend, err := server.LoadBackend(cfg)
	if err != nil {
		return nil, err
	}
	return store.Open(ctx, backend.Database, backend.DataDirectory)
}
