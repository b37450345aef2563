package scaffolder

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/events"
	"github.com/portico-dev/portico/internal/store"
)

// Bus topics: a task was created or re-opened (wakes every replica's
// claimers); a task has new events (wakes streams); a cancel was asked for
// (stops the run wherever it is).
const (
	TopicTask      = "scaffolder.task"
	TopicEvents    = "scaffolder.task.events"
	TopicCancelled = "scaffolder.task.cancel"
)

// Catalog is what the scaffolder reads from the catalog: templates and the
// users who run them.
type Catalog interface {
	// EntityJSON returns an entity by ref ("template:default/x"), or an
	// errs.NotFound error.
	EntityJSON(ctx context.Context, ref string) ([]byte, error)
}

// Options are what New needs.
type Options struct {
	DB      *store.DB
	Bus     *events.Bus
	Catalog Catalog
	// Templater renders ${{ }} expressions (the nunjucks engine).
	Templater Templater
	Actions   []Action
	// Workspaces keeps workspaces across runs; nil keeps none.
	Workspaces WorkspaceProvider
	Decorators []FormDecorator
	Settings   Settings
	// WorkingDirectory is where task workspaces live (os.TempDir() when
	// empty).
	WorkingDirectory string
	Logger           *slog.Logger
	// Permissions decides scaffolder.action.execute before each step;
	// nil allows every action.
	Permissions *auth.Permissions
}

// Service runs the scaffolder: it stores tasks, runs them on a bounded
// pool of workers, recovers tasks whose replica died, and answers the API.
type Service struct {
	db         *store.DB
	bus        *events.Bus
	catalog    Catalog
	templater  Templater
	workspaces WorkspaceProvider
	settings   Settings
	workDir    string
	log        *slog.Logger
	store      *taskStore
	perms      *auth.Permissions

	mu         sync.Mutex
	actions    map[string]Action
	schemas    map[string]*jsonschema.Schema
	decorators map[string]FormDecorator
	running    map[string]*runningTask

	wake chan struct{}
	// stopping is closed when Run's context ends: runs hand their tasks
	// over after the current step.
	stopping chan struct{}
	stopOnce sync.Once
}

type runningTask struct {
	cancel context.CancelCauseFunc
}

