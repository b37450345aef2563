package events

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// SSE writes a server-sent-events stream.
type SSE struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// StartSSE sends the stream's headers. The server's write timeout does not
// apply to the stream, which lives as long as the client stays.
func StartSSE(w http.ResponseWriter) (*SSE, error) {
	rc := http.NewResponseController(w)
	if err := rc.SetWriteDeadline(time.Time{}); err != nil && err != http.ErrNotSupported {
		return nil, err
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("Connection", "keep-alive")
	h.Set("X-Accel-Buffering", "no") // stop reverse proxies from buffering
	w.WriteHeader(http.StatusOK)
	// A first comment makes every layer (compression included) commit the
	// headers now rather than when the first event comes.
	if _, err := w.Write([]byte(": stream open\n\n")); err != nil {
		return nil, err
	}
	if err := rc.Flush(); err != nil {
		return nil, fmt.Errorf("start event stream: %w", err)
	}
	return &SSE{w: w, rc: rc}, nil
}

// Send writes one event. data is JSON-encoded unless it is a string or
// json.RawMessage; id may be empty.
func (s *SSE) Send(event, id string, data any) error {
	var body string
	switch d := data.(type) {
	case string:
		body = d
	case json.RawMessage:
		body = string(d)
	default:
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		body = string(b)
	}
	var b strings.Builder
	if event != "" {
		fmt.Fprintf(&b, "event: %s\n", event)
	}
	if id != "" {
		fmt.Fprintf(&b, "id: %s\n", id)
	}
	for _, line := range strings.Split(body, "\n") {
		fmt.Fprintf(&b, "data: %s\n", line)
	}
	b.WriteString("\n")
	if _, err := s.w.Write([]byte(b.String())); err != nil {
		return err
	}
	return s.rc.Flush()
}

// KeepAlive writes a comment so that proxies keep the connection open.
func (s *SSE) KeepAlive() error {
	if _, err := s.w.Write([]byte(": keep-alive\n\n")); err != nil {
		return err
	}
	return s.rc.Flush()
}
