package notifications

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	gomail "github.com/wneessen/go-mail"
)

// NewTransport returns the transport a validated configuration names.
// tlsConfig, when not nil, replaces the TLS settings built from the
// configuration (tests trust their own CA this way).
func NewTransport(cfg TransportConfig, tlsConfig *tls.Config, log *slog.Logger) (Transport, error) {
	switch cfg.Transport {
	case "smtp":
		if tlsConfig == nil {
			var err error
			if tlsConfig, err = smtpTLS(cfg); err != nil {
				return nil, err
			}
		}
		return &smtpTransport{cfg: cfg, tls: tlsConfig}, nil
	case "sendmail":
		return sendmailTransport{path: cfg.Path}, nil
	case "stream":
		return streamTransport{log: log}, nil
	}
	return nil, fmt.Errorf("unsupported mail transport %q", cfg.Transport)
}

func smtpTLS(cfg TransportConfig) (*tls.Config, error) {
	c := &tls.Config{ServerName: cfg.Hostname, MinVersion: tls.VersionTLS12}
	if cfg.TLS.ServerName != "" {
		c.ServerName = cfg.TLS.ServerName
	}
	if cfg.TLS.CA != "" {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM([]byte(cfg.TLS.CA)) {
			return nil, errors.New("notifications.processors.email.transportConfig.tls.ca: no PEM certificate found")
		}
		c.RootCAs = pool
	}
	if cfg.TLS.RejectUnauthorized != nil && !*cfg.TLS.RejectUnauthorized {
		c.InsecureSkipVerify = true // the operator asked for it, as nodemailer allows
	}
	return c, nil
}

// message builds the go-mail message: text and HTML alternatives, and a
// Message-ID derived from the outbox id.
func message(m Mail) (*gomail.Msg, error) {
	msg := gomail.NewMsg()
	if err := msg.From(m.From); err != nil {
		return nil, fmt.Errorf("sender %q: %w", m.From, err)
	}
	if err := msg.To(m.To); err != nil {
		return nil, fmt.Errorf("recipient %q: %w", m.To, err)
	}
	if m.ReplyTo != "" {
		if err := msg.ReplyTo(m.ReplyTo); err != nil {
			return nil, fmt.Errorf("replyTo %q: %w", m.ReplyTo, err)
		}
	}
	msg.Subject(m.Subject)
	msg.SetMessageIDWithValue(m.ID + "@portico")
	msg.SetDate()
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	return msg, nil
}

type smtpTransport struct {
	cfg TransportConfig
	tls *tls.Config
}

// Send delivers m over one SMTP connection.
func (t *smtpTransport) Send(ctx context.Context, m Mail) error {
	msg, err := message(m)
	if err != nil {
		return err
	}
	opts := []gomail.Option{gomail.WithPort(t.cfg.Port), gomail.WithTLSConfig(t.tls)}
	switch {
	case t.cfg.Secure:
		opts = append(opts, gomail.WithSSL())
	case t.cfg.RequireTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if t.cfg.Username != "" {
		// Challenge mechanisms first; PLAIN and LOGIN also without TLS,
		// as nodemailer does for a server that offers them so (the seed's
		// port-25 setup), since the operator configured credentials.
		opts = append(opts, gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthSCRAMSHA256, gomail.SMTPAuthSCRAMSHA1,
			gomail.SMTPAuthCramMD5, gomail.SMTPAuthPlainNoEnc, gomail.SMTPAuthLoginNoEnc),
			gomail.WithUsername(t.cfg.Username), gomail.WithPassword(t.cfg.Password))
	}
	client, err := gomail.NewClient(t.cfg.Hostname, opts...)
	if err != nil {
		return fmt.Errorf("smtp client: %w", err)
	}
	err = client.DialAndSendWithContext(ctx, msg)
	if err == nil || msg.IsDelivered() {
		// The server accepted the data; a failing RSET or QUIT after that
		// must not make the mail go out again.
		return nil
	}
	var se *gomail.SendError
	if errors.As(err, &se) && !se.IsTemp() && slices.Contains([]gomail.SendErrReason{
		gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose,
	}, se.Reason) {
		return &PermanentError{Err: fmt.Errorf("smtp %s:%d: %w", t.cfg.Hostname, t.cfg.Port, err)}
	}
	return fmt.Errorf("smtp %s:%d: %w", t.cfg.Hostname, t.cfg.Port, err)
}

// PermanentError is a refusal that retrying cannot change (a 5xx reply to
// the sender, a recipient or the data); the mail is marked failed at once.
type PermanentError struct{ Err error }

// Error implements error.
func (e *PermanentError) Error() string { return e.Err.Error() }

// Unwrap returns the transport's error.
func (e *PermanentError) Unwrap() error { return e.Err }

type sendmailTransport struct{ path string }

// Send pipes m to the sendmail binary.
func (t sendmailTransport) Send(ctx context.Context, m Mail) error {
	msg, err := message(m)
	if err != nil {
		return err
	}
	if err := msg.WriteToSendmailWithContext(ctx, t.path); err != nil {
		return fmt.Errorf("sendmail %s: %w", t.path, err)
	}
	return nil
}

// streamTransport logs mail instead of sending it (Backstage's stream
// transport, for trying configurations out).
type streamTransport struct{ log *slog.Logger }

// Send logs m.
func (t streamTransport) Send(ctx context.Context, m Mail) error {
	msg, err := message(m)
	if err != nil {
		return err
	}
	var b strings.Builder
	if _, err := msg.WriteTo(&b); err != nil {
		return err
	}
	t.log.InfoContext(ctx, "email (stream transport, not sent)", "to", m.To, "subject", m.Subject, "message", b.String())
	return nil
}
