package notifications

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/events"
)

// A browser's signal stream keeps up with a send to 10,000 users (it is
// not dropped as a lagging subscriber): the users are named in batches.
func TestLargeSendDoesNotDropListeners(t *testing.T) {
	db := storeSQLite(t)
	cat := newFakeCatalog()
	var rels []string
	for i := range 10_000 {
		rels = append(rels, fmt.Sprintf("hasMember user:default/user-%05d", i))
	}
	cat.add("Group", "everyone", "", rels...)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus := events.New(log)
	sub := bus.Subscribe("signals")
	defer sub.Close()
	got := make(chan int, 1)
	go func() {
		n := 0
		for msg := range sub.C() {
			var sig events.Signal
			if json.Unmarshal(msg.Data, &sig) == nil {
				n += len(sig.EntityRefs)
			}
			if n == 10_000 {
				break
			}
		}
		got <- n
	}()
	svc := New(Options{DB: db, Resolver: CatalogResolver{Catalog: cat}, Signals: events.NewSignals(bus, nil, log), Logger: log})
	if _, err := svc.Send(context.Background(), Request{Origin: "plugin:test", Recipients: toUsers("group:default/everyone"), Payload: Payload{Title: "x"}}); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-got:
		if n != 10_000 || sub.Lagged() {
			t.Fatalf("signals reached %d users, lagged %v", n, sub.Lagged())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the listener did not hear about every user")
	}
}
