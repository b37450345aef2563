package notifications

import (
	"context"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/store"
)

// mailParts decodes a received message's subject, text and HTML parts.
func mailParts(t *testing.T, data string) (subject, text, html string, header mail.Header) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	subject, _ = new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	_, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	r := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = part
		if part.Header.Get("Content-Transfer-Encoding") == "quoted-printable" {
			body = quotedprintable.NewReader(part)
		}
		b, _ := io.ReadAll(body)
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	return subject, text, html, msg.Header
}

type emailEnv struct {
	svc  *Service
	proc *EmailProcessor
	db   *store.DB
}

// startEmail builds a service with an email processor sending to srv, and
// runs the processor's worker for the test.
func startEmail(t *testing.T, db *store.DB, cat *fakeCatalog, cfg EmailConfig, srv *MailServer, useCA bool) emailEnv {
	t.Helper()
	if cfg.Sender == "" {
		cfg.Sender = "email@company.com"
	}
	cfg.TransportConfig.Transport = "smtp"
	cfg.TransportConfig.Hostname = "127.0.0.1"
	cfg.TransportConfig.Port = srv.Port
	if useCA {
		cfg.TransportConfig.TLS.CA = srv.CertPEM
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	var clientTLS = srv.ClientTLS
	if useCA {
		clientTLS = nil // from the configuration's CA
	}
	transport, err := NewTransport(cfg.TransportConfig, clientTLS, nil)
	if err != nil {
		t.Fatal(err)
	}
	proc := NewEmailProcessor(cfg, EmailOptions{
		DB: db, Catalog: cat, Transport: transport, AppBaseURL: "http://portal.example.com",
		Backoff: func(int) time.Duration { return 50 * time.Millisecond },
		Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	svc, _ := newTestService(t, db, cat, Options{Processors: []Processor{proc}})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { _ = proc.Run(ctx) })
	t.Cleanup(func() { cancel(); wg.Wait() })
	return emailEnv{svc, proc, db}
}

func orgCatalog() *fakeCatalog {
	cat := newFakeCatalog()
	cat.add("User", "alice", "alice@acme.example")
	cat.add("User", "bob", "Bob@Acme.example")
	cat.add("User", "nomail", "")
	cat.add("User", "denied", "denied@acme.example")
	cat.add("User", "bad", "not an address")
	cat.add("Group", "team", "", "hasMember user:default/alice", "hasMember user:default/bob", "hasMember user:default/nomail",
		"hasMember user:default/denied", "hasMember user:default/bad")
	return cat
}

func TestEmailForwarding(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		srv := StartMailServer(t, MailServerConfig{})
		cfg := EmailConfig{
			Sender: "email@company.com", ReplyTo: "reply@company.com",
			Filter:                 Filter{MinSeverity: SeverityNormal, ExcludedTopics: []string{"noise"}},
			DenylistEmailAddresses: []string{"denied@acme.example"},
		}
		cfg.BroadcastConfig = &struct {
			Receiver       string   `yaml:"receiver"`
			ReceiverEmails []string `yaml:"receiverEmails"`
		}{Receiver: "config", ReceiverEmails: []string{"foo@company.com", "bar@company.com"}}
		env := startEmail(t, db, orgCatalog(), cfg, srv, false)
		team := toUsers("group:default/team")

		mustSend(t, env.svc, Request{Recipients: team, Payload: Payload{Title: "Deploy done", Description: "Checkout <v2> is live", Link: "/catalog/default/component/checkout", Severity: SeverityHigh}})
		mails := srv.WaitForMails(t, 2)
		if to := MailsTo(mails); !slices.Contains(to, "alice@acme.example") || !slices.Contains(to, "bob@acme.example") {
			t.Fatalf("mail went to %q", to)
		}
		subject, text, html, header := mailParts(t, mails[0].Data)
		if subject != "Deploy done" || mails[0].From != "email@company.com" || !strings.Contains(header.Get("Reply-To"), "reply@company.com") {
			t.Fatalf("subject %q from %q headers %v", subject, mails[0].From, header)
		}
		link := "http://portal.example.com/catalog/default/component/checkout"
		if text != "Checkout <v2> is live\n\n"+link && text != "Checkout <v2> is live\r\n\r\n"+link {
			t.Fatalf("text part %q", text)
		}
		if !strings.Contains(html, `<a href="`+link+`">`+link+`</a>`) || !strings.Contains(html, "Checkout &lt;v2&gt; is live") {
			t.Fatalf("html part %q", html)
		}

		// Filtered out: too low a severity, an excluded topic.
		mustSend(t, env.svc, Request{Recipients: team, Payload: Payload{Title: "minor", Severity: SeverityLow}})
		mustSend(t, env.svc, Request{Recipients: team, Payload: Payload{Title: "noisy", Topic: "noise"}})
		// A broadcast goes to the configured receivers; without a link,
		// the mail points at the notifications page.
		mustSend(t, env.svc, Request{Recipients: &Recipients{Type: RecipientsBroadcast}, Payload: Payload{Title: "Maintenance"}})
		mails = srv.WaitForMails(t, 4)
		if to := MailsTo(mails[2:]); !slices.Contains(to, "foo@company.com") || !slices.Contains(to, "bar@company.com") {
			t.Fatalf("broadcast mail went to %q", to)
		}
		if _, text, _, _ := mailParts(t, mails[3].Data); !strings.Contains(text, "http://portal.example.com/notifications") {
			t.Fatalf("broadcast text %q", text)
		}

		// Bob turns email off for this origin.
		if _, err := env.svc.SaveSettings(context.Background(), "user:default/bob", Settings{Channels: []ChannelSetting{
			{ID: EmailChannel, Origins: []OriginSetting{{ID: "plugin:test", Enabled: false}}},
		}}); err != nil {
			t.Fatal(err)
		}
		mustSend(t, env.svc, Request{Recipients: team, Payload: Payload{Title: "again"}})
		mails = srv.WaitForMails(t, 5)
		if mails[4].To[0] != "alice@acme.example" {
			t.Fatalf("mail went to %q", mails[4].To)
		}
	})
}

