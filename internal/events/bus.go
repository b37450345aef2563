// Package events is Portico's live-update bus: plugins publish small
// messages on topics and the server pushes them to browsers (SSE, WebSocket).
// With PostgreSQL, messages cross replicas through LISTEN/NOTIFY, so a
// browser connected to one replica hears what happened on another.
//
// Messages are signals, not data: publish ids and let clients fetch. A
// subscriber that falls behind is disconnected (its channel closed) rather
// than slowing everyone down; clients reconnect and re-read state.
package events

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
)

// Message is one published event.
type Message struct {
	Topic string          `json:"t"`
	Data  json.RawMessage `json:"d"`
}

// maxNotifyPayload stays under PostgreSQL's 8000-byte NOTIFY limit.
const maxNotifyPayload = 7900

// notifyChannel is the PostgreSQL channel all replicas listen on.
const notifyChannel = "portico_events"

// subscriberBuffer is how many messages a subscriber may lag behind.
const subscriberBuffer = 256

// Bus is the publish/subscribe hub. The zero value is not usable; call New.
type Bus struct {
	origin string
	log    *slog.Logger
	// pgDSN, when set, is the database whose NOTIFY carries messages
	// between replicas.
	pgDSN  string
	notify func(ctx context.Context, payload string) error

	mu   sync.RWMutex
	subs map[*Subscription]struct{}

	listening     chan struct{}
	listeningOnce sync.Once
}

// Notifier sends a NOTIFY through an existing connection pool.
type Notifier func(ctx context.Context, channel, payload string) error

// New returns an in-process bus. Call WithPostgres to fan out across
// replicas.
func New(log *slog.Logger) *Bus {
	if log == nil {
		log = slog.Default()
	}
	return &Bus{origin: uuid.NewString(), log: log, subs: map[*Subscription]struct{}{}, listening: make(chan struct{})}
}

// WithPostgres makes the bus deliver messages to the other replicas that
// share the PostgreSQL database at dsn; notify sends NOTIFY through the
// application's pool. Run must then be called to receive.
func (b *Bus) WithPostgres(dsn string, notify Notifier) *Bus {
	b.pgDSN = dsn
	b.notify = func(ctx context.Context, payload string) error { return notify(ctx, notifyChannel, payload) }
	return b
}

// Subscription receives the messages of the topics it was created for.
type Subscription struct {
	bus    *Bus
	topics map[string]bool
	c      chan Message
	once   sync.Once
	// lagged is set when the subscription was closed for falling behind.
	lagged bool
}

// C delivers messages; it is closed when the subscription ends.
func (s *Subscription) C() <-chan Message { return s.c }

// Lagged reports whether the bus closed the subscription because it fell
// behind.
func (s *Subscription) Lagged() bool {
	s.bus.mu.RLock()
	defer s.bus.mu.RUnlock()
	return s.lagged
}

// Close ends the subscription.
func (s *Subscription) Close() {
	s.bus.mu.Lock()
	defer s.bus.mu.Unlock()
	s.closeLocked()
}

func (s *Subscription) closeLocked() {
	s.once.Do(func() {
		delete(s.bus.subs, s)
		close(s.c)
	})
}

// Subscribe returns a subscription to the given topics (all topics when none
// is given).
func (b *Bus) Subscribe(topics ...string) *Subscription {
	s := &Subscription{bus: b, c: make(chan Message, subscriberBuffer)}
	if len(topics) > 0 {
		s.topics = map[string]bool{}
		for _, t := range topics {
			s.topics[t] = true
		}
	}
	b.mu.Lock()
	b.subs[s] = struct{}{}
	b.mu.Unlock()
	return s
}

// ErrTooLarge is returned for messages too big to cross replicas.
var ErrTooLarge = errors.New("event too large to deliver across replicas; publish ids, not documents")

// Publish delivers data (JSON-encoded) to this process's subscribers of
// topic at once and, with PostgreSQL, to the other replicas. Publish after
// the change it announces has been committed.
func (b *Bus) Publish(ctx context.Context, topic string, data any) error {
	raw, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("publish %s: %w", topic, err)
	}
	msg := Message{Topic: topic, Data: raw}
	if b.notify != nil {
		payload, err := json.Marshal(envelope{Origin: b.origin, Message: msg})
		if err != nil {
			return err
		}
		if len(payload) > maxNotifyPayload {
			return fmt.Errorf("publish %s: %w", topic, ErrTooLarge)
		}
		if err := b.notify(ctx, string(payload)); err != nil {
			// Local subscribers still get it; other replicas miss it, which
			// costs a live update, not data.
			b.log.WarnContext(ctx, "cannot send event to other replicas", "topic", topic, "err", err)
		}
	}
	b.deliver(msg)
	return nil
}

type envelope struct {
	Origin string `json:"o"`
	Message
}

func (b *Bus) deliver(msg Message) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for s := range b.subs {
		if s.topics != nil && !s.topics[msg.Topic] {
			continue
		}
		select {
		case s.c <- msg:
		default:
			s.lagged = true
			s.closeLocked()
		}
	}
}

// Listening is closed once the bus first listens for other replicas'
// messages (never without PostgreSQL).
func (b *Bus) Listening() <-chan struct{} { return b.listening }

// Run receives other replicas' messages until ctx ends. It returns at once
// without PostgreSQL. Lost connections are re-established with backoff.
func (b *Bus) Run(ctx context.Context) error {
	if b.pgDSN == "" {
		return nil
	}
	backoff := 100 * time.Millisecond
	for {
		err := b.listen(ctx)
		if ctx.Err() != nil {
			return nil
		}
		b.log.WarnContext(ctx, "event listener lost its connection; reconnecting", "err", err, "in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 10*time.Second)
	}
}

func (b *Bus) listen(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, b.pgDSN)
	if err != nil {
		return err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	b.listeningOnce.Do(func() { close(b.listening) })
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		var env envelope
		if err := json.Unmarshal([]byte(n.Payload), &env); err != nil {
			b.log.WarnContext(ctx, "ignoring a malformed event notification", "err", err)
			continue
		}
		if env.Origin == b.origin {
			continue // delivered locally when published
		}
		b.deliver(env.Message)
	}
}