// New builds the service. Call Run to start its workers.
func New(ctx context.Context, opts Options) (*Service, error) {
	if opts.Templater == nil {
		return nil, errors.New("scaffolder: a Templater is required")
	}
	sealer, err := newSealer(ctx, opts.DB, opts.Settings.SecretsKey)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	workDir := opts.WorkingDirectory
	if workDir == "" {
		workDir = os.TempDir()
	}
	s := &Service{
		db: opts.DB, bus: opts.Bus, catalog: opts.Catalog, templater: opts.Templater,
		workspaces: opts.Workspaces, settings: opts.Settings, workDir: workDir, log: log, perms: opts.Permissions,
		store:   &taskStore{db: opts.DB, sealer: sealer},
		actions: map[string]Action{}, schemas: map[string]*jsonschema.Schema{},
		decorators: map[string]FormDecorator{}, running: map[string]*runningTask{},
		wake: make(chan struct{}, 1), stopping: make(chan struct{}),
	}
	// Settings made in code may leave durations out: use the defaults.
	defaults, _ := Config{}.Resolve()
	for _, d := range []struct{ v, def *time.Duration }{
		{&s.settings.TaskTimeout, &defaults.TaskTimeout},
		{&s.settings.JanitorFrequency, &defaults.JanitorFrequency},
		{&s.settings.StaleTimeout, &defaults.StaleTimeout},
		{&s.settings.RecoveryInterval, &defaults.RecoveryInterval},
		{&s.settings.GracefulShutdownTimeout, &defaults.GracefulShutdownTimeout},
	} {
		if *d.v <= 0 {
			*d.v = *d.def
		}
	}
	for _, a := range opts.Actions {
		if err := s.AddAction(a); err != nil {
			return nil, err
		}
	}
	for _, d := range opts.Decorators {
		if err := s.AddFormDecorator(d); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// AddAction registers an action; its input schema is compiled now so that
// a broken schema fails at startup.
func (s *Service) AddAction(a Action) error {
	if a.ID == "" || a.Handler == nil {
		return fmt.Errorf("scaffolder: action %q needs an ID and a Handler", a.ID)
	}
	var compiled *jsonschema.Schema
	if a.Schema.Input != nil {
		var err error
		if compiled, err = compileSchema("action "+a.ID+" input", a.Schema.Input); err != nil {
			return fmt.Errorf("scaffolder: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.actions[a.ID]; dup {
		return fmt.Errorf("scaffolder: action %s is registered twice", a.ID)
	}
	s.actions[a.ID] = a
	s.schemas[a.ID] = compiled
	return nil
}

// Actions returns the registered actions sorted by ID.
func (s *Service) Actions() []Action {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Action, 0, len(s.actions))
	for _, a := range s.actions {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b Action) int { return strings.Compare(a.ID, b.ID) })
	return out
}

func (s *Service) action(id string) (Action, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.actions[id]
	return a, ok
}

func (s *Service) validateInput(a Action, input map[string]any) error {
	s.mu.Lock()
	schema := s.schemas[a.ID]
	s.mu.Unlock()
	if schema == nil {
		return nil
	}
	fes, err := validateValue(schema, input)
	if err != nil {
		return err
	}
	if len(fes) == 0 {
		return nil
	}
	msgs := make([]string, len(fes))
	for i, fe := range fes {
		msgs[i] = fe.Stack
	}
	return errors.New(strings.Join(msgs, "; "))
}

// Settings returns the settings the service runs with.
func (s *Service) Settings() Settings { return s.settings }

// Run runs the workers until ctx ends: the claim loop (woken at once when
// a task is created, on any replica), heartbeats, recovery of stale tasks
// and the timeout janitor. When ctx ends, running steps may finish within
// the graceful shutdown timeout; their tasks are then handed over.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	sub := s.bus.Subscribe(TopicTask, TopicCancelled)
	defer sub.Close()
	wg.Go(func() { s.listen(ctx, sub) })

	if s.settings.RecoveryEnabled {
		if s.db.Dialect() == store.SQLite {
			// SQLite has one replica: what is processing at startup was
			// cut off by this process's predecessor and is recovered now.
			if ids, err := s.store.recoverStale(ctx, time.Time{}); err != nil {
				s.log.Error("recover tasks", "err", err)
			} else if len(ids) > 0 {
				s.log.Info("recovered tasks cut off by the last stop", "tasks", ids)
			}
		}
		wg.Go(func() { s.every(ctx, s.settings.RecoveryInterval, s.recover) })
	}
	wg.Go(func() { s.every(ctx, s.settings.JanitorFrequency, s.janitor) })

	var runs sync.WaitGroup
	if s.settings.ConcurrentTasksLimit > 0 {
		s.claimLoop(ctx, &runs)
	} else {
		<-ctx.Done()
	}
	s.stopOnce.Do(func() { close(s.stopping) })
	// Running steps may finish; after the timeout they are stopped and
	// their tasks handed over.
	done := make(chan struct{})
	go func() { runs.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(s.settings.GracefulShutdownTimeout):
		s.mu.Lock()
		for _, rt := range s.running {
			rt.cancel(errStopping)
		}
		s.mu.Unlock()
		<-done
	}
	wg.Wait()
	return nil
}

func (s *Service) listen(ctx context.Context, sub *events.Subscription) {
	for {
		select {
		case <-ctx.Done():
			return
		case msg, ok := <-sub.C():
			if !ok {
				// Lagged: resubscribe and look for work in case a wake-up
				// was lost.
				sub = s.bus.Subscribe(TopicTask, TopicCancelled)
				defer sub.Close()
				s.Wake()
				continue
			}
			switch msg.Topic {
			case TopicTask:
				s.Wake()
			case TopicCancelled:
				var m struct {
					TaskID string `json:"taskId"`
				}
				if json.Unmarshal(msg.Data, &m) == nil {
					s.cancelLocal(m.TaskID)
				}
			}
		}
	}
}

func (s *Service) every(ctx context.Context, d time.Duration, fn func(ctx context.Context)) {
	t := time.NewTicker(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			fn(ctx)
		}
	}
}