func TestEmailBroadcastReceivers(t *testing.T) {
	for _, tc := range []struct {
		receiver string
		allow    []string
		want     []string
	}{
		{"users", nil, []string{"alice@acme.example", "bob@acme.example", "denied@acme.example"}},
		{"users", []string{"acme.example"}, []string{"alice@acme.example", "bob@acme.example", "denied@acme.example"}},
		{"none", nil, nil},
		{"", nil, nil}, // no broadcastConfig
	} {
		t.Run(tc.receiver, func(t *testing.T) {
			db := storeSQLite(t)
			srv := StartMailServer(t, MailServerConfig{})
			cfg := EmailConfig{AllowedEmailDomains: tc.allow}
			if tc.receiver != "" {
				cfg.BroadcastConfig = &struct {
					Receiver       string   `yaml:"receiver"`
					ReceiverEmails []string `yaml:"receiverEmails"`
				}{Receiver: tc.receiver, ReceiverEmails: []string{"config@company.com"}}
			}
			env := startEmail(t, db, orgCatalog(), cfg, srv, false)
			mustSend(t, env.svc, Request{Recipients: &Recipients{Type: RecipientsBroadcast}, Payload: Payload{Title: "hello"}})
			to := MailsTo(srv.WaitForMails(t, len(tc.want)))
			slices.Sort(to)
			if !slices.Equal(to, tc.want) {
				t.Fatalf("mail went to %q, want %q", to, tc.want)
			}
		})
	}
}

func TestEmailAllowAndDenyLists(t *testing.T) {
	p := NewEmailProcessor(EmailConfig{
		AllowedEmailDomains:     []string{"acme.example"},
		AllowlistEmailAddresses: []string{"partner@other.example"},
		DenylistEmailAddresses:  []string{"Denied@acme.example"},
	}, EmailOptions{})
	got := p.permitted([]string{"a@acme.example", "partner@other.example", "x@other.example", "denied@acme.example", "not an address", "A@ACME.example"})
	if want := []string{"a@acme.example", "partner@other.example"}; !slices.Equal(got, want) {
		t.Fatalf("permitted %q, want %q", got, want)
	}
}

