package catalog

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"github.com/portico-dev/portico/internal/config"
)

// Annotations of the entities the ldapOrg provider states, as Backstage's
// LDAP module names them: the entry's relative and full distinguished
// names and its unique id.
const (
	AnnotationLDAPRDN  = "backstage.io/ldap-rdn"
	AnnotationLDAPDN   = "backstage.io/ldap-dn"
	AnnotationLDAPUUID = "backstage.io/ldap-uuid"
)

// LDAPOrgConfig is catalog.providers.ldapOrg.<id>: the users and groups
// of an LDAP directory become User and Group entities, as Backstage's
// LDAP module (LdapOrgEntityProvider) makes them.
type LDAPOrgConfig struct {
	// Target is the server's URL, ldap://host[:port] or ldaps://host[:port].
	Target string `yaml:"target"`
	// Bind is who the provider binds as; without it, it reads anonymously.
	Bind *LDAPBindConfig `yaml:"bind"`
	TLS  LDAPTLSConfig   `yaml:"tls"`
	// Users and Groups are where users and groups are searched for; each
	// is a list of searches, or one written as an object.
	Users  listOrObject[LDAPUserConfig]  `yaml:"users"`
	Groups listOrObject[LDAPGroupConfig] `yaml:"groups"`
	// Vendor overrides the attributes that hold an entry's DN and unique
	// id, which otherwise follow the server (detected from its root DSE).
	Vendor   LDAPVendorConfig  `yaml:"vendor"`
	Schedule discoverySchedule `yaml:"schedule"`
}

// LDAPBindConfig is the bind of an ldapOrg provider.
type LDAPBindConfig struct {
	DN     string `yaml:"dn"`
	Secret string `yaml:"secret"`
}

// LDAPTLSConfig is the TLS of an ldaps:// target.
type LDAPTLSConfig struct {
	// RejectUnauthorized, default true, refuses a server certificate the
	// system's roots do not vouch for.
	RejectUnauthorized *bool `yaml:"rejectUnauthorized"`
	// Certs and Keys are PEM files of a client certificate chain and its
	// private key, for servers that ask for one.
	Certs string `yaml:"certs"`
	Keys  string `yaml:"keys"`
}

// LDAPVendorConfig is the vendor of an ldapOrg provider.
type LDAPVendorConfig struct {
	DNAttributeName   string `yaml:"dnAttributeName"`
	UUIDAttributeName string `yaml:"uuidAttributeName"`
	// DNCaseSensitive lower-cases the DN annotation (DNs are matched
	// without regard to case either way).
	DNCaseSensitive bool `yaml:"dnCaseSensitive"`
}

// LDAPSearchOptions are the options of a users or groups search.
type LDAPSearchOptions struct {
	// Scope is base, one (the default) or sub.
	Scope string `yaml:"scope"`
	// Filter is an LDAP filter; default (objectClass=*).
	Filter string `yaml:"filter"`
	// Attributes are the attributes read; default * and + (every user
	// and operational attribute, which holds entryDN and entryUUID).
	Attributes   ldapStrings `yaml:"attributes"`
	SizeLimit    int         `yaml:"sizeLimit"`
	TimeLimit    int         `yaml:"timeLimit"`
	DerefAliases int         `yaml:"derefAliases"`
	TypesOnly    bool        `yaml:"typesOnly"`
	// Paged reads the results in pages (true, or {pageSize}), which
	// directories with a size limit need.
	Paged ldapPaging `yaml:"paged"`
}

// LDAPUserConfig is a users search of an ldapOrg provider.
type LDAPUserConfig struct {
	// DN is the base of the search.
	DN      string            `yaml:"dn"`
	Options LDAPSearchOptions `yaml:"options"`
	// Set gives entity fields (on a.b.c paths) fixed values.
	Set map[string]any `yaml:"set"`
	Map LDAPUserMap    `yaml:"map"`
}

// LDAPUserMap names the attributes that fill a User's fields. An
// attribute set to null is not read.
type LDAPUserMap struct {
	RDN         ldapAttribute `yaml:"rdn"`
	Name        ldapAttribute `yaml:"name"`
	Description ldapAttribute `yaml:"description"`
	DisplayName ldapAttribute `yaml:"displayName"`
	Email       ldapAttribute `yaml:"email"`
	Picture     ldapAttribute `yaml:"picture"`
	MemberOf    ldapAttribute `yaml:"memberOf"`
}

