package notifications

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/store"
)

// recorder is a processor that uses every hook and records what it saw.
type recorder struct {
	filter Filter
	mu     sync.Mutex
	posted []Notification
	pre    int
}

func (r *recorder) Name() string   { return "Recorder" }
func (r *recorder) Filter() Filter { return r.filter }

func (r *recorder) ProcessOptions(_ context.Context, req Request) (Request, error) {
	req.Payload.Description = "rewritten before resolution"
	return req, nil
}

func (r *recorder) PreProcess(_ context.Context, n Notification, _ Request) (Notification, error) {
	r.mu.Lock()
	r.pre++
	r.mu.Unlock()
	n.Payload.Icon = "bell"
	return n, nil
}

func (r *recorder) PostProcess(_ context.Context, _ Request, sent []Notification) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.posted = append(r.posted, sent...)
	return nil
}

func TestProcessorHooks(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		rec := &recorder{filter: Filter{MaxSeverity: SeverityHigh, IncludedTopics: []string{"builds"}}}
		svc, _ := newTestService(t, db, newFakeCatalog(), Options{Processors: []Processor{rec}})
		sent := mustSend(t, svc, Request{Recipients: toUsers("user:default/a", "user:default/b"), Payload: Payload{Title: "x", Topic: "builds"}})
		if len(sent) != 2 || sent[0].Payload.Description != "rewritten before resolution" || sent[0].Payload.Icon != "bell" {
			t.Fatalf("sent %+v", sent)
		}
		if n, _ := svc.Get(context.Background(), "user:default/a", sent[0].ID); n.Payload.Icon != "bell" {
			t.Fatalf("stored %+v", n)
		}
		// Filtered out: critical is above maxSeverity, other topics are not included.
		mustSend(t, svc, Request{Recipients: toUsers("user:default/a"), Payload: Payload{Title: "x", Topic: "builds", Severity: SeverityCritical}})
		mustSend(t, svc, Request{Recipients: toUsers("user:default/a"), Payload: Payload{Title: "x", Topic: "deploys"}})
		mustSend(t, svc, Request{Recipients: toUsers("user:default/a"), Payload: Payload{Title: "x"}})
		// b turns the recorder's channel off.
		if _, err := svc.SaveSettings(context.Background(), "user:default/b", Settings{Channels: []ChannelSetting{{ID: "Recorder", Enabled: ptr(false)}}}); err != nil {
			t.Fatal(err)
		}
		mustSend(t, svc, Request{Recipients: toUsers("user:default/a", "user:default/b"), Payload: Payload{Title: "y", Topic: "builds"}})
		var users []string
		for _, n := range rec.posted {
			users = append(users, n.User+":"+n.Payload.Title)
		}
		if got := strings.Join(users, " "); got != "user:default/a:x user:default/b:x user:default/a:y" {
			t.Fatalf("post-processed %s", got)
		}
		if got := svc.Channels(); strings.Join(got, ",") != "Web,Recorder" {
			t.Fatalf("channels %q", got)
		}
	})
}

func TestFilter(t *testing.T) {
	for _, tc := range []struct {
		f    Filter
		p    Payload
		want bool
	}{
		{Filter{}, Payload{}, true},
		{Filter{MinSeverity: SeverityHigh}, Payload{Severity: SeverityNormal}, false},
		{Filter{MinSeverity: SeverityHigh}, Payload{Severity: SeverityCritical}, true},
		{Filter{MinSeverity: SeverityNormal}, Payload{}, true}, // no severity is normal
		{Filter{MaxSeverity: SeverityNormal}, Payload{Severity: SeverityHigh}, false},
		{Filter{MaxSeverity: SeverityNormal}, Payload{Severity: SeverityLow}, true},
		{Filter{ExcludedTopics: []string{"a"}}, Payload{Topic: "a"}, false},
		{Filter{ExcludedTopics: []string{"a"}}, Payload{}, true},
		{Filter{IncludedTopics: []string{"a"}}, Payload{}, false},
	} {
		if got := tc.f.Allows(tc.p); got != tc.want {
			t.Errorf("%+v allows %+v: %v, want %v", tc.f, tc.p, got, tc.want)
		}
	}
}

func TestEmailConfigValidation(t *testing.T) {
	for _, tc := range []struct {
		cfg  EmailConfig
		want string
	}{
		{EmailConfig{TransportConfig: TransportConfig{Transport: "smtp", Hostname: "h", Port: 25}}, "sender is required"},
		{EmailConfig{Sender: "a@b.c", TransportConfig: TransportConfig{Transport: "smtp"}}, "smtp needs hostname and port"},
		{EmailConfig{Sender: "a@b.c", TransportConfig: TransportConfig{Transport: "ses"}}, `"ses" is not supported by Portico`},
		{EmailConfig{Sender: "a@b.c", TransportConfig: TransportConfig{Transport: "pigeon"}}, "expected smtp, sendmail or stream"},
		{EmailConfig{Sender: "a@b.c", TransportConfig: TransportConfig{Transport: "stream"}, Filter: Filter{MinSeverity: "urgent"}}, `invalid severity "urgent"`},
	} {
		err := tc.cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: got %v, want %q", tc.cfg, err, tc.want)
		}
	}
	cfg := EmailConfig{Sender: "a@b.c", TransportConfig: TransportConfig{Transport: "sendmail"}}
	if err := cfg.Validate(); err != nil || cfg.TransportConfig.Path != "/usr/sbin/sendmail" || cfg.ConcurrencyLimit != 2 ||
		cfg.ThrottleInterval != 100*time.Millisecond || cfg.Cache.TTL != time.Hour {
		t.Fatalf("defaults %+v %v", cfg, err)
	}
}

