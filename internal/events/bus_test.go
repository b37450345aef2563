package events_test

import (
	"context"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/events"
	"github.com/portico-dev/portico/internal/store/storetest"
)

func receive(t *testing.T, sub *events.Subscription) events.Message {
	t.Helper()
	select {
	case m, ok := <-sub.C():
		if !ok {
			t.Fatal("subscription closed")
		}
		return m
	case <-time.After(5 * time.Second):
		t.Fatal("no message within 5s")
	}
	return events.Message{}
}

func TestBusDeliversByTopic(t *testing.T) {
	bus := events.New(nil)
	a := bus.Subscribe("a")
	all := bus.Subscribe()
	defer a.Close()
	defer all.Close()
	ctx := context.Background()
	if err := bus.Publish(ctx, "b", map[string]int{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := bus.Publish(ctx, "a", map[string]int{"n": 2}); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, a); m.Topic != "a" || string(m.Data) != `{"n":2}` {
		t.Fatalf("a got %+v", m)
	}
	if m := receive(t, all); m.Topic != "b" {
		t.Fatalf("all got %+v first", m)
	}
	if m := receive(t, all); m.Topic != "a" {
		t.Fatalf("all got %+v second", m)
	}
}

func TestSlowSubscriberIsDisconnected(t *testing.T) {
	bus := events.New(nil)
	slow := bus.Subscribe("t")
	fast := bus.Subscribe("t")
	ctx := context.Background()
	for i := range 1000 {
		if err := bus.Publish(ctx, "t", i); err != nil {
			t.Fatal(err)
		}
		<-fast.C() // keeps up
	}
	n := 0
	for range slow.C() {
		n++
	}
	if !slow.Lagged() || n == 0 || n >= 1000 {
		t.Fatalf("slow subscriber: lagged=%v received=%d", slow.Lagged(), n)
	}
	if fast.Lagged() {
		t.Fatal("a subscriber that kept up was disconnected")
	}
}

func TestBusAcrossReplicasWithPostgres(t *testing.T) {
	db := storetest.Postgres(t)
	notify := func(ctx context.Context, channel, payload string) error {
		_, err := db.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, payload)
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	replica1 := events.New(nil).WithPostgres(db.PostgresDSN(), notify)
	replica2 := events.New(nil).WithPostgres(db.PostgresDSN(), notify)
	go replica1.Run(ctx)
	go replica2.Run(ctx)
	<-replica1.Listening()
	<-replica2.Listening()

	sub1 := replica1.Subscribe("x")
	sub2 := replica2.Subscribe("x")
	if err := replica1.Publish(ctx, "x", "hello"); err != nil {
		t.Fatal(err)
	}
	if m := receive(t, sub2); string(m.Data) != `"hello"` {
		t.Fatalf("replica 2 got %s", m.Data)
	}
	if m := receive(t, sub1); string(m.Data) != `"hello"` {
		t.Fatalf("replica 1 got %s", m.Data)
	}
	// The publishing replica must not receive its own message twice.
	select {
	case m := <-sub1.C():
		t.Fatalf("duplicate delivery: %s", m.Data)
	case <-time.After(200 * time.Millisecond):
	}
	big := make([]byte, 9000)
	for i := range big {
		big[i] = 'x'
	}
	if err := replica1.Publish(ctx, "x", string(big)); err == nil {
		t.Fatal("a message too large for NOTIFY was accepted")
	}
}