// LDAPGroupConfig is a groups search of an ldapOrg provider.
type LDAPGroupConfig struct {
	DN      string            `yaml:"dn"`
	Options LDAPSearchOptions `yaml:"options"`
	Set     map[string]any    `yaml:"set"`
	Map     LDAPGroupMap      `yaml:"map"`
}

// LDAPGroupMap names the attributes that fill a Group's fields.
type LDAPGroupMap struct {
	RDN         ldapAttribute `yaml:"rdn"`
	Name        ldapAttribute `yaml:"name"`
	Description ldapAttribute `yaml:"description"`
	Type        ldapAttribute `yaml:"type"`
	DisplayName ldapAttribute `yaml:"displayName"`
	Email       ldapAttribute `yaml:"email"`
	Picture     ldapAttribute `yaml:"picture"`
	MemberOf    ldapAttribute `yaml:"memberOf"`
	Members     ldapAttribute `yaml:"members"`
}

// ldapAttribute is an attribute name of a map: absent means the default,
// null means none (Backstage turns a side of the memberships off so).
type ldapAttribute struct {
	given bool
	name  string
}

// UnmarshalConfig reads an attribute name or null.
func (a *ldapAttribute) UnmarshalConfig(v config.Value) error {
	a.given = true
	if v.Plain() == nil {
		return nil
	}
	return v.Decode(&a.name)
}

// or is the attribute, or def when the map did not name one.
func (a ldapAttribute) or(def string) string {
	if a.given {
		return a.name
	}
	return def
}

// ldapStrings is a string or a list of strings.
type ldapStrings []string

// UnmarshalConfig reads a string or a list of strings.
func (s *ldapStrings) UnmarshalConfig(v config.Value) error {
	if v.IsString() {
		var one string
		err := v.Decode(&one)
		*s = ldapStrings{one}
		return err
	}
	var list []string
	err := v.Decode(&list)
	*s = list
	return err
}

// ldapPaging is options.paged: a boolean or {pageSize, pagePause}.
type ldapPaging struct {
	on   bool
	size int
}

// UnmarshalConfig reads true/false or {pageSize, pagePause}.
func (p *ldapPaging) UnmarshalConfig(v config.Value) error {
	if !v.IsMap() {
		return v.Decode(&p.on)
	}
	var o struct {
		PageSize  int  `yaml:"pageSize"`
		PagePause bool `yaml:"pagePause"` // pages are always read one after the other
	}
	if err := v.Decode(&o); err != nil {
		return err
	}
	if o.PageSize < 0 {
		return v.Field("pageSize").Errorf("must be a positive number of entries")
	}
	p.on, p.size = true, o.PageSize
	return nil
}

// Limits of the ldapOrg provider's reads.
const (
	// ldapDefaultPageSize is the page size of paged: true; Active
	// Directory serves at most 1000 entries a page by default.
	ldapDefaultPageSize = 500
	ldapDialTimeout     = 30 * time.Second
	// ldapRequestTimeout bounds each request when the schedule sets no
	// timeout, so a server that stops answering does not stall the
	// provider for good.
	ldapRequestTimeout = 5 * time.Minute
)