// Wake makes this replica's claimers look for open tasks now.
func (s *Service) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// claimLoop claims tasks while it has free slots; it sleeps until woken
// (a new task here or on another replica, a finished run) or, as a safety
// net for a lost notification, for five seconds.
func (s *Service) claimLoop(ctx context.Context, runs *sync.WaitGroup) {
	slots := make(chan struct{}, s.settings.ConcurrentTasksLimit)
	safety := time.NewTicker(5 * time.Second)
	defer safety.Stop()
	for {
		// Claim as long as there is work and room.
		for {
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return
			}
			task, err := s.store.claim(ctx, s.settings.RecoveryEnabled)
			if err != nil || task == nil {
				<-slots
				if err != nil && ctx.Err() == nil {
					s.log.Error("claim a task", "err", err)
				}
				break
			}
			runs.Add(1)
			go func() {
				defer runs.Done()
				defer func() { <-slots; s.Wake() }()
				s.runTask(ctx, task)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-s.wake:
		case <-safety.C:
		}
	}
}

func (s *Service) recover(ctx context.Context) {
	ids, err := s.store.recoverStale(ctx, store.Now().Add(-s.settings.StaleTimeout))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("recover stale tasks", "err", err)
		}
		return
	}
	if len(ids) == 0 {
		return
	}
	s.log.Info("recovered stale tasks", "tasks", ids)
	for _, id := range ids {
		s.publishEvents(ctx, id)
	}
	s.publishTask(ctx)
	s.Wake()
}

func (s *Service) janitor(ctx context.Context) {
	ids, err := s.store.failStale(ctx, store.Now().Add(-s.settings.TaskTimeout))
	if err != nil {
		if ctx.Err() == nil {
			s.log.Error("fail timed-out tasks", "err", err)
		}
		return
	}
	for _, id := range ids {
		s.log.Warn("failed a task that exceeded scaffolder.taskTimeout", "task", id)
		s.publishEvents(ctx, id)
		if s.workspaces != nil {
			_ = s.workspaces.Clean(ctx, id)
		}
	}
}

func (s *Service) publishTask(ctx context.Context) {
	if err := s.bus.Publish(ctx, TopicTask, map[string]string{}); err != nil {
		s.log.Warn("announce a task", "err", err)
	}
}

func (s *Service) publishEvents(ctx context.Context, taskID string) {
	if err := s.bus.Publish(context.WithoutCancel(ctx), TopicEvents, map[string]string{"taskId": taskID}); err != nil {
		s.log.Warn("announce task events", "task", taskID, "err", err)
	}
}

func (s *Service) cancelLocal(taskID string) {
	s.mu.Lock()
	rt := s.running[taskID]
	s.mu.Unlock()
	if rt != nil {
		rt.cancel(errCancelled)
	}
}

// runTask runs a claimed task to its end, or until it is handed over.
func (s *Service) runTask(parent context.Context, t *claimedTask) {
	// The run outlives Run's context by the graceful shutdown timeout; it
	// ends early on cancel or when the claim is lost.
	ctx, cancel := context.WithCancelCause(context.WithoutCancel(parent))
	defer cancel(nil)
	s.mu.Lock()
	s.running[t.ID] = &runningTask{cancel: cancel}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.running, t.ID)
		s.mu.Unlock()
	}()
	log := s.log.With("task", t.ID)
	lost := make(chan struct{})
	hbDone := make(chan struct{})
	go func(ctx context.Context) {
		defer close(hbDone)
		s.heartbeat(ctx, t, cancel, lost)
	}(ctx)
	defer func() { cancel(nil); <-hbDone }()

	// scaffolder.taskTimeout bounds a run, so a hung step cannot hold a
	// worker forever.
	ctx, cancelTimeout := context.WithTimeoutCause(ctx, s.settings.TaskTimeout, errTimedOut)
	defer cancelTimeout()

	// Between steps, a stopping replica hands the task over.
	stepCtx, stopSteps := context.WithCancelCause(ctx)
	defer stopSteps(nil)
	go func() {
		select {
		case <-s.stopping:
			stopSteps(errStopping)
		case <-stepCtx.Done():
		}
	}()

	r, cleanup, err := s.prepareRun(ctx, t)
	if err != nil {
		log.Error("prepare the task workspace", "err", err)
		s.finish(ctx, t, nil, fmt.Errorf("prepare the workspace: %w", err))
		return
	}
	defer cleanup()
	out, err := r.executeUntilStopped(ctx, stepCtx, t.Recovered)
	select {
	case <-lost:
		log.Warn("the task was taken over elsewhere; this run stops without recording its end")
		return
	default:
	}
	if errors.Is(err, errStopping) {
		if herr := s.store.handOver(context.WithoutCancel(ctx), t.ID, t.RunID); herr != nil {
			log.Warn("hand the task over", "err", herr)
		} else {
			log.Info("handed the task over: the replica is stopping")
			s.publishEvents(ctx, t.ID)
			s.publishTask(context.WithoutCancel(ctx))
		}
		return
	}
	s.finish(ctx, t, out, err)
}

