package events

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// signalsTopic is the bus topic that carries signals.
const signalsTopic = "signals"

// Signal is a message for browsers on a named channel (Backstage's signals:
// "notifications" is one channel), either to everyone or to the users who
// own one of the recipient refs.
type Signal struct {
	Channel string `json:"channel"`
	// Broadcast sends the signal to every connected user.
	Broadcast bool `json:"broadcast,omitempty"`
	// EntityRefs are user or group refs; a user receives the signal when one
	// of their ownership refs is listed.
	EntityRefs []string        `json:"entityRefs,omitempty"`
	Message    json.RawMessage `json:"message"`
}

// Signals publishes signals and serves them to browsers.
type Signals struct {
	bus   *Bus
	authn *auth.Authenticator
	log   *slog.Logger
}

// NewSignals returns the signals service on bus.
func NewSignals(bus *Bus, authn *auth.Authenticator, log *slog.Logger) *Signals {
	return &Signals{bus: bus, authn: authn, log: log}
}

// Publish sends message on channel to the given recipients (broadcast when
// entityRefs is empty and broadcast is true).
func (s *Signals) Publish(ctx context.Context, channel string, broadcast bool, entityRefs []string, message any) error {
	raw, err := json.Marshal(message)
	if err != nil {
		return err
	}
	refs := make([]string, len(entityRefs))
	for i, r := range entityRefs {
		refs[i] = strings.ToLower(r)
	}
	return s.bus.Publish(ctx, signalsTopic, Signal{Channel: channel, Broadcast: broadcast, EntityRefs: refs, Message: raw})
}

// for reports whether a signal is for the user p.
func (sig Signal) isFor(p auth.Principal) bool {
	if sig.Broadcast {
		return true
	}
	for _, ref := range p.OwnershipEntityRefs {
		if slices.Contains(sig.EntityRefs, strings.ToLower(ref)) {
			return true
		}
	}
	return slices.Contains(sig.EntityRefs, strings.ToLower(p.Subject))
}

// Routes mounts the signals plugin: Backstage's WebSocket protocol at
// /api/signals and an SSE stream at /api/signals/stream?channel=….
func (s *Signals) Routes(r *httpapi.Router) {
	// The WebSocket carries its token in Sec-WebSocket-Protocol, which the
	// router does not read, so the route authenticates by itself.
	r.HandleFunc("GET /{$}", s.serveWebSocket, httpapi.Unauthenticated())
	r.HandleFunc("GET /stream", s.serveSSE)
}

type clientMessage struct {
	Action  string `json:"action"`
	Channel string `json:"channel"`
}

type serverMessage struct {
	Channel string          `json:"channel"`
	Message json.RawMessage `json:"message"`
}

func (s *Signals) serveWebSocket(w http.ResponseWriter, r *http.Request) {
	var token string
	if proto := r.Header.Get("Sec-WebSocket-Protocol"); proto != "" {
		token = strings.TrimSpace(strings.Split(proto, ",")[0])
	}
	if token == "" {
		token = httpapi.BearerToken(r)
	}
	p, err := s.authn.Authenticate(r.Context(), token, "signals")
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if p.Type == auth.TypeNone {
		// As Backstage: an anonymous connection still receives broadcasts.
		p = auth.Principal{Type: auth.TypeUser, Subject: "user:default/guest", OwnershipEntityRefs: []string{"user:default/guest"}}
	}
	opts := &websocket.AcceptOptions{}
	if token != "" && r.Header.Get("Sec-WebSocket-Protocol") != "" {
		opts.Subprotocols = []string{token}
	}
	conn, err := websocket.Accept(w, r, opts)
	if err != nil {
		return // Accept has answered the client
	}
	defer conn.CloseNow()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()

	sub := s.bus.Subscribe(signalsTopic)
	defer sub.Close()

	var mu sync.Mutex
	channels := map[string]bool{}
	go func() {
		defer cancel()
		for {
			_, data, err := conn.Read(ctx)
			if err != nil {
				return
			}
			var m clientMessage
			if json.Unmarshal(data, &m) != nil {
				continue
			}
			mu.Lock()
			switch m.Action {
			case "subscribe":
				channels[m.Channel] = true
			case "unsubscribe":
				delete(channels, m.Channel)
			}
			mu.Unlock()
		}
	}()
	ping := time.NewTicker(30 * time.Second)
	defer ping.Stop()
	shutdown := httpapi.ShuttingDown(r.Context())
	for {
		select {
		case <-ctx.Done():
			conn.Close(websocket.StatusNormalClosure, "")
			return
		case <-shutdown:
			conn.Close(websocket.StatusGoingAway, "server is shutting down; reconnect")
			return
		case <-ping.C:
			pctx, pcancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
		case msg, ok := <-sub.C():
			if !ok {
				conn.Close(websocket.StatusTryAgainLater, "too slow; reconnect")
				return
			}
			var sig Signal
			if json.Unmarshal(msg.Data, &sig) != nil || !sig.isFor(p) {
				continue
			}
			mu.Lock()
			wanted := channels[sig.Channel]
			mu.Unlock()
			if !wanted {
				continue
			}
			out, _ := json.Marshal(serverMessage{Channel: sig.Channel, Message: sig.Message})
			wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
			err := conn.Write(wctx, websocket.MessageText, out)
			wcancel()
			if err != nil {
				return
			}
		}
	}
}

func (s *Signals) serveSSE(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	channels := r.URL.Query()["channel"]
	if len(channels) == 0 {
		httpapi.WriteError(w, r, errs.InputErrorf("missing channel query parameter; add ?channel=<name> for each channel to follow"))
		return
	}
	sub := s.bus.Subscribe(signalsTopic)
	defer sub.Close()
	stream, err := StartSSE(w)
	if err != nil {
		return
	}
	keepAlive := time.NewTicker(20 * time.Second)
	defer keepAlive.Stop()
	shutdown := httpapi.ShuttingDown(r.Context())
	for {
		select {
		case <-r.Context().Done():
			return
		case <-shutdown:
			return
		case <-keepAlive.C:
			if stream.KeepAlive() != nil {
				return
			}
		case msg, ok := <-sub.C():
			if !ok {
				return // lagged: the client reconnects and re-reads
			}
			var sig Signal
			if json.Unmarshal(msg.Data, &sig) != nil || !sig.isFor(p) || !slices.Contains(channels, sig.Channel) {
				continue
			}
			if err := stream.Send(sig.Channel, "", sig.Message); err != nil {
				if !errors.Is(err, context.Canceled) {
					s.log.DebugContext(r.Context(), "signal stream ended", "err", err)
				}
				return
			}
		}
	}
}