// newLDAPOrgProviders checks catalog.providers.ldapOrg and builds its
// providers.
func newLDAPOrgProviders(cfg map[string]LDAPOrgConfig, log *slog.Logger) ([]EntityProvider, error) {
	var out []EntityProvider
	for _, id := range sortedKeys(cfg) {
		d, err := newLDAPOrgProvider(id, cfg[id], log)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func newLDAPOrgProvider(id string, c LDAPOrgConfig, log *slog.Logger) (*discovery, error) {
	key := "catalog.providers.ldapOrg." + id
	r, err := newLDAPOrgReader(key, id, c)
	if err != nil {
		return nil, err
	}
	d := newDiscovery("LdapOrgEntityProvider:"+id, key, c.Schedule, log)
	r.log = log.With("provider", d.name)
	d.entities = r.read
	return d, nil
}

// ldapOrgReader reads one directory's users and groups as entities.
type ldapOrgReader struct {
	id, key     string
	target      string
	bind        *LDAPBindConfig
	tls         *tls.Config
	vendor      LDAPVendorConfig
	users       []ldapSearch
	groups      []ldapSearch
	locationKey string
	log         *slog.Logger
}

// ldapSearch is one configured users or groups search, checked.
type ldapSearch struct {
	key      string
	base     string
	scope    int
	filter   string
	attrs    []string
	size     int
	time     int
	deref    int
	types    bool
	pageSize uint32 // 0: not paged
	set      map[string]any
	// attribute names of the entity fields ("" reads nothing)
	rdn, name, description, displayName, email, picture, typ, memberOf, members string
}

// ldapFilterSpace is whitespace around parentheses, which Backstage drops
// so that filters may be written over several lines.
var ldapFilterSpace = regexp.MustCompile(`\s*([()])`)

func newLDAPOrgReader(key, id string, c LDAPOrgConfig) (*ldapOrgReader, error) {
	target := strings.TrimRight(strings.TrimSpace(c.Target), "/")
	if target == "" {
		return nil, fmt.Errorf("%s.target: missing; give the directory's URL, such as ldaps://ldap.example.com", key)
	}
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "ldap" && u.Scheme != "ldaps") || u.Host == "" {
		return nil, fmt.Errorf("%s.target: %q is not an ldap:// or ldaps:// URL such as ldaps://ldap.example.com", key, c.Target)
	}
	r := &ldapOrgReader{id: id, key: key, target: target, vendor: c.Vendor, locationKey: "ldap-org-provider:" + id}
	if c.Bind != nil {
		if c.Bind.DN == "" {
			return nil, fmt.Errorf("%s.bind.dn: missing; give the DN to bind as, or leave bind out to read anonymously", key)
		}
		if _, err := ldap.ParseDN(c.Bind.DN); err != nil {
			return nil, fmt.Errorf("%s.bind.dn: %q is not a DN: %w", key, c.Bind.DN, err)
		}
		if c.Bind.Secret == "" {
			return nil, fmt.Errorf("%s.bind.secret: missing; give the password of %s (e.g. secret: ${LDAP_SECRET})", key, c.Bind.DN)
		}
		r.bind = c.Bind
	}
	if r.tls, err = ldapTLS(key, u.Hostname(), c.TLS); err != nil {
		return nil, err
	}
	if len(c.Users.Entries) == 0 && len(c.Groups.Entries) == 0 {
		return nil, fmt.Errorf("%s: neither users nor groups are configured; give users.dn and groups.dn", key)
	}
	for i, uc := range c.Users.Entries {
		m := uc.Map
		s := ldapSearch{
			rdn: m.RDN.or("uid"), name: m.Name.or("uid"), description: m.Description.or(""),
			displayName: m.DisplayName.or("cn"), email: m.Email.or("mail"), picture: m.Picture.or(""),
			memberOf: m.MemberOf.or("memberOf"),
		}
		if err := s.check(c.Users.key(key+".users", i), uc.DN, uc.Options, uc.Set); err != nil {
			return nil, err
		}
		r.users = append(r.users, s)
	}
	for i, gc := range c.Groups.Entries {
		m := gc.Map
		s := ldapSearch{
			rdn: m.RDN.or("cn"), name: m.Name.or("cn"), description: m.Description.or("description"),
			typ: m.Type.or("groupType"), displayName: m.DisplayName.or("cn"), email: m.Email.or(""),
			picture: m.Picture.or(""), memberOf: m.MemberOf.or("memberOf"), members: m.Members.or("member"),
		}
		if err := s.check(c.Groups.key(key+".groups", i), gc.DN, gc.Options, gc.Set); err != nil {
			return nil, err
		}
		r.groups = append(r.groups, s)
	}
	return r, nil
}

// check fills in a search from its configuration at key, with Backstage's
// defaults, and reports what is wrong with it.
func (s *ldapSearch) check(key, dn string, o LDAPSearchOptions, set map[string]any) error {
	s.key, s.base, s.set = key, strings.TrimSpace(dn), set
	if s.base == "" {
		return fmt.Errorf("%s.dn: missing; give the DN the entries are searched below, such as ou=people,dc=example,dc=org", key)
	}
	if _, err := ldap.ParseDN(s.base); err != nil {
		return fmt.Errorf("%s.dn: %q is not a DN: %w", key, dn, err)
	}
	if s.name == "" {
		return fmt.Errorf("%s.map.name: must name the attribute that gives entities their names", key)
	}
	switch o.Scope {
	case "", "one":
		s.scope = ldap.ScopeSingleLevel
	case "sub":
		s.scope = ldap.ScopeWholeSubtree
	case "base":
		s.scope = ldap.ScopeBaseObject
	default:
		return fmt.Errorf("%s.options.scope: %q is not one of base, one or sub", key, o.Scope)
	}
	s.filter = strings.TrimSpace(ldapFilterSpace.ReplaceAllString(o.Filter, "$1"))
	switch {
	case s.filter == "":
		s.filter = "(objectClass=*)"
	case !strings.HasPrefix(s.filter, "("):
		s.filter = "(" + s.filter + ")" // uid=* stands for (uid=*), as in ldapjs
	}
	if _, err := ldap.CompileFilter(s.filter); err != nil {
		return fmt.Errorf("%s.options.filter: %q is not an LDAP filter: %w", key, o.Filter, err)
	}
	s.attrs = o.Attributes
	if len(s.attrs) == 0 {
		s.attrs = []string{"*", "+"}
	}
	if o.SizeLimit < 0 || o.TimeLimit < 0 {
		return fmt.Errorf("%s.options: sizeLimit and timeLimit must not be negative", key)
	}
	if o.DerefAliases < 0 || o.DerefAliases > 3 {
		return fmt.Errorf("%s.options.derefAliases: %d is not 0 (never), 1 (searching), 2 (finding) or 3 (always)", key, o.DerefAliases)
	}
	s.size, s.time, s.deref, s.types = o.SizeLimit, o.TimeLimit, o.DerefAliases, o.TypesOnly
	if o.Paged.on {
		s.pageSize = ldapDefaultPageSize
		if o.Paged.size > 0 {
			s.pageSize = uint32(o.Paged.size)
		}
	}
	for path := range set {
		if path == "" || slices.Contains(strings.Split(path, "."), "") {
			return fmt.Errorf("%s.set: %q is not a field path such as metadata.namespace", key, path)
		}
	}
	return nil
}

// ldapTLS is the TLS configuration of an ldaps:// target (and of StartTLS,
// should it be added).
func ldapTLS(key, host string, c LDAPTLSConfig) (*tls.Config, error) {
	t := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if c.RejectUnauthorized != nil && !*c.RejectUnauthorized {
		t.InsecureSkipVerify = true // the configuration asks for it, as Node's rejectUnauthorized: false
	}
	switch {
	case c.Certs != "" && c.Keys != "":
		pair, err := tls.LoadX509KeyPair(c.Certs, c.Keys)
		if err != nil {
			return nil, fmt.Errorf("%s.tls: the client certificate (certs) and key (keys) do not load: %w", key, err)
		}
		t.Certificates = []tls.Certificate{pair}
	case c.Certs != "":
		return nil, fmt.Errorf("%s.tls.keys: missing; a client certificate (certs) needs its private key", key)
	case c.Keys != "":
		return nil, fmt.Errorf("%s.tls.certs: missing; a private key (keys) needs its client certificate", key)
	}
	return t, nil
}

// ldapVendor is how a directory names an entry's DN and unique id.
type ldapVendor struct {
	name      string
	dnAttr    string
	uuidAttr  string
	guidBytes bool // Active Directory's objectGUID is 16 raw bytes
}

// read binds, searches for the users and groups, and turns them into
// entities with their relations resolved. Any failure fails the whole read,
// so the last good set stays.
func (r *ldapOrgReader) read(ctx context.Context) ([]DeferredEntity, error) {
	start := time.Now()
	conn, err := r.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// Closing the connection is what stops a request in flight.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	vendor := r.detectVendor(conn)
	var users, groups []*ldapItem
	for _, s := range r.users {
		items, err := r.search(ctx, conn, s, "User", vendor)
		if err != nil {
			return nil, err
		}
		users = append(users, items...)
	}
	for _, s := range r.groups {
		items, err := r.search(ctx, conn, s, "Group", vendor)
		if err != nil {
			return nil, err
		}
		groups = append(groups, items...)
	}
	users, groups = r.dedupe(users), r.dedupe(groups)
	resolveLDAPRelations(users, groups)

	var des []DeferredEntity
	nUsers, nGroups := 0, 0
	for _, it := range append(users, groups...) {
		e, err := r.entity(it)
		if err != nil {
			r.log.WarnContext(ctx, "LDAP entry left out: it does not make a valid entity", "dn", it.rawDN, "err", err)
			continue
		}
		if e.Kind == "User" {
			nUsers++
		} else {
			nGroups++
		}
		des = append(des, DeferredEntity{Entity: e, LocationKey: r.locationKey})
	}
	r.log.InfoContext(ctx, "LDAP users and groups read", "target", r.target, "vendor", vendor.name,
		"users", nUsers, "groups", nGroups, "duration", time.Since(start).Round(time.Millisecond))
	return des, nil
}

// connect dials the target and binds.
func (r *ldapOrgReader) connect(ctx context.Context) (*ldap.Conn, error) {
	dialer := &net.Dialer{Timeout: ldapDialTimeout}
	if dl, ok := ctx.Deadline(); ok {
		dialer.Deadline = dl
	}
	conn, err := ldap.DialURL(r.target, ldap.DialWithDialer(dialer), ldap.DialWithTLSConfig(r.tls))
	if err != nil {
		return nil, fmt.Errorf("%s.target: cannot connect to %s: %w", r.key, r.target, err)
	}
	timeout := ldapRequestTimeout
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	conn.SetTimeout(timeout)
	if r.bind != nil {
		if err := conn.Bind(r.bind.DN, r.bind.Secret); err != nil {
			conn.Close()
			if ldap.IsErrorWithCode(err, ldap.LDAPResultInvalidCredentials) {
				return nil, fmt.Errorf("%s.bind: the directory refused the bind as %s (check bind.dn and bind.secret): %w", r.key, r.bind.DN, err)
			}
			hint := ""
			var lerr *ldap.Error
			dropped := !errors.As(err, &lerr) || lerr.ResultCode == ldap.ErrorNetwork
			if dropped && strings.HasPrefix(r.target, "ldaps:") && len(r.tls.Certificates) == 0 {
				// With TLS 1.3 a server refuses a missing client
				// certificate after the handshake, so it shows here.
				hint = " (the directory closed the connection; if it demands a client certificate, give tls.certs and tls.keys)"
			}
			return nil, fmt.Errorf("%s.bind: binding as %s failed%s: %w", r.key, r.bind.DN, hint, err)
		}
	}
	return conn, nil
}

// detectVendor tells the directory's kind from its root DSE, as Backstage
// does, and applies the vendor overrides of the configuration.
func (r *ldapOrgReader) detectVendor(conn *ldap.Conn) ldapVendor {
	v := ldapVendor{name: "default", dnAttr: "entryDN", uuidAttr: "entryUUID"}
	if r.vendor.DNAttributeName == "" || r.vendor.UUIDAttributeName == "" {
		req := ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)",
			[]string{"*", "+", "forestFunctionality", "ipaDomainLevel", "aeRoot", "vendorName"}, nil)
		res, err := conn.Search(req)
		switch {
		case err != nil || len(res.Entries) != 1:
			r.log.Warn("the directory's root DSE could not be read; its entries are taken to have entryDN and entryUUID", "err", err)
		case res.Entries[0].GetEqualFoldAttributeValue("forestFunctionality") != "":
			v = ldapVendor{name: "activeDirectory", dnAttr: "distinguishedName", uuidAttr: "objectGUID", guidBytes: true}
		case res.Entries[0].GetEqualFoldAttributeValue("ipaDomainLevel") != "":
			v = ldapVendor{name: "freeIPA", dnAttr: "dn", uuidAttr: "ipaUniqueID"}
		case slices.ContainsFunc(res.Entries[0].Attributes, func(a *ldap.EntryAttribute) bool { return strings.EqualFold(a.Name, "aeRoot") }):
			v = ldapVendor{name: "aeDir", dnAttr: "dn", uuidAttr: "entryUUID"}
		case res.Entries[0].GetEqualFoldAttributeValue("vendorName") == "LLDAP":
			v = ldapVendor{name: "lldap", dnAttr: "dn", uuidAttr: "entryUUID"}
		}
	}
	if r.vendor.DNAttributeName != "" {
		v.dnAttr = r.vendor.DNAttributeName
	}
	if r.vendor.UUIDAttributeName != "" {
		v.guidBytes = v.guidBytes && strings.EqualFold(r.vendor.UUIDAttributeName, v.uuidAttr)
		v.uuidAttr = r.vendor.UUIDAttributeName
	}
	return v
}

