package notifications

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// fakeCatalog holds entities by lower-case ref and counts queries.
type fakeCatalog struct {
	mu       sync.Mutex
	entities map[string]json.RawMessage
	queries  int
}

func newFakeCatalog() *fakeCatalog { return &fakeCatalog{entities: map[string]json.RawMessage{}} }

func (c *fakeCatalog) add(kind, name, email string, relations ...string) {
	var rels []map[string]string
	for _, r := range relations {
		typ, target, _ := strings.Cut(r, " ")
		rels = append(rels, map[string]string{"type": typ, "targetRef": target})
	}
	e := map[string]any{
		"kind":      kind,
		"metadata":  map[string]any{"name": name, "namespace": "default"},
		"spec":      map[string]any{"profile": map[string]any{"email": email}},
		"relations": rels,
	}
	raw, _ := json.Marshal(e)
	c.mu.Lock()
	defer c.mu.Unlock()
	c.entities[strings.ToLower(kind+":default/"+name)] = raw
}

func (c *fakeCatalog) EntitiesByRefs(_ context.Context, refs []string) ([]json.RawMessage, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.queries++
	out := make([]json.RawMessage, len(refs))
	for i, r := range refs {
		out[i] = c.entities[strings.ToLower(r)]
	}
	return out, nil
}

func (c *fakeCatalog) ListUsers(_ context.Context, fn func([]byte) error) error {
	c.mu.Lock()
	var users []json.RawMessage
	for ref, e := range c.entities {
		if strings.HasPrefix(ref, "user:") {
			users = append(users, e)
		}
	}
	c.mu.Unlock()
	for _, u := range users {
		if err := fn(u); err != nil {
			return err
		}
	}
	return nil
}

// recordedSignal is one Publish call.
type recordedSignal struct {
	broadcast bool
	refs      []string
	message   string
}

type fakeSignals struct {
	mu   sync.Mutex
	sent []recordedSignal
}

func (s *fakeSignals) Publish(_ context.Context, channel string, broadcast bool, refs []string, msg any) error {
	if channel != SignalChannel {
		return fmt.Errorf("unexpected channel %q", channel)
	}
	raw, _ := json.Marshal(msg)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, recordedSignal{broadcast, refs, string(raw)})
	return nil
}

func (s *fakeSignals) all() []recordedSignal {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]recordedSignal(nil), s.sent...)
}

// runDB runs fn on SQLite and, when configured, PostgreSQL.
func runDB(t *testing.T, fn func(t *testing.T, db *store.DB)) {
	storetest.Run(t, fn, Migrations)
}

func mustSend(t testing.TB, svc *Service, req Request) []Notification {
	t.Helper()
	if req.Origin == "" {
		req.Origin = "plugin:test"
	}
	out, err := svc.Send(context.Background(), req)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return out
}

func toUsers(refs ...string) *Recipients {
	return &Recipients{Type: RecipientsEntity, EntityRef: refs}
}

func ptr[T any](v T) *T { return &v }

func storeSQLite(t *testing.T) *store.DB { return storetest.SQLite(t, Migrations) }

func itoa(n int) string { return strconv.Itoa(n) }
