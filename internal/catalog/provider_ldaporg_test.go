package catalog

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"log/slog"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// slapdServer is a real OpenLDAP server on a free local port, with a
// throwaway database, stopped when the test ends.
type slapdServer struct {
	URL string
}

// The directory every slapd test starts from.
const (
	ldapSuffix   = "dc=example,dc=org"
	ldapAdminDN  = "cn=admin," + ldapSuffix
	ldapAdminPW  = "admin-secret"
	ldapReaderDN = "cn=reader," + ldapSuffix
	ldapReaderPW = "reader-secret"
	// ldapSizeLimit is what one search may return to the reader, fewer
	// than the people in ldapOrgLDIF, so only paged searches read them all.
	ldapSizeLimit = 3
)

// ldapOrgLDIF is a small organization: five people; platform has alice and
// the sre group as members (a group in a group), sre has bob and dave (the
// latter written in other case and spacing), web says its parent is
// platform through seeAlso (a group's memberOf side), and erin says she is
// in web through her own seeAlso (a user's memberOf side).
const ldapOrgLDIF = `dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: ou=people,dc=example,dc=org
objectClass: organizationalUnit
ou: people

dn: ou=groups,dc=example,dc=org
objectClass: organizationalUnit
ou: groups

dn: cn=reader,dc=example,dc=org
objectClass: organizationalRole
objectClass: simpleSecurityObject
cn: reader
userPassword: reader-secret

dn: uid=alice,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: alice
cn: Alice Liddell
sn: Liddell
mail: alice@example.org
description: Runs the platform

dn: uid=bob,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: bob
cn: Bob
sn: B

dn: uid=carol,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: carol
cn: Carol
sn: C

dn: uid=dave,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: dave
cn: Dave
sn: D

dn: uid=erin,ou=people,dc=example,dc=org
objectClass: inetOrgPerson
uid: erin
cn: Erin
sn: E
seeAlso: cn=web,ou=groups,dc=example,dc=org

dn: cn=platform,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: platform
description: The platform team
businessCategory: team
member: uid=alice,ou=people,dc=example,dc=org
member: cn=sre,ou=groups,dc=example,dc=org

dn: cn=sre,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: sre
businessCategory: team
member: uid=bob,ou=people,dc=example,dc=org
member: UID=Dave, OU=People,dc=example,dc=org

dn: cn=web,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: web
member: uid=carol,ou=people,dc=example,dc=org
seeAlso: cn=platform,ou=groups,dc=example,dc=org
`

// startSlapd starts slapd (mdb backend, the core, cosine, inetorgperson and
// nis schemas) with ldif loaded, on ldap://. Without slapd the test is
// skipped, unless CI is set: CI installs it, so there its absence is a
// failure.
func startSlapd(t *testing.T, ldif string) *slapdServer {
	t.Helper()
	return startSlapdWith(t, ldif, nil)
}

// slapdTLS makes slapd serve ldaps:// with a certificate of its own CA,
// and, with demandClientCert, refuse clients without a certificate of
// that CA.
type slapdTLS struct {
	dir              string // the PEM files: ca.pem, server.pem, server.key, client.pem, client.key
	demandClientCert bool
}