// ldapItem is an entry on its way to becoming an entity.
type ldapItem struct {
	doc          map[string]any
	kind         string
	ref          string // kind:namespace/name, as spec fields name entities
	rawDN, dnKey string // the DN as given, and its normalized form
	dnAnnotation string
	rdn, uuid    string
	// memberOf and members are the references the entry's attributes
	// hold: DNs, or UUIDs, RDNs or entity refs.
	memberOf, members []string
	// resolved relations, by entity ref
	userMemberOf, parents, children []string
}

// search runs one configured search and turns its entries into items.
func (r *ldapOrgReader) search(ctx context.Context, conn *ldap.Conn, s ldapSearch, kind string, v ldapVendor) ([]*ldapItem, error) {
	req := ldap.NewSearchRequest(s.base, s.scope, s.deref, s.size, s.time, s.types, s.filter, s.attrs, nil)
	var res *ldap.SearchResult
	var err error
	if s.pageSize > 0 {
		res, err = conn.SearchWithPaging(req, s.pageSize)
	} else {
		res, err = conn.Search(req)
	}
	if ctx.Err() != nil {
		return nil, fmt.Errorf("%s: LDAP search below %s stopped: %w", s.key, s.base, ctx.Err())
	}
	if err != nil {
		hint := ""
		if ldap.IsErrorWithCode(err, ldap.LDAPResultSizeLimitExceeded) && s.pageSize == 0 {
			hint = " (the directory limits how many entries a search returns; set options.paged: true)"
		}
		return nil, fmt.Errorf("%s: LDAP search below %s with filter %s failed%s: %w", s.key, s.base, s.filter, hint, err)
	}
	if len(res.Referrals) > 0 {
		r.log.WarnContext(ctx, "LDAP search referrals are not followed", "search", s.key, "referrals", res.Referrals)
	}
	items := make([]*ldapItem, 0, len(res.Entries))
	for _, entry := range res.Entries {
		it, err := r.item(s, kind, v, entry)
		if err != nil {
			r.log.WarnContext(ctx, "LDAP entry left out", "search", s.key, "dn", entry.DN, "err", err)
			continue
		}
		items = append(items, it)
	}
	return items, nil
}

