package notifications

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/portico-dev/portico/internal/events"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// BenchmarkSendToGroup10k sends one notification to a group of 10,000
// users: resolve the members, store 10,000 rows and publish 10,000
// new_notification signals (to a live subscriber, as a browser would be).
// Target: under a second on SQLite.
func BenchmarkSendToGroup10k(b *testing.B) {
	b.Run("sqlite", func(b *testing.B) { benchSendToGroup(b, storetest.SQLite(b, Migrations), false) })
	b.Run("postgres", func(b *testing.B) { benchSendToGroup(b, storetest.Postgres(b, Migrations), false) })
	// With NOTIFY carrying every signal to the other replicas.
	b.Run("postgres-replicas", func(b *testing.B) { benchSendToGroup(b, storetest.Postgres(b, Migrations), true) })
}

func benchSendToGroup(b *testing.B, db *store.DB, replicas bool) {
	const members = 10_000
	cat := newFakeCatalog()
	var rels []string
	for i := range members {
		rels = append(rels, fmt.Sprintf("hasMember user:default/user-%05d", i))
	}
	cat.add("Group", "everyone", "", rels...)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := events.New(log)
	if replicas {
		bus.WithPostgres(db.PostgresDSN(), func(ctx context.Context, channel, payload string) error {
			_, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload)
			return err
		})
	}
	sub := bus.Subscribe("signals")
	defer sub.Close()
	received := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		for range sub.C() {
			received++
		}
	}()
	svc := New(Options{DB: db, Resolver: CatalogResolver{Catalog: cat}, Signals: events.NewSignals(bus, nil, log),
		AppBaseURL: "http://portal.example.com", Logger: log})
	ctx := context.Background()
	req := Request{Origin: "plugin:bench", Recipients: toUsers("group:default/everyone"), Payload: Payload{Title: "Release 1.2 is out", Link: "/docs/release-notes"}}
	for b.Loop() {
		sent, err := svc.Send(ctx, req)
		if err != nil {
			b.Fatal(err)
		}
		if len(sent) != members {
			b.Fatalf("sent %d", len(sent))
		}
	}
	b.ReportMetric(float64(members), "recipients/op")
}