// newSlapdTLS writes a CA, a server certificate for 127.0.0.1 and a
// client certificate, all PEM, into a temporary directory.
func newSlapdTLS(t *testing.T, demandClientCert bool) *slapdTLS {
	t.Helper()
	dir := t.TempDir()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Portico test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		t.Fatal(err)
	}
	writePEM := func(name, typ string, der []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	writePEM("ca.pem", "CERTIFICATE", caDER)
	issue := func(name string, serial int64, tmpl *x509.Certificate) {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(name+".pem", "CERTIFICATE", der)
		writePEM(name+".key", "PRIVATE KEY", keyDER)
	}
	issue("server", 2, &x509.Certificate{Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	issue("client", 3, &x509.Certificate{Subject: pkix.Name{CommonName: "portico"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}})
	return &slapdTLS{dir: dir, demandClientCert: demandClientCert}
}

func (c *slapdTLS) file(name string) string { return filepath.Join(c.dir, name) }

// startSlapdWith starts slapd as startSlapd does, on ldaps:// when tlsc
// is given.
func startSlapdWith(t *testing.T, ldif string, tlsc *slapdTLS) *slapdServer {
	t.Helper()
	slapd, slapadd := findSlapd()
	if slapd == "" || slapadd == "" {
		if os.Getenv("CI") != "" {
			t.Fatal("slapd and slapadd are needed for the LDAP tests (apt-get install slapd)")
		}
		t.Skip("slapd is not installed")
	}
	schemaDir := firstExisting("/etc/ldap/schema", "/etc/openldap/schema", "/usr/local/etc/openldap/schema")
	if schemaDir == "" {
		t.Fatal("slapd is installed but its schema directory is not found")
	}
	dir := t.TempDir()
	var conf strings.Builder
	for _, s := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&conf, "include %s\n", filepath.Join(schemaDir, s+".schema"))
	}
	// Debian builds the backends as modules; other builds link them in.
	for _, d := range []string{"/usr/lib/ldap", "/usr/lib64/openldap", "/usr/lib/openldap", "/usr/libexec/openldap"} {
		if firstExisting(filepath.Join(d, "back_mdb.la"), filepath.Join(d, "back_mdb.so")) != "" {
			fmt.Fprintf(&conf, "modulepath %s\nmoduleload back_mdb\n", d)
			break
		}
	}
	scheme := "ldap"
	if tlsc != nil {
		scheme = "ldaps"
		fmt.Fprintf(&conf, "TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n",
			tlsc.file("ca.pem"), tlsc.file("server.pem"), tlsc.file("server.key"))
		if tlsc.demandClientCert {
			conf.WriteString("TLSVerifyClient demand\n")
		}
	}
	fmt.Fprintf(&conf, `pidfile %[1]s/slapd.pid
sizelimit size.soft=%[2]d size.hard=%[2]d size.prtotal=unlimited
database mdb
maxsize 16777216
suffix "%[3]s"
rootdn "%[4]s"
rootpw %[5]s
directory %[1]s/db
access to attrs=userPassword by anonymous auth by * none
access to * by * read
`, dir, ldapSizeLimit, ldapSuffix, ldapAdminDN, ldapAdminPW)
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	confPath := write("slapd.conf", conf.String())
	ldifPath := write("org.ldif", ldif)
	if err := os.Mkdir(filepath.Join(dir, "db"), 0o700); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(slapadd, "-q", "-f", confPath, "-l", ldifPath).CombinedOutput(); err != nil {
		t.Fatalf("slapadd: %v\n%s", err, out)
	}
	// A free port can be taken between finding it and slapd binding it;
	// try a few.
	var lastErr error
	for range 3 {
		port := freePort(t)
		url := fmt.Sprintf("%s://127.0.0.1:%d", scheme, port)
		var out bytes.Buffer
		cmd := exec.Command(slapd, "-f", confPath, "-h", url+"/", "-d", "0")
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatalf("slapd: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if lastErr = waitListening(fmt.Sprintf("127.0.0.1:%d", port), exited); lastErr == nil {
			t.Cleanup(func() {
				_ = cmd.Process.Signal(syscall.SIGTERM)
				select {
				case <-exited:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-exited
				}
			})
			return &slapdServer{URL: url}
		}
		_ = cmd.Process.Kill()
		<-exited
		lastErr = fmt.Errorf("%w\n%s", lastErr, out.String())
	}
	t.Fatalf("slapd did not start: %v", lastErr)
	return nil
}

func findSlapd() (slapd, slapadd string) {
	find := func(name string) string {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
		return firstExisting("/usr/sbin/"+name, "/usr/local/sbin/"+name, "/usr/libexec/"+name)
	}
	return find("slapd"), find("slapadd")
}