// executeUntilStopped runs the steps with stepCtx, which ends when the
// replica stops; the step running then finishes within the graceful
// shutdown timeout (ctx), and the run returns errStopping.
func (r *run) executeUntilStopped(ctx, stepCtx context.Context, recovered bool) (map[string]any, error) {
	// Steps run with ctx (so a stop lets them finish); the loop checks
	// stepCtx between steps.
	runCtx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-stepCtx.Done():
			if c := context.Cause(stepCtx); errors.Is(c, errStopping) {
				r.mu.Lock()
				r.stopping = true
				r.mu.Unlock()
			}
		case <-runCtx.Done():
		}
	}()
	return r.execute(runCtx, recovered)
}

func (s *Service) heartbeat(ctx context.Context, t *claimedTask, cancel context.CancelCauseFunc, lost chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		cancelled, err := s.store.heartbeat(ctx, t.ID, t.RunID)
		switch {
		case errors.Is(err, errLostClaim):
			close(lost)
			cancel(errLostClaim)
			return
		case err != nil:
			if ctx.Err() == nil {
				s.log.Warn("task heartbeat", "task", t.ID, "err", err)
			}
		case cancelled:
			cancel(errCancelled)
		}
	}
}

// prepareRun makes the run's workspace, rehydrated from the provider when
// the task ran before.
func (s *Service) prepareRun(ctx context.Context, t *claimedTask) (*run, func(), error) {
	dir := filepath.Join(s.workDir, "portico-task-"+t.ID+"-"+t.RunID[:8])
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }
	state := t.State
	if t.StartOver {
		// Start over: completed steps run again in a fresh workspace;
		// checkpoints stay, so idempotent actions skip done work.
		state.State.Steps = nil
		if s.workspaces != nil {
			if err := s.workspaces.Clean(ctx, t.ID); err != nil {
				cleanup()
				return nil, nil, err
			}
		}
	} else if s.workspaces != nil && (t.Recovered || len(state.State.Steps) > 0) {
		if _, err := s.workspaces.Rehydrate(ctx, t.ID, dir); err != nil {
			cleanup()
			return nil, nil, fmt.Errorf("rehydrate: %w", err)
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		cleanup()
		return nil, nil, err
	}
	r := &run{
		svc: s, taskID: t.ID, spec: &t.Spec, state: state, secrets: t.Secrets, initiator: initiatorOf(t.CreatedBy),
		redact: newRedactor(t.Secrets, s.settings.EnvironmentSecrets), dir: dir, root: root,
	}
	sink := &storeSink{svc: s, task: t, dir: dir}
	// What is on disk now is what the provider has (or nothing at all), so
	// an unchanged workspace is not stored again.
	sink.saved, _ = fingerprint(dir)
	r.sink = sink
	if t.StartOver {
		// Forget the completed steps in the store too, so a crash now
		// does not skip them.
		_ = s.store.updateState(ctx, t.ID, t.RunID, func(st *taskState) { st.State.Steps = nil })
	}
	return r, func() { root.Close(); cleanup() }, nil
}