// item maps an entry's attributes onto an entity document: the search's
// set values first, then the mapped attributes over them.
func (r *ldapOrgReader) item(s ldapSearch, kind string, v ldapVendor, entry *ldap.Entry) (*ldapItem, error) {
	spec := map[string]any{"profile": map[string]any{}}
	if kind == "User" {
		spec["memberOf"] = []any{}
	} else {
		spec["type"] = "unknown"
		spec["children"] = []any{}
	}
	doc := map[string]any{
		"apiVersion": APIVersionV1beta1,
		"kind":       kind,
		"metadata":   map[string]any{"name": "", "annotations": map[string]any{}},
		"spec":       spec,
	}
	for _, path := range sortedKeys(s.set) {
		setPath(doc, strings.Split(path, "."), cloneValue(s.set[path]))
	}
	single := func(attr string) string {
		if attr == "" {
			return ""
		}
		// As Backstage, only a single-valued attribute fills a field.
		if vs := ldapValues(entry, attr, v); len(vs) == 1 {
			return vs[0]
		}
		return ""
	}
	put := func(value string, path ...string) {
		if value != "" {
			setPath(doc, path, value)
		}
	}
	it := &ldapItem{doc: doc, kind: kind, rdn: single(s.rdn), uuid: single(v.uuidAttr)}
	it.rawDN = single(v.dnAttr)
	if it.rawDN == "" {
		it.rawDN = entry.DN
	}
	it.dnKey = ldapDNKey(it.rawDN)
	it.dnAnnotation = it.rawDN
	if r.vendor.DNCaseSensitive {
		it.dnAnnotation = strings.ToLower(it.rawDN)
	}
	put(single(s.name), "metadata", "name")
	put(single(s.description), "metadata", "description")
	put(it.rdn, "metadata", "annotations", AnnotationLDAPRDN)
	put(it.uuid, "metadata", "annotations", AnnotationLDAPUUID)
	put(it.dnAnnotation, "metadata", "annotations", AnnotationLDAPDN)
	put(single(s.typ), "spec", "type")
	put(single(s.displayName), "spec", "profile", "displayName")
	put(single(s.email), "spec", "profile", "email")
	put(single(s.picture), "spec", "profile", "picture")
	if s.memberOf != "" {
		it.memberOf = ldapValues(entry, s.memberOf, v)
	}
	if s.members != "" {
		it.members = ldapValues(entry, s.members, v)
	}
	md, _ := doc["metadata"].(map[string]any)
	name, _ := md["name"].(string)
	if name == "" {
		return nil, fmt.Errorf("it has no single-valued %s attribute to name the entity (%s.map.name)", s.name, s.key)
	}
	ns, _ := md["namespace"].(string)
	if ns == "" {
		ns = DefaultNamespace
	}
	it.ref = strings.ToLower(kind) + ":" + ns + "/" + name
	return it, nil
}