func firstExisting(paths ...string) string {
	for _, p := range paths {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitListening waits until addr accepts connections or the server exits.
func waitListening(addr string, exited <-chan error) error {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("slapd exited: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("slapd does not listen on %s", addr)
}

// admin runs fn on a connection bound as the directory's root, to change
// the directory under the provider.
func (s *slapdServer) admin(t *testing.T, fn func(c *ldap.Conn) error) {
	t.Helper()
	c, err := ldap.DialURL(s.URL) // on ldap:// only
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Bind(ldapAdminDN, ldapAdminPW); err != nil {
		t.Fatal(err)
	}
	if err := fn(c); err != nil {
		t.Fatal(err)
	}
}

func (s *slapdServer) setReaderPassword(t *testing.T, pw string) {
	t.Helper()
	s.admin(t, func(c *ldap.Conn) error {
		m := ldap.NewModifyRequest(ldapReaderDN, nil)
		m.Replace("userPassword", []string{pw})
		return c.Modify(m)
	})
}

// ldapOrgYAML is the provider configuration the tests use, in Backstage's
// shape: users as a list, paged; groups as one object.
func ldapOrgYAML(url, secret string) string {
	return fmt.Sprintf(`
target: %s/
bind: { dn: '%s', secret: %s }
tls: { rejectUnauthorized: true }
users:
  - dn: ou=people,dc=example,dc=org
    options:
      filter: |
        (&
          (objectClass=inetOrgPerson)
          (uid=*)
        )
      paged: { pageSize: 2 }
    map: { description: description, memberOf: seeAlso }
    set: { metadata.customField: hello, metadata.labels.source: ldap }
groups:
  dn: ou=groups,dc=example,dc=org
  options: { scope: sub, filter: '(objectClass=groupOfNames)' }
  map: { type: businessCategory, memberOf: seeAlso }
schedule: { frequency: { minutes: 60 }, timeout: { minutes: 15 } }
`, url, ldapReaderDN, secret)
}

// decodeLDAPOrg decodes catalog.providers.ldapOrg.<id> from YAML, as the
// configuration file gives it.
func decodeLDAPOrg(t *testing.T, id, yaml string) (Config, error) {
	t.Helper()
	c, warnings, err := decodeProviders("ldapOrg", id+":\n"+indent(strings.TrimSpace(yaml), "  "))
	if len(warnings) > 0 {
		t.Errorf("configuration warnings: %v", warnings)
	}
	return c, err
}

// logRecorder keeps the messages logged, with their err attribute.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (l *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (l *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logRecorder) WithGroup(string) slog.Handler            { return l }
func (l *logRecorder) Handle(_ context.Context, r slog.Record) error {
	line := r.Message
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "err" {
			line += ": " + a.Value.String()
		}
		return true
	})
	l.mu.Lock()
	l.lines = append(l.lines, line)
	l.mu.Unlock()
	return nil
}

// count is how many lines start with prefix.
func (l *logRecorder) count(prefix string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.lines {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// last is the last line that starts with prefix.
func (l *logRecorder) last(prefix string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.lines) - 1; i >= 0; i-- {
		if strings.HasPrefix(l.lines[i], prefix) {
			return l.lines[i]
		}
	}
	return ""
}

const (
	ldapRunOK     = "LDAP users and groups read"
	ldapRunFailed = "entity provider run failed"
)

// runLDAPCatalog runs a catalog with cfg, logging to rec, until the
// entities refs exist, and stops it when the test ends.
func runLDAPCatalog(t *testing.T, db *store.DB, cfg Config, rec *logRecorder, refs ...string) *fixture {
	t.Helper()
	s, err := New(Options{DB: db, WatchInterval: -1, Config: cfg, Logger: slog.New(rec)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	f := &fixture{t: t, s: s, ctx: ctx}
	waitFor(t, "the LDAP entities exist", func() bool {
		return !slices.ContainsFunc(refs, func(r string) bool { return f.entity(r) == nil })
	})
	return f
}

var uuidPattern = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// catalog.providers.ldapOrg states a User per person and a Group per group
// of a real OpenLDAP directory, with memberships and the group hierarchy
// resolved from DNs on both sides; a person deleted from the directory
// disappears on the next run, and a run whose bind fails keeps the last
// good set and says why.
func TestLDAPOrgProvider(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		srv := startSlapd(t, ldapOrgLDIF)
		cfg, err := decodeLDAPOrg(t, "test", ldapOrgYAML(srv.URL, ldapReaderPW))
		if err != nil {
			t.Fatal(err)
		}
		c := cfg.Providers.LDAPOrg["test"]
		c.Schedule.Frequency.Every = 100 * time.Millisecond
		cfg.Providers.LDAPOrg["test"] = c
		rec := &logRecorder{}
		f := runLDAPCatalog(t, db, cfg, rec, "user:default/alice", "user:default/erin", "group:default/platform", "group:default/sre", "group:default/web")
		// Stitching writes relations after the entities appear.
		waitFor(t, "the memberships are stitched", func() bool {
			return slices.Equal(f.refs("relations.hasmember=user:default/dave"), []string{"group:default/sre"}) &&
				slices.Equal(f.refs("relations.parentof=group:default/web"), []string{"group:default/platform"})
		})

		if got := f.refs("kind=user"); !slices.Equal(got, []string{"user:default/alice", "user:default/bob", "user:default/carol", "user:default/dave", "user:default/erin"}) {
			t.Errorf("users = %v (five people, more than the size limit of %d: paging reads them all)", got, ldapSizeLimit)
		}
		if got := f.refs("kind=group"); !slices.Equal(got, []string{"group:default/platform", "group:default/sre", "group:default/web"}) {
			t.Errorf("groups = %v", got)
		}

		alice := f.mustEntity("user:default/alice")
		if msgs := statusMessages(alice); msgs != "" {
			t.Errorf("alice has processing errors: %s", msgs)
		}
		if alice["apiVersion"] != APIVersionV1beta1 {
			t.Errorf("alice's apiVersion = %v", alice["apiVersion"])
		}
		md := alice["metadata"].(map[string]any)
		if md["description"] != "Runs the platform" || md["customField"] != "hello" || md["labels"].(map[string]any)["source"] != "ldap" {
			t.Errorf("alice's metadata = %v (description mapped, customField and labels.source set)", md)
		}
		spec := alice["spec"].(map[string]any)
		if p := spec["profile"].(map[string]any); p["displayName"] != "Alice Liddell" || p["email"] != "alice@example.org" || p["picture"] != nil {
			t.Errorf("alice's profile = %v", p)
		}
		if got := spec["memberOf"].([]any); !slices.Equal(got, []any{"group:default/platform"}) {
			t.Errorf("alice's memberOf = %v", got)
		}
		wantAnnotations(t, alice, "alice", map[string]string{
			AnnotationLDAPRDN:                 "alice",
			AnnotationLDAPDN:                  "uid=alice,ou=people,dc=example,dc=org",
			AnnotationManagedByLocation:       "ldap://test/uid%3Dalice%2Cou%3Dpeople%2Cdc%3Dexample%2Cdc%3Dorg",
			AnnotationManagedByOriginLocation: "ldap://test/uid%3Dalice%2Cou%3Dpeople%2Cdc%3Dexample%2Cdc%3Dorg",
		})
		if got := annotation(alice, AnnotationLDAPUUID); !uuidPattern.MatchString(got) {
			t.Errorf("alice's %s = %q, want slapd's entryUUID", AnnotationLDAPUUID, got)
		}
		if got := relations(alice); !sameSet(got, []string{"memberOf group:default/platform"}) {
			t.Errorf("alice's relations = %v", got)
		}
		// Dave is a member through a DN written in other case and spacing;
		// erin through her own seeAlso (the user side of memberships).
		if got := relations(f.mustEntity("user:default/dave")); !sameSet(got, []string{"memberOf group:default/sre"}) {
			t.Errorf("dave's relations = %v", got)
		}
		if got := relations(f.mustEntity("user:default/erin")); !sameSet(got, []string{"memberOf group:default/web"}) {
			t.Errorf("erin's relations = %v", got)
		}

		platform := f.mustEntity("group:default/platform")
		if msgs := statusMessages(platform); msgs != "" {
			t.Errorf("platform has processing errors: %s", msgs)
		}
		gspec := platform["spec"].(map[string]any)
		if gspec["type"] != "team" || gspec["profile"].(map[string]any)["displayName"] != "platform" || gspec["parent"] != nil ||
			!slices.Equal(gspec["children"].([]any), []any{"group:default/sre", "group:default/web"}) {
			t.Errorf("platform's spec = %v", gspec)
		}
		if platform["metadata"].(map[string]any)["description"] != "The platform team" {
			t.Errorf("platform's metadata = %v", platform["metadata"])
		}
		if platform["metadata"].(map[string]any)["customField"] != nil {
			t.Errorf("the users' set applies to groups: %v", platform["metadata"])
		}
		if got := annotation(platform, AnnotationLDAPDN); got != "cn=platform,ou=groups,dc=example,dc=org" {
			t.Errorf("platform's DN = %q", got)
		}
		wantRel := []string{"hasMember user:default/alice", "parentOf group:default/sre", "parentOf group:default/web"}
		if got := relations(platform); !sameSet(got, wantRel) {
			t.Errorf("platform's relations = %v, want %v", got, wantRel)
		}
		sre := f.mustEntity("group:default/sre")
		if got := sre["spec"].(map[string]any)["parent"]; got != "group:default/platform" {
			t.Errorf("sre's parent = %v", got)
		}
		wantRel = []string{"childOf group:default/platform", "hasMember user:default/bob", "hasMember user:default/dave"}
		if got := relations(sre); !sameSet(got, wantRel) {
			t.Errorf("sre's relations = %v, want %v", got, wantRel)
		}
		web := f.mustEntity("group:default/web")
		if got := web["spec"].(map[string]any)["type"]; got != "unknown" {
			t.Errorf("web has no businessCategory, type = %v, want unknown", got)
		}
		wantRel = []string{"childOf group:default/platform", "hasMember user:default/carol", "hasMember user:default/erin"}
		if got := relations(web); !sameSet(got, wantRel) {
			t.Errorf("web's relations = %v, want %v", got, wantRel)
		}

		// Carol leaves: the next run removes her.
		srv.admin(t, func(c *ldap.Conn) error {
			return c.Del(ldap.NewDelRequest("uid=carol,ou=people,dc=example,dc=org", nil))
		})
		waitFor(t, "carol is gone", func() bool {
			return f.entity("user:default/carol") == nil && slices.Equal(f.refs("relations.memberof=group:default/web"), []string{"user:default/erin"})
		})

		// The reader's password changes under the provider, and dave
		// leaves meanwhile: failed runs say why and change nothing; the
		// first good run removes dave.
		srv.setReaderPassword(t, "rotated")
		srv.admin(t, func(c *ldap.Conn) error {
			return c.Del(ldap.NewDelRequest("uid=dave,ou=people,dc=example,dc=org", nil))
		})
		failed := rec.count(ldapRunFailed)
		waitFor(t, "two more runs failed", func() bool { return rec.count(ldapRunFailed) >= failed+2 })
		msg := rec.last(ldapRunFailed)
		for _, want := range []string{"catalog.providers.ldapOrg.test.bind", "refused the bind as " + ldapReaderDN, "Invalid Credentials"} {
			if !strings.Contains(msg, want) {
				t.Errorf("the failed run logged %q, want it to contain %q", msg, want)
			}
		}
		if got := f.refs("kind=user"); !slices.Equal(got, []string{"user:default/alice", "user:default/bob", "user:default/dave", "user:default/erin"}) {
			t.Errorf("users after failed runs = %v, want the last good set", got)
		}
		srv.setReaderPassword(t, ldapReaderPW)
		waitFor(t, "dave is gone", func() bool { return f.entity("user:default/dave") == nil })
		if got := f.refs("relations.hasmember=user:default/bob"); !slices.Equal(got, []string{"group:default/sre"}) {
			t.Errorf("bob's groups after dave left = %v", got)
		}
	}, Migrations)
}

// readLDAPOrg reads a directory once with the provider configured by yaml.
func readLDAPOrg(t *testing.T, yaml string) ([]DeferredEntity, *logRecorder, error) {
	t.Helper()
	cfg, err := decodeLDAPOrg(t, "test", yaml)
	if err != nil {
		t.Fatal(err)
	}
	rec := &logRecorder{}
	r, err := newLDAPOrgReader("catalog.providers.ldapOrg.test", "test", cfg.Providers.LDAPOrg["test"])
	if err != nil {
		t.Fatal(err)
	}
	r.log = slog.New(rec)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	des, err := r.read(ctx)
	return des, rec, err
}

func deferredRefs(des []DeferredEntity) []string {
	var out []string
	for _, d := range des {
		out = append(out, d.Entity.Ref().String())
	}
	return out
}

// A directory that limits a search's size needs paging: without it the
// run fails and says so; with pages smaller than the limit every person is
// read.
func TestLDAPOrgPaging(t *testing.T) {
	srv := startSlapd(t, ldapOrgLDIF)
	base := fmt.Sprintf("target: %s\nbind: { dn: '%s', secret: %s }\n", srv.URL, ldapReaderDN, ldapReaderPW)

	_, _, err := readLDAPOrg(t, base+"users: { dn: 'ou=people,dc=example,dc=org' }")
	if err == nil || !strings.Contains(err.Error(), "catalog.providers.ldapOrg.test.users: LDAP search below ou=people,dc=example,dc=org") ||
		!strings.Contains(err.Error(), "set options.paged: true") || !ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) {
		t.Errorf("unpaged search of five people with a limit of three: %v", err)
	}
	for _, paged := range []string{"true", "{ pageSize: 2 }", "{ pageSize: 1, pagePause: true }"} {
		des, _, err := readLDAPOrg(t, base+"users: { dn: 'ou=people,dc=example,dc=org', options: { filter: 'uid=*', paged: "+paged+" } }")
		if err != nil {
			t.Errorf("paged: %s: %v", paged, err)
			continue
		}
		if got := deferredRefs(des); len(got) != 5 {
			t.Errorf("paged: %s: read %v", paged, got)
		}
	}
}

// The map and search options decide what is read: a null attribute turns
// a side of the memberships off (as in Backstage), set values apply
// before the mapped attributes, scope base reads the base entry alone, and
// an entry without a name is left out with a warning rather than failing
// the run.
func TestLDAPOrgMapping(t *testing.T) {
	srv := startSlapd(t, ldapOrgLDIF+`
dn: cn=nameless,ou=groups,dc=example,dc=org
objectClass: groupOfNames
cn: nameless
member: uid=bob,ou=people,dc=example,dc=org
`)
	base := fmt.Sprintf("target: %s\nbind: { dn: '%s', secret: %s }\n", srv.URL, ldapReaderDN, ldapReaderPW)
	des, rec, err := readLDAPOrg(t, base+`
users: { dn: 'ou=people,dc=example,dc=org', options: { paged: true }, map: { memberOf: seeAlso, name: cn, email: null } }
groups:
  - dn: ou=groups,dc=example,dc=org
    options: { filter: '(&(objectClass=groupOfNames)(!(cn=nameless)))' }
    map: { members: null, memberOf: seeAlso }
    set: { metadata.namespace: org, spec.type: department }
  - dn: cn=nameless,ou=groups,dc=example,dc=org
    options: { scope: base }
    map: { name: ou }
vendor: { dnCaseSensitive: true }
`)
	if err != nil {
		t.Fatal(err)
	}
	byRef := map[string]*Entity{}
	for _, d := range des {
		byRef[d.Entity.Ref().String()] = d.Entity
	}
	// Users are named by cn. "Alice Liddell" is stated as it is: names are
	// checked by the catalog's processing, against catalog.validation, as
	// for every other source.
	want := []string{"group:org/platform", "group:org/sre", "group:org/web", "user:default/alice liddell", "user:default/bob", "user:default/carol", "user:default/dave", "user:default/erin"}
	if got := slices.Sorted(func(yield func(string) bool) {
		for r := range byRef {
			if !yield(r) {
				return
			}
		}
	}); !slices.Equal(got, want) {
		t.Errorf("entities = %v, want %v", got, want)
	}
	if !strings.Contains(strings.Join(rec.lines, "\n"), "LDAP entry left out") {
		t.Errorf("no warning about the entries left out: %v", rec.lines)
	}
	if e := byRef["user:default/erin"]; e == nil || !slices.Equal(e.Spec["memberOf"].([]any), []any{"group:org/web"}) {
		t.Errorf("erin = %+v, want her seeAlso group and nothing from members (turned off)", e)
	}
	if e := byRef["user:default/bob"]; e == nil || len(e.Spec["memberOf"].([]any)) != 0 {
		t.Errorf("bob = %+v, want no groups: group members are not read", e)
	}
	if e := byRef["group:org/web"]; e == nil || e.Spec["type"] != "department" || e.Spec["parent"] != "group:org/platform" {
		t.Errorf("web = %+v", e)
	}
	if e := byRef["group:org/sre"]; e == nil || e.Spec["parent"] != nil {
		t.Errorf("sre = %+v, want no parent: platform's members are not read", e)
	}
	if e := byRef["user:default/carol"]; e == nil || e.Spec["profile"].(map[string]any)["email"] != nil {
		t.Errorf("carol = %+v", e)
	}
	if e := byRef["group:org/platform"]; e == nil || e.Metadata.Annotations[AnnotationLDAPDN] != "cn=platform,ou=groups,dc=example,dc=org" {
		t.Errorf("platform = %+v", e)
	}
}

// Active Directory's objectGUID is 16 bytes written in its usual form.
func TestFormatGUID(t *testing.T) {
	b := []byte{0x8a, 0x92, 0xef, 0x76, 0x51, 0xb2, 0x37, 0x10, 0x98, 0x40, 0xd7, 0x82, 0x27, 0xf3, 0x6a, 0x7e}
	if got := formatGUID(b); got != "76ef928a-b251-1037-9840-d78227f36a7e" {
		t.Errorf("formatGUID = %s", got)
	}
}

// An ldapOrg entry without its required keys or with bad values is a
// configuration error naming the key and the fix.
func TestLDAPOrgConfigErrors(t *testing.T) {
	const users = "users: { dn: 'ou=people,dc=example,dc=org' }"
	for _, tc := range []struct {
		yaml, want string
	}{
		{users, "catalog.providers.ldapOrg.corp.target: missing"},
		{"target: http://ldap.example.com\n" + users, `catalog.providers.ldapOrg.corp.target: "http://ldap.example.com" is not an ldap:// or ldaps:// URL`},
		{"target: 'ldap://'\n" + users, "catalog.providers.ldapOrg.corp.target"},
		{"target: ldap://ldap.example.com", "catalog.providers.ldapOrg.corp: neither users nor groups are configured"},
		{"target: ldap://ldap.example.com\nusers: { options: { filter: '(uid=*)' } }", "catalog.providers.ldapOrg.corp.users.dn: missing"},
		{"target: ldap://ldap.example.com\nusers: [{ dn: 'ou=people,dc=example,dc=org' }, { map: { name: uid } }]", "catalog.providers.ldapOrg.corp.users[1].dn: missing"},
		{"target: ldap://ldap.example.com\ngroups: [{ options: {} }]", "catalog.providers.ldapOrg.corp.groups[0].dn: missing"},
		{"target: ldap://ldap.example.com\ngroups: { dn: 'not a dn' }", `catalog.providers.ldapOrg.corp.groups.dn: "not a dn" is not a DN`},
		{"target: ldap://ldap.example.com\nusers: { dn: 'ou=people,dc=example,dc=org', options: { filter: '(uid=*' } }", "catalog.providers.ldapOrg.corp.users.options.filter"},
		{"target: ldap://ldap.example.com\nusers: { dn: 'ou=people,dc=example,dc=org', options: { scope: subtree } }", `catalog.providers.ldapOrg.corp.users.options.scope: "subtree" is not one of base, one or sub`},
		{"target: ldap://ldap.example.com\nusers: { dn: 'ou=people,dc=example,dc=org', options: { paged: { pageSize: -1 } } }", "catalog.providers.ldapOrg.corp.users.options.paged.pageSize: must be a positive number"},
		{"target: ldap://ldap.example.com\nusers: { dn: 'ou=people,dc=example,dc=org', options: { paged: sometimes } }", "catalog.providers.ldapOrg.corp.users.options.paged: expected true or false"},
		{"target: ldap://ldap.example.com\nusers: { dn: 'ou=people,dc=example,dc=org', map: { name: null } }", "catalog.providers.ldapOrg.corp.users.map.name: must name the attribute"},
		{"target: ldap://ldap.example.com\nusers: { dn: 'ou=people,dc=example,dc=org', set: { 'metadata..x': 1 } }", `catalog.providers.ldapOrg.corp.users.set: "metadata..x" is not a field path`},
		{"target: ldap://ldap.example.com\nbind: { secret: x }\n" + users, "catalog.providers.ldapOrg.corp.bind.dn: missing"},
		{"target: ldap://ldap.example.com\nbind: { dn: 'cn=reader,dc=example,dc=org' }\n" + users, "catalog.providers.ldapOrg.corp.bind.secret: missing"},
		{"target: ldaps://ldap.example.com\ntls: { certs: /nonexistent.pem }\n" + users, "catalog.providers.ldapOrg.corp.tls.keys: missing"},
		{"target: ldaps://ldap.example.com\ntls: { certs: /nonexistent.pem, keys: /nonexistent.key }\n" + users, "catalog.providers.ldapOrg.corp.tls: the client certificate (certs) and key (keys) do not load"},
		{"target: ldap://ldap.example.com\nschedule: { frequency: soon }\n" + users, "catalog.providers.ldapOrg.corp.schedule.frequency: expected a duration"},
		{"target: ldap://ldap.example.com\nschedule: { frequency: { milliseconds: 10 } }\n" + users, "catalog.providers.ldapOrg.corp.schedule.frequency: must be at least one second"},
		{"target: ldap://ldap.example.com\nschedule: { timeout: { fortnights: 1 } }\n" + users, "catalog.providers.ldapOrg.corp.schedule.timeout.fortnights: unknown duration unit"},
	} {
		cfg, err := decodeLDAPOrg(t, "corp", tc.yaml)
		if err == nil {
			_, err = newDiscoveries(cfg.Providers, nil, slog.New(&logRecorder{}))
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s:\n got %v\nwant %q", tc.yaml, err, tc.want)
		}
	}

	// The brief's full example is accepted, and names its provider as
	// Backstage does.
	cfg, err := decodeLDAPOrg(t, "default", ldapOrgYAML("ldaps://127.0.0.1:3890", "x"))
	if err != nil {
		t.Fatal(err)
	}
	ps, err := newDiscoveries(cfg.Providers, nil, slog.New(&logRecorder{}))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 1 || ps[0].Name() != "LdapOrgEntityProvider:default" {
		t.Errorf("providers = %v", ps)
	}
}

// A directory that cannot be reached fails the run with the target's key.
func TestLDAPOrgUnreachable(t *testing.T) {
	port := freePort(t) // nothing listens there any more
	_, _, err := readLDAPOrg(t, fmt.Sprintf("target: ldap://127.0.0.1:%d\nusers: { dn: 'ou=people,dc=example,dc=org' }", port))
	if err == nil || !strings.Contains(err.Error(), "catalog.providers.ldapOrg.test.target: cannot connect to ldap://127.0.0.1:") {
		t.Errorf("unreachable directory: %v", err)
	}
}

// An ldaps:// target is verified against the system's roots unless
// tls.rejectUnauthorized is false, and presents the client certificate of
// tls.certs and tls.keys to a directory that demands one.
func TestLDAPOrgTLS(t *testing.T) {
	certs := newSlapdTLS(t, true)
	srv := startSlapdWith(t, ldapOrgLDIF, certs)
	base := fmt.Sprintf("target: %s\nbind: { dn: '%s', secret: %s }\nusers: { dn: 'ou=people,dc=example,dc=org', options: { paged: true } }\n", srv.URL, ldapReaderDN, ldapReaderPW)
	client := fmt.Sprintf("certs: %s, keys: %s", certs.file("client.pem"), certs.file("client.key"))

	_, _, err := readLDAPOrg(t, base+"tls: { "+client+" }")
	if err == nil || !strings.Contains(err.Error(), "catalog.providers.ldapOrg.test.target: cannot connect to "+srv.URL) ||
		!strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Errorf("a server certificate of an unknown CA: %v", err)
	}
	if _, _, err := readLDAPOrg(t, base+"tls: { rejectUnauthorized: false }"); err == nil || !strings.Contains(err.Error(), "give tls.certs and tls.keys") {
		t.Errorf("the directory demands a client certificate, and none is given: %v", err)
	}
	des, _, err := readLDAPOrg(t, base+"tls: { rejectUnauthorized: false, "+client+" }")
	if err != nil {
		t.Fatal(err)
	}
	if got := deferredRefs(des); len(got) != 5 {
		t.Errorf("read over ldaps:// %v", got)
	}
}
