package notifications

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"log/slog"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/store"
)

// EmailChannel is the email processor's channel name in user settings.
const EmailChannel = "Email"

// EmailConfig is notifications.processors.email, with the keys of
// @backstage/plugin-notifications-backend-module-email.
type EmailConfig struct {
	TransportConfig TransportConfig `yaml:"transportConfig"`
	Sender          string          `yaml:"sender"`
	ReplyTo         string          `yaml:"replyTo"`
	// ConcurrencyLimit mails are sent at once, then the sender waits
	// ThrottleInterval (defaults 2 and 100 ms).
	ConcurrencyLimit int           `yaml:"concurrencyLimit"`
	ThrottleInterval time.Duration `yaml:"throttleInterval"`
	Cache            struct {
		// TTL is how long users' addresses are remembered (default 1 h).
		TTL time.Duration `yaml:"ttl"`
	} `yaml:"cache"`
	// BroadcastConfig nil sends no mail for broadcasts.
	BroadcastConfig *struct {
		// Receiver is none, config (ReceiverEmails) or users (every user
		// with an address in the catalog).
		Receiver       string   `yaml:"receiver"`
		ReceiverEmails []string `yaml:"receiverEmails"`
	} `yaml:"broadcastConfig"`
	Filter                  Filter         `yaml:"filter"`
	AllowedEmailDomains     []string       `yaml:"allowedEmailDomains"`
	AllowlistEmailAddresses []string       `yaml:"allowlistEmailAddresses"`
	DenylistEmailAddresses  []string       `yaml:"denylistEmailAddresses"`
	SESConfig               map[string]any `yaml:"sesConfig"`
}

// TransportConfig says how mail leaves: smtp, sendmail or stream.
type TransportConfig struct {
	Transport string `yaml:"transport"`
	// smtp
	Hostname string `yaml:"hostname"`
	Port     int    `yaml:"port"`
	// Secure connects with TLS from the start (port 465); otherwise
	// STARTTLS is used when the server offers it, and RequireTLS makes it
	// mandatory.
	Secure     bool   `yaml:"secure"`
	RequireTLS bool   `yaml:"requireTls"`
	Username   string `yaml:"username"`
	Password   string `yaml:"password"`
	// TLS takes nodemailer's names: ca (PEM) trusts a private CA,
	// rejectUnauthorized false skips certificate checks.
	TLS struct {
		CA                 string `yaml:"ca"`
		RejectUnauthorized *bool  `yaml:"rejectUnauthorized"`
		ServerName         string `yaml:"servername"`
	} `yaml:"tls"`
	// sendmail
	Path    string `yaml:"path"`
	Newline string `yaml:"newline"`
}

// Validate checks the configuration and fills in defaults.
func (c *EmailConfig) Validate() error {
	if c.Sender == "" {
		return errors.New("notifications.processors.email.sender is required")
	}
	switch c.TransportConfig.Transport {
	case "smtp":
		if c.TransportConfig.Hostname == "" || c.TransportConfig.Port == 0 {
			return errors.New("notifications.processors.email.transportConfig: smtp needs hostname and port")
		}
	case "sendmail":
		if c.TransportConfig.Path == "" {
			c.TransportConfig.Path = "/usr/sbin/sendmail"
		}
	case "stream":
	case "ses", "azure":
		return fmt.Errorf("notifications.processors.email.transportConfig.transport: %q is not supported by Portico; use smtp (SES and Azure Communication Services both offer SMTP endpoints), sendmail or stream", c.TransportConfig.Transport)
	default:
		return fmt.Errorf("notifications.processors.email.transportConfig.transport: expected smtp, sendmail or stream, got %q", c.TransportConfig.Transport)
	}
	for _, s := range []Severity{c.Filter.MinSeverity, c.Filter.MaxSeverity} {
		if s != "" && !s.Valid() {
			return fmt.Errorf("notifications.processors.email.filter: invalid severity %q; use critical, high, normal or low", s)
		}
	}
	if b := c.BroadcastConfig; b != nil {
		switch b.Receiver {
		case "none", "config", "users":
		default:
			return fmt.Errorf("notifications.processors.email.broadcastConfig.receiver: expected none, config or users, got %q", b.Receiver)
		}
	}
	if c.ConcurrencyLimit <= 0 {
		c.ConcurrencyLimit = 2
	}
	if c.ThrottleInterval <= 0 {
		c.ThrottleInterval = 100 * time.Millisecond
	}
	if c.Cache.TTL <= 0 {
		c.Cache.TTL = time.Hour
	}
	return nil
}

// Mail is one message ready to go.
type Mail struct {
	// ID is the outbox id; transports use it for the Message-ID, so a
	// receiver can tell a retried mail from a new one.
	ID                  string
	From, ReplyTo, To   string
	Subject, Text, HTML string
}