// ldapValues reads an attribute's values as strings; "dn" is the entry's
// DN, and Active Directory's binary GUIDs are spelled out.
func ldapValues(entry *ldap.Entry, attr string, v ldapVendor) []string {
	if strings.EqualFold(attr, "dn") {
		return []string{entry.DN}
	}
	if v.guidBytes && strings.EqualFold(attr, v.uuidAttr) {
		var out []string
		for _, raw := range entry.GetEqualFoldRawAttributeValues(attr) {
			out = append(out, formatGUID(raw))
		}
		return out
	}
	return entry.GetEqualFoldAttributeValues(attr)
}

// formatGUID writes Active Directory's objectGUID (16 bytes, the first
// three groups little-endian) in its usual text form.
func formatGUID(b []byte) string {
	if len(b) != 16 {
		return hex.EncodeToString(b)
	}
	order := []int{3, 2, 1, 0, -1, 5, 4, -1, 7, 6, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15}
	var sb strings.Builder
	for _, i := range order {
		if i < 0 {
			sb.WriteByte('-')
			continue
		}
		sb.WriteString(hex.EncodeToString(b[i : i+1]))
	}
	return sb.String()
}

// ldapDNKey is a DN in a form that compares equal for equal DNs: attribute
// types and values without regard to case or spacing (the attributes DNs
// are made of, cn, uid, ou, dc, compare so). A value that does not parse
// is compared as written, without regard to case.
func ldapDNKey(dn string) string {
	if p, err := ldap.ParseDN(dn); err == nil {
		return strings.ToLower(p.String())
	}
	return strings.ToLower(strings.TrimSpace(dn))
}