func TestStreamAndSendmailTransports(t *testing.T) {
	ctx := context.Background()
	m := Mail{ID: "id-1", From: "portal@company.com", To: "alice@acme.example", Subject: "Hello", Text: "body\n\nhttp://x", HTML: "<p>body</p>"}

	var logged strings.Builder
	stream, err := NewTransport(TransportConfig{Transport: "stream"}, nil, slog.New(slog.NewTextHandler(&logged, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := stream.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logged.String(), "Subject: Hello") {
		t.Fatalf("stream logged %s", logged.String())
	}

	// A sendmail stand-in that keeps what it is given.
	dir := t.TempDir()
	out := filepath.Join(dir, "mail.eml")
	script := filepath.Join(dir, "sendmail")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat > "+out+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	sendmail, err := NewTransport(TransportConfig{Transport: "sendmail", Path: script}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := sendmail.Send(ctx, m); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	subject, text, html, header := mailParts(t, string(data))
	if subject != "Hello" || !strings.Contains(text, "http://x") || html != "<p>body</p>" || header.Get("Message-Id") != "<id-1@portico>" {
		t.Fatalf("sendmail got %q %q %q %v", subject, text, html, header)
	}
}

func TestEmailAddressCache(t *testing.T) {
	cat := orgCatalog()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := EmailConfig{}
	cfg.Cache.TTL = time.Hour
	p := NewEmailProcessor(cfg, EmailOptions{Catalog: cat, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: func() time.Time { return now }})
	ctx := context.Background()
	for range 3 {
		got, err := p.userEmails(ctx, []string{"user:default/alice", "user:default/nomail"})
		if err != nil || got["user:default/alice"] != "alice@acme.example" || got["user:default/nomail"] != "" {
			t.Fatalf("emails %v %v", got, err)
		}
	}
	if cat.queries != 1 {
		t.Fatalf("%d catalog queries within the ttl", cat.queries)
	}
	now = now.Add(2 * time.Hour)
	if _, err := p.userEmails(ctx, []string{"user:default/alice"}); err != nil || cat.queries != 2 {
		t.Fatalf("after the ttl: %d queries, %v", cat.queries, err)
	}
}

// flaky fails its first PostProcess calls, like a process that stopped
// before its processors ran.
type flaky struct {
	recorder
	failures int
}

func (f *flaky) PostProcess(ctx context.Context, req Request, sent []Notification) error {
	f.mu.Lock()
	if f.failures > 0 {
		f.failures--
		f.mu.Unlock()
		return errors.New("interrupted")
	}
	f.mu.Unlock()
	return f.recorder.PostProcess(ctx, req, sent)
}

func TestInterruptedSendIsFinished(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		proc := &flaky{failures: 2}
		svc, _ := newTestService(t, db, newFakeCatalog(), Options{Processors: []Processor{proc}})
		// Bob has the web channel off: his notification is not stored,
		// and the processor must still get it after recovery.
		if _, err := svc.SaveSettings(ctx, "user:default/bob", Settings{Channels: []ChannelSetting{{ID: WebChannel, Enabled: ptr(false)}}}); err != nil {
			t.Fatal(err)
		}
		sent := mustSend(t, svc, Request{Recipients: toUsers("user:default/alice", "user:default/bob"), Payload: Payload{Title: "important", Metadata: map[string]any{"k": "v"}}})
		mustSend(t, svc, Request{Recipients: &Recipients{Type: RecipientsBroadcast}, Payload: Payload{Title: "everyone"}})
		if len(proc.posted) != 0 {
			t.Fatalf("posted %+v", proc.posted)
		}
		pending := func() int {
			var n int
			_ = db.QueryRowContext(ctx, `SELECT COUNT(*) FROM notifications_dispatch`).Scan(&n)
			return n
		}
		if pending() != 2 {
			t.Fatalf("%d dispatches pending", pending())
		}
		// Within the lease nothing is taken over.
		if err := svc.Recover(ctx); err != nil || len(proc.posted) != 0 {
			t.Fatalf("recovered within the lease: %v %+v", err, proc.posted)
		}
		if _, err := db.ExecContext(ctx, `UPDATE notifications_dispatch SET retry_at = $1`, store.Now().Add(-time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := svc.Recover(ctx); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, n := range proc.posted {
			got = append(got, n.User+":"+n.Payload.Title)
		}
		slices.Sort(got)
		if strings.Join(got, " ") != ":everyone user:default/alice:important user:default/bob:important" {
			t.Fatalf("recovered %q", got)
		}
		for _, n := range proc.posted {
			if n.User == "user:default/alice" && (n.ID != sent[0].ID || n.Payload.Metadata["k"] != "v") {
				t.Fatalf("recovered %+v, sent %+v", n, sent[0])
			}
		}
		if pending() != 0 {
			t.Fatalf("%d dispatches left", pending())
		}
		// A send whose processors succeed leaves nothing behind.
		mustSend(t, svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "again"}})
		if pending() != 0 {
			t.Fatal("a finished send left its dispatch")
		}
	})
}