// finish records the end of a run.
func (s *Service) finish(ctx context.Context, t *claimedTask, out map[string]any, runErr error) {
	ctx = context.WithoutCancel(ctx)
	status := StatusCompleted
	body := map[string]any{"message": "Run completed with status: completed", "output": out}
	if runErr != nil {
		status = StatusFailed
		if errors.Is(runErr, errCancelled) {
			status = StatusCancelled
		}
		redact := newRedactor(t.Secrets, s.settings.EnvironmentSecrets)
		body = map[string]any{
			"message": "Run completed with status: " + status,
			"error":   map[string]string{"name": "Error", "message": redact.String(runErr.Error())},
		}
	}
	if _, err := s.store.complete(ctx, t.ID, t.RunID, status, body); err != nil {
		if !errors.Is(err, errLostClaim) {
			s.log.Error("complete task", "task", t.ID, "err", err)
		}
		return
	}
	if status == StatusCompleted && s.workspaces != nil {
		if err := s.workspaces.Clean(ctx, t.ID); err != nil {
			s.log.Warn("clean the stored workspace", "task", t.ID, "err", err)
		}
	}
	s.publishEvents(ctx, t.ID)
}

// storeSink records a real run in the task store.
type storeSink struct {
	svc  *Service
	task *claimedTask
	dir  string

	mu      sync.Mutex
	pending bool
	last    time.Time
	// saved is the fingerprint of the workspace the provider holds.
	saved string
}

// notifyEvery spaces out "new events" messages of one run: streams re-read
// everything after their last event anyway, and a NOTIFY per log line
// would double the database round trips of a chatty step.
const notifyEvery = 20 * time.Millisecond

func (k *storeSink) event(ctx context.Context, typ string, body map[string]any) error {
	if _, err := k.svc.store.log(ctx, k.task.ID, typ, body); err != nil {
		return err
	}
	k.notify(ctx)
	return nil
}

func (k *storeSink) notify(ctx context.Context) {
	k.mu.Lock()
	if k.pending {
		k.mu.Unlock()
		return
	}
	wait := notifyEvery - time.Since(k.last)
	if wait <= 0 {
		k.last = time.Now()
		k.mu.Unlock()
		k.svc.publishEvents(ctx, k.task.ID)
		return
	}
	k.pending = true
	k.mu.Unlock()
	time.AfterFunc(wait, func() {
		k.mu.Lock()
		k.pending, k.last = false, time.Now()
		k.mu.Unlock()
		k.svc.publishEvents(context.WithoutCancel(ctx), k.task.ID)
	})
}

func (k *storeSink) saveStep(ctx context.Context, stepID string, output map[string]any) error {
	return k.svc.store.updateState(context.WithoutCancel(ctx), k.task.ID, k.task.RunID, func(st *taskState) {
		if st.State.Steps == nil {
			st.State.Steps = map[string]stepState{}
		}
		st.State.Steps[stepID] = stepState{Status: StatusCompleted, Output: output}
	})
}

func (k *storeSink) saveCheckpoint(ctx context.Context, key string, cp checkpoint) error {
	return k.svc.store.updateState(context.WithoutCancel(ctx), k.task.ID, k.task.RunID, func(st *taskState) {
		if st.State.Checkpoints == nil {
			st.State.Checkpoints = map[string]checkpoint{}
		}
		st.State.Checkpoints[key] = cp
	})
}

func (k *storeSink) serialize(ctx context.Context) error {
	if k.svc.workspaces == nil {
		return nil
	}
	fp, err := fingerprint(k.dir)
	if err == nil && fp == k.saved {
		return nil
	}
	if err := k.svc.workspaces.Serialize(context.WithoutCancel(ctx), k.task.ID, k.dir); err != nil {
		return err
	}
	k.saved = fp
	return nil
}

// fingerprint summarizes a directory tree (names, sizes, modes, modification
// times), so that a step that changed no file does not store the workspace
// again.
func fingerprint(dir string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		fmt.Fprintf(h, "%s\x00%d\x00%d\x00%d\n", rel, info.Size(), info.Mode(), info.ModTime().UnixNano())
		return nil
	})
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// errNotFoundTemplate wraps a catalog miss so the API answers 404.
func templateNotFound(ref string) error {
	return errs.NotFoundf("Template %s not found", ref)
}
