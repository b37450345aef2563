package app

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/events"
	"github.com/portico-dev/portico/internal/orchestrator"
)

// instancesChannel is the signals channel on which the users who started
// workflow instances hear that they changed.
const instancesChannel = "orchestrator"

const (
	// liveInterval is how often at most a user's instance changes are
	// sent: a run commits many times a second, and its page only needs to
	// know that it should read the instance again.
	liveInterval = 250 * time.Millisecond
	// liveBatch bounds the instances of one signal, which crosses replicas
	// in a PostgreSQL NOTIFY of at most 8,000 bytes.
	liveBatch = 40
)

// liveInstances turns the runtime's committed changes into signals for
// the users who started the instances (their initiatorEntity). Changes
// are coalesced per instance, so a signal says which instances changed
// and their state, never every step.
type liveInstances struct {
	signals *events.Signals
	log     *slog.Logger

	mu      sync.Mutex
	pending map[string]orchestrator.Change
	wake    chan struct{}
}

func newLiveInstances(signals *events.Signals, log *slog.Logger) *liveInstances {
	return &liveInstances{signals: signals, log: log, pending: map[string]orchestrator.Change{}, wake: make(chan struct{}, 1)}
}

// changed notes a change; it never blocks the instance that made it.
func (l *liveInstances) changed(c orchestrator.Change) {
	if c.Initiator == "" {
		return
	}
	l.mu.Lock()
	l.pending[c.InstanceID] = c
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// run sends what changed: at once after a quiet spell, then at most every
// liveInterval.
func (l *liveInstances) run(ctx context.Context) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-l.wake:
		}
		l.flush(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(liveInterval):
		}
	}
}

func (l *liveInstances) flush(ctx context.Context) {
	l.mu.Lock()
	pending := l.pending
	l.pending = map[string]orchestrator.Change{}
	l.mu.Unlock()
	byUser := map[string][]orchestrator.Change{}
	for _, c := range pending {
		user := strings.ToLower(c.Initiator)
		byUser[user] = append(byUser[user], c)
	}
	for user, changes := range byUser {
		slices.SortFunc(changes, func(a, b orchestrator.Change) int { return strings.Compare(a.InstanceID, b.InstanceID) })
		for part := range slices.Chunk(changes, liveBatch) {
			if err := l.signals.Publish(ctx, instancesChannel, false, []string{user}, map[string]any{"instances": part}); err != nil && ctx.Err() == nil {
				// A lost signal costs a live update: pages also refresh on
				// their own, more slowly.
				l.log.WarnContext(ctx, "send instance changes", "user", user, "err", err)
			}
		}
	}
}