func TestEmailSMTPDownThenUp(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		srv := StartMailServer(t, MailServerConfig{})
		port := srv.Port
		env := startEmail(t, db, orgCatalog(), EmailConfig{}, srv, false)
		srv.Stop()

		sent := mustSend(t, env.svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "while down"}})
		// The worker tries and fails a few times.
		waitUntil(t, func() bool {
			var attempts int
			_ = db.QueryRowContext(ctx, `SELECT attempts FROM notifications_email_outbox`).Scan(&attempts)
			return attempts >= 2
		})
		var lastError string
		_ = db.QueryRowContext(ctx, `SELECT last_error FROM notifications_email_outbox`).Scan(&lastError)
		if lastError == "" {
			t.Fatal("no error recorded")
		}
		// Processing the same notification again queues nothing new.
		if err := env.proc.PostProcess(ctx, Request{}, sent); err != nil {
			t.Fatal(err)
		}

		up := StartMailServer(t, MailServerConfig{Port: port})
		mails := up.WaitForMails(t, 1)
		if mails[0].To[0] != "alice@acme.example" {
			t.Fatalf("mail %+v", mails[0])
		}
		time.Sleep(300 * time.Millisecond)
		if n := len(up.Mails()); n != 1 {
			t.Fatalf("delivered %d times", n)
		}
		var status string
		var rows int
		_ = db.QueryRowContext(ctx, `SELECT status, (SELECT COUNT(*) FROM notifications_email_outbox) FROM notifications_email_outbox`).Scan(&status, &rows)
		if status != "sent" || rows != 1 {
			t.Fatalf("outbox: status %s, %d rows", status, rows)
		}
		// A scope update is a new revision: it is mailed again, once.
		mustSend(t, env.svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "scoped", Scope: "s"}})
		mustSend(t, env.svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "scoped, updated", Scope: "s"}})
		up.WaitForMails(t, 3)
	})
}

func TestEmailTLS(t *testing.T) {
	for _, tc := range []struct {
		name  string
		srv   MailServerConfig
		cfg   TransportConfig
		useCA bool
	}{
		{"implicit TLS with the CA from config", MailServerConfig{Implicit: true, Username: "mailer", Password: "s3cret"},
			TransportConfig{Secure: true, Username: "mailer", Password: "s3cret"}, true},
		{"STARTTLS required", MailServerConfig{StartTLS: true, Username: "mailer", Password: "s3cret"},
			TransportConfig{RequireTLS: true, Username: "mailer", Password: "s3cret"}, false},
		{"STARTTLS when offered", MailServerConfig{StartTLS: true}, TransportConfig{}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := storeSQLite(t)
			srv := StartMailServer(t, tc.srv)
			env := startEmail(t, db, orgCatalog(), EmailConfig{TransportConfig: tc.cfg}, srv, tc.useCA)
			mustSend(t, env.svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "secure"}})
			m := srv.WaitForMails(t, 1)[0]
			if !m.TLS || m.User != tc.srv.Username {
				t.Fatalf("tls %v, user %q", m.TLS, m.User)
			}
		})
	}
	t.Run("TLS required but not offered", func(t *testing.T) {
		db := storeSQLite(t)
		srv := StartMailServer(t, MailServerConfig{})
		env := startEmail(t, db, orgCatalog(), EmailConfig{TransportConfig: TransportConfig{RequireTLS: true}}, srv, false)
		mustSend(t, env.svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "secure"}})
		waitUntil(t, func() bool {
			var lastError string
			_ = db.QueryRowContext(context.Background(), `SELECT last_error FROM notifications_email_outbox`).Scan(&lastError)
			return lastError != ""
		})
		if n := len(srv.Mails()); n != 0 {
			t.Fatalf("sent %d mails in the clear", n)
		}
	})
}

func waitUntil(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestEmailPermanentRefusalIsNotRetried(t *testing.T) {
	db := storeSQLite(t)
	srv := StartMailServer(t, MailServerConfig{Reject: "bob@acme.example"})
	env := startEmail(t, db, orgCatalog(), EmailConfig{}, srv, false)
	mustSend(t, env.svc, Request{Recipients: toUsers("user:default/alice", "user:default/bob"), Payload: Payload{Title: "hi"}})
	if to := MailsTo(srv.WaitForMails(t, 1)); to[0] != "alice@acme.example" {
		t.Fatalf("mail went to %q", to)
	}
	waitUntil(t, func() bool {
		var status string
		var attempts int
		_ = db.QueryRowContext(context.Background(), `SELECT status, attempts FROM notifications_email_outbox WHERE address = 'bob@acme.example'`).Scan(&status, &attempts)
		return status == "failed" && attempts == 1
	})
}

func TestEmailThrottle(t *testing.T) {
	db := storeSQLite(t)
	srv := StartMailServer(t, MailServerConfig{})
	start := time.Now()
	env := startEmail(t, db, orgCatalog(), EmailConfig{ConcurrencyLimit: 1, ThrottleInterval: 200 * time.Millisecond}, srv, false)
	mustSend(t, env.svc, Request{Recipients: toUsers("user:default/alice", "user:default/bob", "user:default/denied"), Payload: Payload{Title: "slowly"}})
	srv.WaitForMails(t, 3)
	// One mail per interval: the third cannot leave before two intervals.
	if elapsed := time.Since(start); elapsed < 400*time.Millisecond {
		t.Fatalf("three mails in %v with one per 200ms", elapsed)
	}
}