// setPath sets a value at a path of nested objects, making (or replacing)
// the objects on the way, as lodash's set does for Backstage's set option.
func setPath(doc map[string]any, path []string, value any) {
	m := doc
	for _, k := range path[:len(path)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[path[len(path)-1]] = value
}

// dedupe keeps the first item of each entity ref; two entries that would
// make the same entity cannot both be stated.
func (r *ldapOrgReader) dedupe(items []*ldapItem) []*ldapItem {
	seen := map[string]string{}
	out := items[:0]
	for _, it := range items {
		k := strings.ToLower(it.ref)
		if first, ok := seen[k]; ok {
			r.log.Warn("LDAP entry left out: another entry makes the same entity", "entity", it.ref, "dn", it.rawDN, "first", first)
			continue
		}
		seen[k] = it.rawDN
		out = append(out, it)
	}
	return out
}

// ldapIndex finds items by what an LDAP reference may hold: a DN, a
// unique id, an RDN value or an entity ref.
type ldapIndex struct {
	byDN    map[string]*ldapItem
	byOther map[string]*ldapItem
}

func newLDAPIndex(items []*ldapItem) ldapIndex {
	x := ldapIndex{byDN: map[string]*ldapItem{}, byOther: map[string]*ldapItem{}}
	for _, it := range items {
		x.byDN[it.dnKey] = it
		for _, k := range []string{it.ref, it.rdn, it.uuid} {
			if k != "" {
				x.byOther[k] = it
			}
		}
	}
	return x
}

func (x ldapIndex) find(ref string) *ldapItem {
	if it, ok := x.byDN[ldapDNKey(ref)]; ok {
		return it
	}
	return x.byOther[ref]
}

// resolveLDAPRelations turns the references of users and groups into
// memberships, parents and children, the way Backstage's LDAP module does:
// a user's memberOf and a group's members both make memberships, a
// group's memberOf and a group among a group's members both make the
// parent/child link; a group gets a parent only when it has exactly one.
func resolveLDAPRelations(users, groups []*ldapItem) {
	userIndex, groupIndex := newLDAPIndex(users), newLDAPIndex(groups)
	add := func(list *[]string, ref string) {
		if !slices.Contains(*list, ref) {
			*list = append(*list, ref)
		}
	}
	link := func(child, parent *ldapItem) {
		add(&child.parents, parent.ref)
		add(&parent.children, child.ref)
	}
	for _, u := range users {
		for _, ref := range u.memberOf {
			if g := groupIndex.find(ref); g != nil {
				add(&u.userMemberOf, g.ref)
			}
		}
	}
	for _, g := range groups {
		for _, ref := range g.memberOf {
			if p := groupIndex.find(ref); p != nil {
				link(g, p)
			}
		}
		for _, ref := range g.members {
			if u := userIndex.find(ref); u != nil {
				add(&u.userMemberOf, g.ref)
			} else if c := groupIndex.find(ref); c != nil {
				link(c, g)
			}
		}
	}
	for _, it := range users {
		slices.Sort(it.userMemberOf)
		if spec, ok := it.doc["spec"].(map[string]any); ok {
			spec["memberOf"] = anys(it.userMemberOf)
		}
	}
	parent := map[string]string{}
	for _, g := range groups {
		if len(g.parents) == 1 {
			parent[g.ref] = g.parents[0]
		}
	}
	// A group with several parents still gets one: the first group, in
	// the order read, that lists it as a child (Backstage's hierarchy
	// pass does the same).
	for _, g := range groups {
		for _, c := range g.children {
			if _, ok := parent[c]; !ok {
				parent[c] = g.ref
			}
		}
	}
	for _, g := range groups {
		slices.Sort(g.children)
		spec, ok := g.doc["spec"].(map[string]any)
		if !ok {
			continue
		}
		spec["children"] = anys(g.children)
		if p, ok := parent[g.ref]; ok {
			spec["parent"] = p
		}
	}
}

// encodeURIComponent escapes a DN for the location annotation as
// JavaScript's encodeURIComponent does, so locations read as Backstage's.
func encodeURIComponent(s string) string {
	return strings.NewReplacer("+", "%20", "%21", "!", "%27", "'", "%28", "(", "%29", ")", "%2A", "*").Replace(url.QueryEscape(s))
}

// entity finishes an item: its location annotations (unless the set
// option gave them), then the entity as the catalog decodes documents.
func (r *ldapOrgReader) entity(it *ldapItem) (*Entity, error) {
	location := "ldap://" + r.id + "/" + encodeURIComponent(it.dnAnnotation)
	md, ok := it.doc["metadata"].(map[string]any)
	if !ok {
		return nil, fmt.Errorf("metadata must be an object")
	}
	annotations, ok := md["annotations"].(map[string]any)
	if !ok {
		annotations = map[string]any{}
		md["annotations"] = annotations
	}
	for _, a := range []string{AnnotationManagedByLocation, AnnotationManagedByOriginLocation} {
		if _, ok := annotations[a]; !ok {
			annotations[a] = location
		}
	}
	// A round trip through JSON gives the set option's values the types
	// decoded documents have (json.Number, []any).
	body, err := json.Marshal(it.doc)
	if err != nil {
		return nil, err
	}
	var doc any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	e, err := DecodeEntity(doc)
	if err != nil {
		return nil, err
	}
	if err := SchemaValidPolicy(e); err != nil {
		return nil, err
	}
	return e, nil
}
