package orchestratorapi_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// signalsConn is a browser's signals WebSocket, subscribed to the
// orchestrator's channel.
type signalsConn struct {
	t    *testing.T
	conn *websocket.Conn
	msgs chan []instanceChange
}

type instanceChange struct {
	ID, ProcessID, State string
}

func dialInstanceSignals(t *testing.T, e *env, c client) *signalsConn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(e.inst.URL, "http")+"/api/signals", &websocket.DialOptions{Subprotocols: []string{c.token}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.CloseNow() })
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"action":"subscribe","channel":"orchestrator"}`)); err != nil {
		t.Fatal(err)
	}
	s := &signalsConn{t: t, conn: conn, msgs: make(chan []instanceChange, 100)}
	go func() {
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				close(s.msgs)
				return
			}
			var m struct {
				Channel string
				Message struct{ Instances []instanceChange }
			}
			if json.Unmarshal(data, &m) == nil && m.Channel == "orchestrator" {
				s.msgs <- m.Message.Instances
			}
		}
	}()
	return s
}

// TestInstanceChangesReachTheirInitiator: the user who started an instance
// hears, on the signals channel "orchestrator", that it changed and its
// state; another user hears nothing of it.
func TestInstanceChangesReachTheirInitiator(t *testing.T) {
	both(t, func(t *testing.T, postgres bool) {
		e := start(t, postgres)
		a, b := e.alice, e.bob
		aliceSignals := dialInstanceSignals(t, e, a)
		bobSignals := dialInstanceSignals(t, e, b)

		// The subscriptions may still be in flight: start instances until
		// one is heard of completed.
		var aliceIDs []string
		deadline := time.Now().Add(20 * time.Second)
	heard:
		for {
			if time.Now().After(deadline) {
				t.Fatalf("alice heard nothing of her instances %v", aliceIDs)
			}
			aliceIDs = append(aliceIDs, execute(a, "hello", `{"inputData": {"name": "Ann"}}`))
			wait := time.After(time.Second)
			for {
				select {
				case changes, ok := <-aliceSignals.msgs:
					if !ok {
						t.Fatal("alice's signals connection closed")
					}
					for _, c := range changes {
						if !slices.Contains(aliceIDs, c.ID) {
							t.Fatalf("alice heard of an instance she did not start: %+v", c)
						}
						if c.State == "COMPLETED" && c.ProcessID == "hello" {
							break heard
						}
					}
					continue
				case <-wait:
				}
				break
			}
		}

		// Bob starts his own; all he hears of is his.
		var bobIDs []string
		deadline = time.Now().Add(20 * time.Second)
		for heardOwn := false; !heardOwn; {
			if time.Now().After(deadline) {
				t.Fatalf("bob heard nothing of his instances %v", bobIDs)
			}
			bobIDs = append(bobIDs, execute(b, "hello", `{"inputData": {"name": "Bob"}}`))
			select {
			case changes := <-bobSignals.msgs:
				for _, c := range changes {
					if !slices.Contains(bobIDs, c.ID) {
						t.Fatalf("bob heard of an instance he did not start: %+v (alice's: %v)", c, aliceIDs)
					}
					heardOwn = true
				}
			case <-time.After(time.Second):
			}
		}
	})
}
