package events_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/portico-dev/portico/internal/app/apptest"
	"github.com/portico-dev/portico/internal/store/storetest"
)

func dialSignals(t *testing.T, base string, channel string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, strings.Replace(base, "http://", "ws://", 1)+"/api/signals", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","channel":"`+channel+`"}`)); err != nil {
		t.Fatal(err)
	}
	return conn
}

func readSignal(t *testing.T, conn *websocket.Conn) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, data, err := conn.Read(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSignalsWebSocketAndSSE(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Development: true})
	signals := inst.App.Env().Signals
	conn := dialSignals(t, inst.URL, "notifications")

	req, _ := http.NewRequest(http.MethodGet, inst.URL+"/api/signals/stream?channel=notifications", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	// Subscriptions are registered asynchronously; publish until received.
	ctx := context.Background()
	deadline := time.Now().Add(5 * time.Second)
	got := make(chan map[string]any, 1)
	go func() { got <- readSignal(t, conn) }()
	var m map[string]any
	for m == nil && time.Now().Before(deadline) {
		// Not for the guest: must be filtered out.
		if err := signals.Publish(ctx, "notifications", false, []string{"user:default/someone-else"}, map[string]string{"action": "other"}); err != nil {
			t.Fatal(err)
		}
		if err := signals.Publish(ctx, "notifications", false, []string{"user:development/guest"}, map[string]string{"action": "new_notification", "notification_id": "n1"}); err != nil {
			t.Fatal(err)
		}
		select {
		case m = <-got:
		case <-time.After(50 * time.Millisecond):
		}
	}
	if m == nil {
		t.Fatal("no signal over the WebSocket")
	}
	msg, _ := m["message"].(map[string]any)
	if m["channel"] != "notifications" || msg["action"] != "new_notification" {
		t.Fatalf("unexpected signal %v", m)
	}
	sc := bufio.NewScanner(resp.Body)
	var event, data string
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "event: "); ok {
			event = v
		}
		if v, ok := strings.CutPrefix(line, "data: "); ok {
			data = v
			break
		}
	}
	if event != "notifications" || !strings.Contains(data, "new_notification") {
		t.Fatalf("SSE got event %q data %q", event, data)
	}
}

func TestSignalsCrossReplicas(t *testing.T) {
	dsn := storetest.PostgresSchemaDSN(t)
	cfg := "auth:\n  providers:\n    guest:\n      dangerouslyAllowOutsideDevelopment: true\n      allowUnauthenticated: true\n"
	a := apptest.Start(t, apptest.Options{Config: cfg, PostgresDSN: dsn})
	b := apptest.Start(t, apptest.Options{Config: cfg, PostgresDSN: dsn})
	<-a.App.Env().Bus.Listening()
	<-b.App.Env().Bus.Listening()
	conn := dialSignals(t, b.URL, "notifications")
	got := make(chan map[string]any, 1)
	go func() { got <- readSignal(t, conn) }()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if err := a.App.Env().Signals.Publish(context.Background(), "notifications", true, nil, map[string]string{"action": "new_notification"}); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-got:
			if m["channel"] != "notifications" {
				t.Fatalf("unexpected %v", m)
			}
			return
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatal("a broadcast published on replica A never reached a browser on replica B")
}

func TestOpenStreamsDoNotHoldUpShutdown(t *testing.T) {
	inst := apptest.Start(t, apptest.Options{Development: true})
	dialSignals(t, inst.URL, "notifications")
	resp, err := http.Get(inst.URL + "/api/signals/stream?channel=notifications")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	if err := inst.Stop(); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("shutdown took %v with open streams; they must end when shutdown begins", d)
	}
}