// Transport delivers a mail (SMTP, sendmail, a log).
type Transport interface {
	Send(ctx context.Context, m Mail) error
}

// EmailOptions are what an EmailProcessor needs besides its configuration.
type EmailOptions struct {
	DB         *store.DB
	Catalog    Catalog
	Transport  Transport
	AppBaseURL string
	Logger     *slog.Logger
	// Backoff is the wait before retry n (1-based); nil doubles from one
	// second up to an hour.
	Backoff func(attempt int) time.Duration
	// Now is the clock, for tests; nil is store.Now.
	Now func() time.Time
}

// maxEmailAttempts bounds retries of one mail: with the default backoff
// that is about two days of trying.
const maxEmailAttempts = 60

// emailLease is how long a claimed mail is left to its sender before another
// worker may try it (a replica that died mid-send).
const emailLease = 5 * time.Minute

// EmailProcessor forwards notifications by email. Mail is written to an
// outbox table when notifications are processed and sent by Run, which
// retries with backoff until the server takes it; each revision of a
// notification is queued once per address.
type EmailProcessor struct {
	cfg       EmailConfig
	db        *store.DB
	catalog   Catalog
	transport Transport
	baseURL   string
	log       *slog.Logger
	backoff   func(int) time.Duration
	now       func() time.Time
	wake      chan struct{}

	mu       sync.Mutex
	emails   map[string]cachedEmail
	allUsers *cachedList
}

type cachedEmail struct {
	address string
	expires time.Time
}

type cachedList struct {
	addresses []string
	expires   time.Time
}

// NewEmailProcessor returns the processor for a validated configuration.
func NewEmailProcessor(cfg EmailConfig, opts EmailOptions) *EmailProcessor {
	p := &EmailProcessor{
		cfg: cfg, db: opts.DB, catalog: opts.Catalog, transport: opts.Transport, baseURL: opts.AppBaseURL,
		log: opts.Logger, backoff: opts.Backoff, now: opts.Now, wake: make(chan struct{}, 1),
		emails: map[string]cachedEmail{},
	}
	if p.log == nil {
		p.log = slog.Default()
	}
	if p.backoff == nil {
		p.backoff = func(attempt int) time.Duration {
			return min(time.Second<<min(attempt-1, 12), time.Hour)
		}
	}
	if p.now == nil {
		p.now = store.Now
	}
	return p
}

// Name implements Processor.
func (p *EmailProcessor) Name() string { return EmailChannel }

// Filter implements Processor.
func (p *EmailProcessor) Filter() Filter { return p.cfg.Filter }

