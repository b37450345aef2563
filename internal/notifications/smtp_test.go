package notifications

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// ReceivedMail is one message a MailServer accepted.
type ReceivedMail struct {
	From string
	To   []string
	Data string
	TLS  bool
	User string
}

// MailServer is a real SMTP server (emersion/go-smtp) for tests, on
// 127.0.0.1. It is exported for the server-level tests in
// notifications_test.
type MailServer struct {
	Addr string
	Port int
	// CertPEM is the server's self-signed certificate when TLS is on.
	CertPEM   string
	ClientTLS *tls.Config

	mu    sync.Mutex
	mails []ReceivedMail
	srv   *smtp.Server
	ln    net.Listener
	cfg   MailServerConfig
}

// MailServerConfig chooses the server's TLS mode and credentials.
type MailServerConfig struct {
	// Implicit serves TLS from the first byte (smtps); StartTLS offers
	// STARTTLS.
	Implicit, StartTLS bool
	// Username and Password, when set, are required.
	Username, Password string
	// Reject refuses this recipient with a permanent 550.
	Reject string
	// AllowInsecureAuth offers AUTH without TLS.
	AllowInsecureAuth bool
	// Port reuses a port (for a server that comes back); 0 picks one.
	Port int
}

// StartMailServer starts a server and stops it when the test ends.
func StartMailServer(t testing.TB, cfg MailServerConfig) *MailServer {
	t.Helper()
	m := &MailServer{cfg: cfg}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &mailSession{server: m, conn: c}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = cfg.AllowInsecureAuth
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	if cfg.Implicit || cfg.StartTLS {
		cert, pemText, pool := selfSigned(t)
		s.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
		m.CertPEM = pemText
		m.ClientTLS = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	}
	addr := "127.0.0.1:" + itoa(cfg.Port)
	var ln net.Listener
	var err error
	for range 50 { // a port just released may take a moment to be free again
		if cfg.Implicit {
			ln, err = tls.Listen("tcp", addr, s.TLSConfig)
		} else {
			ln, err = net.Listen("tcp", addr)
		}
		if err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	m.ln, m.srv = ln, s
	m.Addr = ln.Addr().String()
	m.Port = ln.Addr().(*net.TCPAddr).Port
	go func() { _ = s.Serve(ln) }()
	t.Cleanup(m.Stop)
	return m
}

// Stop closes the server.
func (m *MailServer) Stop() {
	// Closing the listener too covers a Serve that has not started yet.
	_ = m.ln.Close()
	_ = m.srv.Close()
}

// Mails returns what the server has accepted.
func (m *MailServer) Mails() []ReceivedMail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]ReceivedMail(nil), m.mails...)
}

// WaitForMails waits until the server holds n mails, then a little longer
// to catch extra ones, and returns them.
func (m *MailServer) WaitForMails(t testing.TB, n int) []ReceivedMail {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for len(m.Mails()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("got %d mails, want %d", len(m.Mails()), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(300 * time.Millisecond)
	mails := m.Mails()
	if len(mails) != n {
		t.Fatalf("got %d mails, want %d: %+v", len(mails), n, mails)
	}
	return mails
}

// MailsTo returns the mails' recipients, in order.
func MailsTo(mails []ReceivedMail) []string {
	var out []string
	for _, m := range mails {
		out = append(out, m.To...)
	}
	return out
}

type mailSession struct {
	server *MailServer
	conn   *smtp.Conn
	mail   ReceivedMail
	authed bool
}

func (s *mailSession) AuthMechanisms() []string {
	if s.server.cfg.Username == "" {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *mailSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		if user != s.server.cfg.Username || pass != s.server.cfg.Password {
			return errors.New("invalid credentials")
		}
		s.authed, s.mail.User = true, user
		return nil
	}), nil
}

func (s *mailSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.server.cfg.Username != "" && !s.authed {
		return smtp.ErrAuthRequired
	}
	s.mail.From = from
	return nil
}

func (s *mailSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	if to == s.server.cfg.Reject {
		return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such mailbox"}
	}
	s.mail.To = append(s.mail.To, to)
	return nil
}

func (s *mailSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mail.Data = string(data)
	_, s.mail.TLS = s.conn.TLSConnectionState()
	s.server.mu.Lock()
	s.server.mails = append(s.server.mails, s.mail)
	s.server.mu.Unlock()
	return nil
}

func (s *mailSession) Reset() { s.mail = ReceivedMail{User: s.mail.User} }

func (s *mailSession) Logout() error { return nil }

func selfSigned(t testing.TB) (tls.Certificate, string, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "portico test smtp"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	pemText := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}, pemText, pool
}