// PostProcess implements Processor: it finds the addresses and queues one
// mail per address.
func (p *EmailProcessor) PostProcess(ctx context.Context, req Request, sent []Notification) error {
	var users []string
	for _, n := range sent {
		if !n.IsBroadcast() {
			users = append(users, n.User)
		}
	}
	byUser, err := p.userEmails(ctx, users)
	if err != nil {
		return err
	}
	var rows []outboxRow
	for _, n := range sent {
		var addresses []string
		if n.IsBroadcast() {
			if addresses, err = p.broadcastEmails(ctx); err != nil {
				return err
			}
		} else if a := byUser[n.User]; a != "" {
			addresses = []string{a}
		}
		subject, text, htmlBody := p.render(n)
		revision := n.Created
		if n.Updated != nil {
			revision = *n.Updated
		}
		key := n.ID + "@" + strconv.FormatInt(revision.UnixNano(), 10)
		for _, a := range p.permitted(addresses) {
			rows = append(rows, outboxRow{id: uuid.NewString(), key: key, address: a, subject: subject, text: text, html: htmlBody})
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := p.enqueue(ctx, rows); err != nil {
		return err
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
	return nil
}

// render writes the subject, text and HTML of a notification's mail: the
// title, the description and the link (the notifications page when there
// is none).
func (p *EmailProcessor) render(n Notification) (subject, text, htmlBody string) {
	link := strings.TrimSuffix(p.baseURL, "/") + "/notifications"
	if n.Payload.Link != "" {
		if l, err := resolveLink(p.baseURL, n.Payload.Link); err == nil {
			link = l
		}
	}
	d := n.Payload.Description
	text = d + "\n\n" + link
	htmlBody = "<p>" + strings.ReplaceAll(html.EscapeString(d), "\n", "<br/>") + "<br/><a href=\"" + html.EscapeString(link) + "\">" + html.EscapeString(link) + "</a></p>"
	return n.Payload.Title, text, htmlBody
}

// permitted keeps the valid addresses that the allow lists let through and
// the deny list does not stop, each once.
func (p *EmailProcessor) permitted(addresses []string) []string {
	var out []string
	for _, a := range addresses {
		parsed, err := mail.ParseAddress(strings.TrimSpace(a))
		if err != nil {
			continue
		}
		addr := strings.ToLower(parsed.Address)
		if len(p.cfg.AllowedEmailDomains) > 0 || len(p.cfg.AllowlistEmailAddresses) > 0 {
			_, domain, _ := strings.Cut(addr, "@")
			allowed := slices.ContainsFunc(p.cfg.AllowedEmailDomains, func(d string) bool { return strings.EqualFold(d, domain) }) ||
				slices.ContainsFunc(p.cfg.AllowlistEmailAddresses, func(x string) bool { return strings.EqualFold(x, addr) })
			if !allowed {
				continue
			}
		}
		if slices.ContainsFunc(p.cfg.DenylistEmailAddresses, func(x string) bool { return strings.EqualFold(x, addr) }) {
			continue
		}
		if !slices.Contains(out, addr) {
			out = append(out, addr)
		}
	}
	return out
}

// userEmails returns the spec.profile.email of each user, from the cache or
// one catalog query for the rest.
func (p *EmailProcessor) userEmails(ctx context.Context, users []string) (map[string]string, error) {
	out := map[string]string{}
	now := p.now()
	var missing []string
	p.mu.Lock()
	for _, u := range users {
		if c, ok := p.emails[u]; ok && now.Before(c.expires) {
			out[u] = c.address
		} else {
			missing = append(missing, u)
		}
	}
	p.mu.Unlock()
	if len(missing) == 0 {
		return out, nil
	}
	entities, err := p.catalog.EntitiesByRefs(ctx, missing)
	if err != nil {
		return nil, fmt.Errorf("read user emails: %w", err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, raw := range entities {
		var address string
		if raw != nil {
			var e entityView
			if json.Unmarshal(raw, &e) == nil {
				address = e.Spec.Profile.Email
			}
		}
		out[missing[i]] = address
		p.emails[missing[i]] = cachedEmail{address: address, expires: now.Add(p.cfg.Cache.TTL)}
	}
	return out, nil
}

// broadcastEmails returns the receivers of broadcast mail.
func (p *EmailProcessor) broadcastEmails(ctx context.Context) ([]string, error) {
	b := p.cfg.BroadcastConfig
	if b == nil {
		return nil, nil
	}
	switch b.Receiver {
	case "config":
		return b.ReceiverEmails, nil
	case "users":
	default:
		return nil, nil
	}
	now := p.now()
	p.mu.Lock()
	if c := p.allUsers; c != nil && now.Before(c.expires) {
		p.mu.Unlock()
		return c.addresses, nil
	}
	p.mu.Unlock()
	var addresses []string
	err := p.catalog.ListUsers(ctx, func(raw []byte) error {
		var e entityView
		if json.Unmarshal(raw, &e) == nil && e.Spec.Profile.Email != "" {
			addresses = append(addresses, e.Spec.Profile.Email)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read user emails: %w", err)
	}
	p.mu.Lock()
	p.allUsers = &cachedList{addresses: addresses, expires: now.Add(p.cfg.Cache.TTL)}
	p.mu.Unlock()
	return addresses, nil
}

type outboxRow struct {
	id, key, address, subject, text, html string
}

// enqueue writes mails to the outbox; a mail already queued for the same
// notification revision and address is left alone.
func (p *EmailProcessor) enqueue(ctx context.Context, rows []outboxRow) error {
	now := p.now()
	return p.db.Tx(ctx, func(tx *sql.Tx) error {
		for start := 0; start < len(rows); start += insertChunk {
			part := rows[start:min(start+insertChunk, len(rows))]
			a := bulkArgs(p.db)
			var values strings.Builder
			for i, r := range part {
				if i > 0 {
					values.WriteString(", ")
				}
				fmt.Fprintf(&values, "(%s, %s, %s, %s, %s, %s, %s, %s, 'pending', %s, %s)",
					a.add(r.id), a.add(r.key), a.add(r.address), a.add(p.cfg.Sender), a.add(p.cfg.ReplyTo),
					a.add(r.subject), a.add(r.text), a.add(r.html), a.add(now), a.add(now))
			}
			q := `INSERT INTO notifications_email_outbox (id, dedupe_key, address, sender, reply_to, subject, text_body, html_body, status, next_attempt_at, created_at)
VALUES ` + values.String() + ` ON CONFLICT (dedupe_key, address) DO NOTHING`
			if _, err := tx.ExecContext(ctx, q, a.args...); err != nil {
				return fmt.Errorf("queue mail: %w", err)
			}
		}
		return nil
	})
}

// claim takes up to n due mails, pushing their next attempt past the lease
// so that no other worker sends them meanwhile.
func (p *EmailProcessor) claim(ctx context.Context, n int) ([]Mail, error) {
	var mails []Mail
	now := p.now()
	err := p.db.Tx(ctx, func(tx *sql.Tx) error {
		mails = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, address, sender, reply_to, subject, text_body, html_body FROM notifications_email_outbox
WHERE status = 'pending' AND next_attempt_at <= $1 ORDER BY next_attempt_at LIMIT $2 `+p.db.SkipLocked(), now, n)
		if err != nil {
			return err
		}
		var ids []string
		for rows.Next() {
			var m Mail
			if err := rows.Scan(&m.ID, &m.To, &m.From, &m.ReplyTo, &m.Subject, &m.Text, &m.HTML); err != nil {
				rows.Close()
				return err
			}
			mails = append(mails, m)
			ids = append(ids, m.ID)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(ids) == 0 {
			return err
		}
		a := &sqlArgs{}
		_, err = tx.ExecContext(ctx, "UPDATE notifications_email_outbox SET attempts = attempts + 1, next_attempt_at = "+a.add(now.Add(emailLease))+
			" WHERE id IN ("+a.list(ids)+")", a.args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("claim mail: %w", err)
	}
	return mails, nil
}

// Run sends queued mail until ctx ends: ConcurrencyLimit at a time, then a
// ThrottleInterval pause, retrying failures with backoff.
func (p *EmailProcessor) Run(ctx context.Context) error {
	for {
		mails, err := p.claim(ctx, p.cfg.ConcurrencyLimit)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			p.log.ErrorContext(ctx, "email outbox", "err", err)
		}
		if len(mails) > 0 {
			var wg sync.WaitGroup
			for _, m := range mails {
				wg.Go(func() { p.deliver(ctx, m) })
			}
			wg.Wait()
			if !sleep(ctx, p.cfg.ThrottleInterval) {
				return nil
			}
			continue
		}
		wait := p.untilNextDue(ctx)
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case <-p.wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// untilNextDue is how long the worker may sleep: until the next retry is
// due, and at most a few seconds so that mail another replica queued is
// not left waiting.
func (p *EmailProcessor) untilNextDue(ctx context.Context) time.Duration {
	const maxIdle = 5 * time.Second
	var next dbTime
	err := p.db.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM notifications_email_outbox WHERE status = 'pending'`).Scan(&next)
	if err != nil || !next.valid {
		return maxIdle
	}
	return min(max(next.t.Sub(p.now()), 10*time.Millisecond), maxIdle)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// deliver sends one claimed mail and records the outcome. It marks a mail
// sent as soon as the server has taken it, so a retry never repeats it.
func (p *EmailProcessor) deliver(ctx context.Context, m Mail) {
	sendCtx, cancel := context.WithTimeout(ctx, time.Minute)
	err := p.transport.Send(sendCtx, m)
	cancel()
	// The outcome is recorded even while shutting down, so that a sent
	// mail is not sent again after a restart.
	rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer rcancel()
	now := p.now()
	if err == nil {
		if _, err := p.db.ExecContext(rctx, `UPDATE notifications_email_outbox SET status = 'sent', sent_at = $1, last_error = '' WHERE id = $2`, now, m.ID); err != nil {
			p.log.ErrorContext(ctx, "cannot record sent mail", "id", m.ID, "err", err)
		}
		return
	}
	var attempts int
	if err := p.db.QueryRowContext(rctx, `SELECT attempts FROM notifications_email_outbox WHERE id = $1`, m.ID).Scan(&attempts); err != nil {
		p.log.ErrorContext(ctx, "cannot record mail failure", "id", m.ID, "err", err)
		return
	}
	status := "pending"
	var permanent *PermanentError
	if errors.As(err, &permanent) || attempts >= maxEmailAttempts {
		status = "failed"
		p.log.ErrorContext(ctx, "giving up on mail", "id", m.ID, "to", m.To, "attempts", attempts, "err", err)
	} else {
		p.log.WarnContext(ctx, "cannot send mail; will retry", "id", m.ID, "to", m.To, "attempt", attempts, "err", err)
	}
	msg := err.Error()
	if len(msg) > 1000 {
		msg = msg[:1000]
	}
	if _, err := p.db.ExecContext(rctx, `UPDATE notifications_email_outbox SET status = $1, next_attempt_at = $2, last_error = $3 WHERE id = $4`,
		status, now.Add(p.backoff(attempts)), msg, m.ID); err != nil {
		p.log.ErrorContext(ctx, "cannot record mail failure", "id", m.ID, "err", err)
	}
}
