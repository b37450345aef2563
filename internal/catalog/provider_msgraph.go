package catalog

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/config"
	"github.com/portico-dev/portico/internal/integrations"
)

// Annotations of the entities the microsoftGraphOrg provider states, as
// Backstage's msgraph module names them: the Graph object ids of users,
// groups and the tenant (the root group), and a user's e-mail address.
const (
	AnnotationMSGraphUserID   = "graph.microsoft.com/user-id"
	AnnotationMSGraphGroupID  = "graph.microsoft.com/group-id"
	AnnotationMSGraphTenantID = "graph.microsoft.com/tenant-id"
	AnnotationMicrosoftEmail  = "microsoft.com/email"
)

// MSGraphOrgConfig is catalog.providers.microsoftGraphOrg.<id>: the users
// and groups of a Microsoft Entra ID tenant, read through Microsoft Graph,
// become User and Group entities, as Backstage's msgraph module
// (MicrosoftGraphOrgEntityProvider) makes them.
type MSGraphOrgConfig struct {
	// Target is Graph's base URL; default https://graph.microsoft.com/v1.0.
	Target string `yaml:"target"`
	// Authority is the identity platform; default
	// https://login.microsoftonline.com.
	Authority string `yaml:"authority"`
	TenantID  string `yaml:"tenantId"`
	// ClientID and ClientSecret are an app registration's credentials; it
	// needs Graph application permissions to read users, groups and their
	// members (User.Read.All, Group.Read.All, GroupMember.Read.All).
	ClientID     string `yaml:"clientId"`
	ClientSecret string `yaml:"clientSecret"`
	// QueryMode is basic (the default) or advanced: advanced queries send
	// ConsistencyLevel: eventual and $count, which some filters need
	// ($search always uses them).
	QueryMode       string                       `yaml:"queryMode"`
	User            MSGraphUserConfig            `yaml:"user"`
	UserGroupMember MSGraphUserGroupMemberConfig `yaml:"userGroupMember"`
	Group           MSGraphGroupConfig           `yaml:"group"`
	Schedule        discoverySchedule            `yaml:"schedule"`
}

// MSGraphUserConfig selects the users read.
type MSGraphUserConfig struct {
	// Filter is an OData $filter, such as accountEnabled eq true.
	Filter string `yaml:"filter"`
	// Expand is an OData $expand, such as manager.
	Expand string `yaml:"expand"`
	// Select lists the properties read (id, displayName and mail or
	// userPrincipalName are needed to make a User).
	Select []string `yaml:"select"`
	// LoadPhotos, default true, reads each user's photo (at most 120
	// pixels high) into spec.profile.picture as a data URL.
	LoadPhotos *bool `yaml:"loadPhotos"`
}

// MSGraphUserGroupMemberConfig, when set, reads the users who are members
// of the groups it selects instead of all users.
type MSGraphUserGroupMemberConfig struct {
	Filter string `yaml:"filter"`
	// Search is an OData $search, such as '"displayName:-team"'.
	Search string `yaml:"search"`
}

// MSGraphGroupConfig selects the groups read.
type MSGraphGroupConfig struct {
	Filter string   `yaml:"filter"`
	Search string   `yaml:"search"`
	Expand string   `yaml:"expand"`
	Select []string `yaml:"select"`
	// IncludeSubGroups also reads the groups that are members of the
	// groups selected (one level), with their members.
	IncludeSubGroups bool `yaml:"includeSubGroups"`
}

// MSGraphOrgProviders is catalog.providers.microsoftGraphOrg: providers by
// id, or a single provider written directly below the key (Backstage
// names that one "default").
type MSGraphOrgProviders struct {
	Entries map[string]MSGraphOrgConfig
	// single is set when one provider was written directly, so errors
	// name the key as written.
	single bool
}

// UnmarshalConfig reads providers by id, or one provider.
func (p *MSGraphOrgProviders) UnmarshalConfig(v config.Value) error {
	if v.IsMap() && (v.Field("tenantId").Exists() || v.Field("clientId").Exists()) {
		var one MSGraphOrgConfig
		if err := v.Decode(&one); err != nil {
			return err
		}
		p.Entries, p.single = map[string]MSGraphOrgConfig{"default": one}, true
		return nil
	}
	return v.Decode(&p.Entries)
}

func (p MSGraphOrgProviders) key(id string) string {
	if p.single {
		return "catalog.providers.microsoftGraphOrg"
	}
	return "catalog.providers.microsoftGraphOrg." + id
}

// Limits of the microsoftGraphOrg provider's reads.
const (
	// msGraphPageSize is the $top of listings, the most Graph serves.
	msGraphPageSize = 999
	// msGraphConcurrency bounds the member and photo requests in flight,
	// as Backstage does (Graph throttles an application that sends more).
	msGraphConcurrency = 10
	// msGraphPhotoHeight is the largest photo read, in pixels: full-size
	// photos would make every User entity large.
	msGraphPhotoHeight = 120
)

// newMSGraphOrgProviders checks catalog.providers.microsoftGraphOrg and
// builds its providers.
func newMSGraphOrgProviders(cfg MSGraphOrgProviders, log *slog.Logger) ([]EntityProvider, error) {
	var out []EntityProvider
	for _, id := range sortedKeys(cfg.Entries) {
		key := cfg.key(id)
		r, err := newMSGraphOrgReader(key, id, cfg.Entries[id], nil)
		if err != nil {
			return nil, err
		}
		d := newDiscovery("MicrosoftGraphOrgEntityProvider:"+id, key, cfg.Entries[id].Schedule, log)
		r.log = log.With("provider", d.name)
		d.entities = r.read
		out = append(out, d)
	}
	return out, nil
}

// msGraphOrgReader reads one tenant's users and groups as entities.
type msGraphOrgReader struct {
	id, key     string
	c           MSGraphOrgConfig
	graph       *integrations.MSGraph
	loadPhotos  bool
	advanced    bool
	locationKey string
	log         *slog.Logger
}

// newMSGraphOrgReader checks the configuration at key; client sends the
// requests (nil: a client of its own).
func newMSGraphOrgReader(key, id string, c MSGraphOrgConfig, client *http.Client) (*msGraphOrgReader, error) {
	c.TenantID = strings.TrimSpace(c.TenantID)
	switch {
	case c.TenantID == "":
		return nil, fmt.Errorf("%s.tenantId: missing; give the directory (tenant) id of your Microsoft Entra ID, such as tenantId: ${AZURE_TENANT_ID}", key)
	case strings.ContainsAny(c.TenantID, "/?# "):
		return nil, fmt.Errorf("%s.tenantId: %q is not a tenant id; give the directory (tenant) id (a GUID) or a domain such as contoso.onmicrosoft.com", key, c.TenantID)
	case c.ClientID == "" && c.ClientSecret == "":
		return nil, fmt.Errorf("%s.clientId: missing; Portico reads Microsoft Graph with an app registration's client credentials: give clientId and clientSecret (managed identities and other Azure credentials are not supported)", key)
	case c.ClientID == "":
		return nil, fmt.Errorf("%s.clientId: missing; a clientSecret needs the clientId (application id) of its app registration", key)
	case c.ClientSecret == "":
		return nil, fmt.Errorf("%s.clientSecret: missing; give the app registration's client secret (e.g. clientSecret: ${MICROSOFT_GRAPH_CLIENT_SECRET})", key)
	}
	for _, u := range []struct{ name, value, example string }{
		{"target", c.Target, integrations.DefaultMSGraphTarget},
		{"authority", c.Authority, integrations.DefaultMSGraphAuthority},
	} {
		if u.value == "" {
			continue
		}
		p, err := url.Parse(strings.TrimSpace(u.value))
		if err != nil || (p.Scheme != "https" && p.Scheme != "http") || p.Host == "" {
			return nil, fmt.Errorf("%s.%s: %q is not a URL such as %s", key, u.name, u.value, u.example)
		}
	}
	switch c.QueryMode {
	case "", "basic", "advanced":
	default:
		return nil, fmt.Errorf("%s.queryMode: %q is not basic or advanced", key, c.QueryMode)
	}
	if c.User.Filter != "" && c.UserGroupMember.Filter != "" {
		return nil, fmt.Errorf("%s.user.filter: cannot be used with userGroupMember.filter (as in Backstage); filter the groups whose members are read, or the users, not both", key)
	}
	if c.User.Filter != "" && c.UserGroupMember.Search != "" {
		return nil, fmt.Errorf("%s.user.filter: cannot be used with userGroupMember.search (as in Backstage); search the groups whose members are read, or filter the users, not both", key)
	}
	for _, s := range []struct{ name, value string }{{"group.search", c.Group.Search}, {"userGroupMember.search", c.UserGroupMember.Search}} {
		if s.value != "" && !strings.Contains(s.value, `"`) {
			return nil, fmt.Errorf(`%s.%s: %q has no quoted terms; Graph's $search takes "property:text" terms in double quotes, such as '"displayName:team"'`, key, s.name, s.value)
		}
	}
	graph, err := integrations.NewMSGraph(integrations.MSGraphConfig{
		Target: c.Target, Authority: c.Authority, TenantID: c.TenantID, ClientID: c.ClientID, ClientSecret: c.ClientSecret,
	}, client)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", key, err)
	}
	return &msGraphOrgReader{
		id: id, key: key, c: c, graph: graph,
		loadPhotos: c.User.LoadPhotos == nil || *c.User.LoadPhotos,
		advanced:   c.QueryMode == "advanced",
		// As Backstage's, so entities keep their provider across a switch.
		locationKey: "msgraph-org-provider:" + id,
		log:         slog.New(slog.DiscardHandler),
	}, nil
}

// graphUser and graphGroup are the properties of Graph's user and group
// (and directory object) resources the provider reads.
type graphUser struct {
	ID                string `json:"id"`
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail"`
	UserPrincipalName string `json:"userPrincipalName"`
}

type graphGroup struct {
	Type            string `json:"@odata.type"`
	ID              string `json:"id"`
	DisplayName     string `json:"displayName"`
	MailNickname    string `json:"mailNickname"`
	Mail            string `json:"mail"`
	Description     string `json:"description"`
	SecurityEnabled bool   `json:"securityEnabled"`
}

// msGraphItem is an entity on its way out, with the Graph id relations
// are resolved by.
type msGraphItem struct {
	graphID string
	e       *Entity
}

// read lists the users, the organization and the groups with their
// members, and returns the entities with their relations resolved. Any
// failed request fails the whole read (so the last good set stays), except
// a photo, which is only left out.
func (r *msGraphOrgReader) read(ctx context.Context) ([]DeferredEntity, error) {
	start := time.Now()
	users, err := r.readUsers(ctx)
	if err != nil {
		return nil, r.explain(err)
	}
	org, err := r.readOrganization(ctx)
	if err != nil {
		return nil, r.explain(err)
	}
	groups, members, err := r.readGroups(ctx)
	if err != nil {
		return nil, r.explain(err)
	}
	var root *msGraphItem
	if org.ID != "" && org.DisplayName != "" {
		root = &msGraphItem{graphID: org.ID, e: r.rootEntity(org.ID, org.DisplayName)}
	}
	userItems := r.userEntities(ctx, users)
	if err := ctx.Err(); err != nil {
		// Photos left out because the run timed out are not a good set.
		return nil, fmt.Errorf("%s: reading user photos: %w", r.key, err)
	}
	groupItems := r.groupEntities(groups)
	resolveMSGraphRelations(root, groupItems, userItems, members)
	if root != nil {
		groupItems = append(groupItems, *root)
	}

	byName := func(a, b msGraphItem) int { return strings.Compare(a.e.Metadata.Name, b.e.Metadata.Name) }
	slices.SortStableFunc(userItems, byName)
	slices.SortStableFunc(groupItems, byName)
	var des []DeferredEntity
	seen := map[string]string{}
	for _, it := range append(userItems, groupItems...) {
		ref := strings.ToLower(it.e.Ref().String())
		if first, ok := seen[ref]; ok {
			r.log.WarnContext(ctx, "Microsoft Graph object left out: another one makes the same entity", "entity", ref, "id", it.graphID, "first", first)
			continue
		}
		seen[ref] = it.graphID
		des = append(des, DeferredEntity{Entity: it.e, LocationKey: r.locationKey})
	}
	r.log.InfoContext(ctx, "Microsoft Graph users and groups read", "tenant", r.c.TenantID,
		"users", len(userItems), "groups", len(groupItems), "duration", time.Since(start).Round(time.Millisecond))
	return des, nil
}

// graphOrganization is Graph's organization resource: the tenant.
type graphOrganization struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

// tenantGUID matches a tenant id written as its GUID.
var tenantGUID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// readOrganization reads the tenant's organization, by its id as Backstage
// does. Graph knows organizations only by GUID, so a tenant given by domain
// (contoso.onmicrosoft.com, which the token endpoint accepts) is read as
// the one organization the token's tenant lists.
func (r *msGraphOrgReader) readOrganization(ctx context.Context) (graphOrganization, error) {
	var org graphOrganization
	if tenantGUID.MatchString(r.c.TenantID) {
		err := r.graph.Get(ctx, "organization/"+url.PathEscape(r.c.TenantID), integrations.MSGraphQuery{}, &org)
		return org, err
	}
	err := r.graph.List(ctx, "organization", integrations.MSGraphQuery{}, func(raw json.RawMessage) error {
		if org.ID == "" {
			return json.Unmarshal(raw, &org)
		}
		return nil
	})
	return org, err
}

// explain names the provider's key in an error, with a hint for the
// failures configuration causes.
func (r *msGraphOrgReader) explain(err error) error {
	var ge *integrations.MSGraphError
	if errors.As(err, &ge) {
		switch {
		case strings.HasPrefix(ge.Op, "token request"):
			return fmt.Errorf("%s: no token for Microsoft Graph (check tenantId, clientId, clientSecret and authority): %w", r.key, err)
		case ge.Status == http.StatusForbidden:
			return fmt.Errorf("%s: Microsoft Graph refused the read (the app registration needs Microsoft Graph application permissions, with admin consent: Backstage's module documents User.Read.All, Group.Read.All and GroupMember.Read.All): %w", r.key, err)
		case ge.Status == http.StatusBadRequest:
			return fmt.Errorf("%s: Microsoft Graph refused the query (check the filter, search, select and expand options, and queryMode: advanced for advanced filters): %w", r.key, err)
		}
	}
	return fmt.Errorf("%s: %w", r.key, err)
}

// readUsers lists the users: all that user.filter keeps, or the members of
// the groups userGroupMember selects.
func (r *msGraphOrgReader) readUsers(ctx context.Context) ([]graphUser, error) {
	uq := integrations.MSGraphQuery{Filter: r.c.User.Filter, Expand: r.c.User.Expand, Select: r.c.User.Select, Top: msGraphPageSize, Advanced: r.advanced}
	collect := func(out *[]graphUser, seen map[string]bool) func(json.RawMessage) error {
		return func(raw json.RawMessage) error {
			var u graphUser
			if err := json.Unmarshal(raw, &u); err != nil {
				return fmt.Errorf("a user is not the JSON expected: %w", err)
			}
			if u.ID != "" && !seen[u.ID] {
				seen[u.ID] = true
				*out = append(*out, u)
			}
			return nil
		}
	}
	if r.c.UserGroupMember.Filter == "" && r.c.UserGroupMember.Search == "" {
		var users []graphUser
		err := r.graph.List(ctx, "users", uq, collect(&users, map[string]bool{}))
		return users, err
	}
	var groupIDs []string
	gq := integrations.MSGraphQuery{Filter: r.c.UserGroupMember.Filter, Search: r.c.UserGroupMember.Search,
		Select: []string{"id", "displayName"}, Top: msGraphPageSize, Advanced: r.advanced}
	if err := r.graph.List(ctx, "groups", gq, func(raw json.RawMessage) error {
		var g graphGroup
		if err := json.Unmarshal(raw, &g); err != nil {
			return fmt.Errorf("a group is not the JSON expected: %w", err)
		}
		if g.ID != "" {
			groupIDs = append(groupIDs, g.ID)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	perGroup := make([][]graphUser, len(groupIDs))
	err := forEachLimit(ctx, len(groupIDs), func(ctx context.Context, i int) error {
		path := "groups/" + url.PathEscape(groupIDs[i]) + "/members/microsoft.graph.user/"
		return r.graph.List(ctx, path, uq, collect(&perGroup[i], map[string]bool{}))
	})
	if err != nil {
		return nil, err
	}
	var users []graphUser
	seen := map[string]bool{}
	for _, us := range perGroup {
		for _, u := range us {
			if !seen[u.ID] {
				seen[u.ID] = true
				users = append(users, u)
			}
		}
	}
	return users, nil
}

// msGraphMembers is what group memberships were read, by Graph id: the
// groups each user is a direct member of, and each group's member groups,
// in the order read.
type msGraphMembers struct {
	userGroups  map[string][]string
	groupGroups map[string][]string
}

func appendNew(m map[string][]string, key, value string) {
	if !slices.Contains(m[key], value) {
		m[key] = append(m[key], value)
	}
}

// readGroups lists the groups and reads each one's members; with
// includeSubGroups, the groups among them are read too (one level).
func (r *msGraphOrgReader) readGroups(ctx context.Context) ([]graphGroup, msGraphMembers, error) {
	members := msGraphMembers{userGroups: map[string][]string{}, groupGroups: map[string][]string{}}
	var groups []graphGroup
	q := integrations.MSGraphQuery{Filter: r.c.Group.Filter, Search: r.c.Group.Search, Expand: r.c.Group.Expand,
		Select: r.c.Group.Select, Top: msGraphPageSize, Advanced: r.advanced}
	if err := r.graph.List(ctx, "groups", q, func(raw json.RawMessage) error {
		var g graphGroup
		if err := json.Unmarshal(raw, &g); err != nil {
			return fmt.Errorf("a group is not the JSON expected: %w", err)
		}
		groups = append(groups, g)
		return nil
	}); err != nil {
		return nil, members, err
	}
	groupMembers := func(groups []graphGroup) ([][]graphGroup, error) {
		out := make([][]graphGroup, len(groups))
		err := forEachLimit(ctx, len(groups), func(ctx context.Context, i int) error {
			if groups[i].ID == "" || groups[i].DisplayName == "" {
				return nil // not made an entity, so its members do not matter
			}
			path := "groups/" + url.PathEscape(groups[i].ID) + "/members"
			return r.graph.List(ctx, path, integrations.MSGraphQuery{Top: msGraphPageSize}, func(raw json.RawMessage) error {
				var m graphGroup // a directory object: a user or a group
				if err := json.Unmarshal(raw, &m); err != nil {
					return fmt.Errorf("a member of group %s is not the JSON expected: %w", groups[i].ID, err)
				}
				if m.ID != "" {
					out[i] = append(out[i], m)
				}
				return nil
			})
		})
		return out, err
	}
	record := func(groups []graphGroup, lists [][]graphGroup) (subGroups []graphGroup) {
		for i, g := range groups {
			for _, m := range lists[i] {
				switch m.Type {
				case "#microsoft.graph.user":
					appendNew(members.userGroups, m.ID, g.ID)
				case "#microsoft.graph.group":
					appendNew(members.groupGroups, g.ID, m.ID)
					subGroups = append(subGroups, m)
				}
			}
		}
		return subGroups
	}
	lists, err := groupMembers(groups)
	if err != nil {
		return nil, members, err
	}
	subGroups := record(groups, lists)
	if r.c.Group.IncludeSubGroups {
		known := map[string]bool{}
		for _, g := range groups {
			known[g.ID] = true
		}
		var extra []graphGroup
		for _, g := range subGroups {
			if !known[g.ID] {
				known[g.ID] = true
				extra = append(extra, g)
			}
		}
		lists, err := groupMembers(extra)
		if err != nil {
			return nil, members, err
		}
		record(extra, lists)
		groups = append(groups, extra...)
	}
	return groups, members, nil
}

// forEachLimit runs fn for 0…n-1 with at most msGraphConcurrency at once,
// and returns the first error (the others are cancelled).
func forEachLimit(ctx context.Context, n int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, msGraphConcurrency)
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				once.Do(func() { first = err; cancel(err) })
			}
		}()
	}
	wg.Wait()
	if first != nil {
		return first
	}
	return ctx.Err()
}

// normalizeMSGraphName makes an entity name of a Graph value as Backstage's
// msgraph module does: trimmed, lower case, every character other than
// letters, digits, _, - and . replaced by _, runs of _ made one. Backstage
// drops only a trailing _; this drops every _, - and . at either end too,
// since a name that starts or ends with one is invalid ("Contoso Ltd."
// makes contoso_ltd, where Backstage's contoso_ltd. is refused).
func normalizeMSGraphName(s string) string {
	var b strings.Builder
	for _, c := range strings.ToLower(strings.TrimSpace(s)) {
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.'
		if !ok {
			c = '_'
		}
		if c == '_' && strings.HasSuffix(b.String(), "_") {
			continue
		}
		b.WriteRune(c)
	}
	return strings.Trim(b.String(), "_-.")
}

// msGraphUserName is a user's entity name: their mail, else their user
// principal name, normalized (alice@contoso.com makes alice_contoso.com).
func msGraphUserName(u graphUser) string {
	if u.Mail != "" {
		return normalizeMSGraphName(u.Mail)
	}
	return normalizeMSGraphName(u.UserPrincipalName)
}

// msGraphGroupName is a group's entity name: a security group's display
// name, any other group's mail nickname (else display name), normalized.
func msGraphGroupName(g graphGroup) string {
	if g.SecurityEnabled || g.MailNickname == "" {
		return normalizeMSGraphName(g.DisplayName)
	}
	return normalizeMSGraphName(g.MailNickname)
}

// location is the managed-by location of the object with Graph id id.
func (r *msGraphOrgReader) location(id string) string {
	return "msgraph:" + r.id + "/" + encodeURIComponent(id)
}

func (r *msGraphOrgReader) annotations(idAnnotation, id string) map[string]string {
	loc := r.location(id)
	return map[string]string{idAnnotation: id, AnnotationManagedByLocation: loc, AnnotationManagedByOriginLocation: loc}
}

// userEntities makes a User of each user with an id, a display name and a
// mail or user principal name (others are left out, as Backstage does),
// with their photos when loadPhotos is on.
func (r *msGraphOrgReader) userEntities(ctx context.Context, users []graphUser) []msGraphItem {
	users = slices.DeleteFunc(slices.Clone(users), func(u graphUser) bool {
		return u.ID == "" || u.DisplayName == "" || msGraphUserName(u) == ""
	})
	photos := make([]string, len(users))
	if r.loadPhotos {
		_ = forEachLimit(ctx, len(users), func(ctx context.Context, i int) error {
			p, err := r.photo(ctx, users[i].ID)
			if err != nil && ctx.Err() == nil {
				r.log.WarnContext(ctx, "Microsoft Graph user photo left out", "user", users[i].ID, "err", err)
			}
			photos[i] = p
			return nil
		})
	}
	items := make([]msGraphItem, 0, len(users))
	for i, u := range users {
		annotations := r.annotations(AnnotationMSGraphUserID, u.ID)
		profile := map[string]any{"displayName": u.DisplayName}
		if u.Mail != "" {
			annotations[AnnotationMicrosoftEmail] = u.Mail
			profile["email"] = u.Mail
		}
		setIf(profile, "picture", photos[i])
		items = append(items, msGraphItem{graphID: u.ID, e: &Entity{
			APIVersion: APIVersionV1alpha1,
			Kind:       "User",
			Metadata:   Metadata{Name: msGraphUserName(u), Namespace: DefaultNamespace, Annotations: annotations},
			Spec:       map[string]any{"profile": profile, "memberOf": []any{}},
		}})
	}
	return items
}

// photo is a user's photo as a data URL: the largest size no higher than
// msGraphPhotoHeight ("" when the user has none).
func (r *msGraphOrgReader) photo(ctx context.Context, id string) (string, error) {
	var sizes struct {
		Value []struct {
			ID     string `json:"id"`
			Height int    `json:"height"`
		} `json:"value"`
	}
	if err := r.graph.Get(ctx, "users/"+url.PathEscape(id)+"/photos", integrations.MSGraphQuery{}, &sizes); err != nil {
		if integrations.IsMSGraphNotFound(err) {
			return "", nil
		}
		return "", err
	}
	best, bestHeight := "", -1
	for _, s := range sizes.Value {
		if s.Height <= msGraphPhotoHeight && s.Height > bestHeight {
			best, bestHeight = s.ID, s.Height
		}
	}
	if best == "" {
		return "", nil
	}
	b, contentType, err := r.graph.GetBytes(ctx, "users/"+url.PathEscape(id)+"/photos/"+url.PathEscape(best)+"/$value")
	if err != nil {
		if integrations.IsMSGraphNotFound(err) {
			return "", nil
		}
		return "", err
	}
	if !strings.HasPrefix(contentType, "image/") {
		contentType = "image/jpeg"
	}
	contentType, _, _ = strings.Cut(contentType, ";")
	return "data:" + contentType + ";base64," + base64.StdEncoding.EncodeToString(b), nil
}

// groupEntities makes a Group of type team of each group with an id and a
// display name.
func (r *msGraphOrgReader) groupEntities(groups []graphGroup) []msGraphItem {
	var items []msGraphItem
	for _, g := range groups {
		name := msGraphGroupName(g)
		if g.ID == "" || g.DisplayName == "" || name == "" {
			continue
		}
		profile := map[string]any{"displayName": g.DisplayName}
		setIf(profile, "email", g.Mail)
		items = append(items, msGraphItem{graphID: g.ID, e: &Entity{
			APIVersion: APIVersionV1alpha1,
			Kind:       "Group",
			Metadata: Metadata{Name: name, Namespace: DefaultNamespace, Description: g.Description,
				Annotations: r.annotations(AnnotationMSGraphGroupID, g.ID)},
			Spec: map[string]any{"type": "team", "profile": profile, "children": []any{}},
		}})
	}
	return items
}

// rootEntity is the tenant's organization as the Group of type root that
// groups without a parent hang from.
func (r *msGraphOrgReader) rootEntity(id, displayName string) *Entity {
	return &Entity{
		APIVersion: APIVersionV1alpha1,
		Kind:       "Group",
		Metadata: Metadata{Name: normalizeMSGraphName(displayName), Namespace: DefaultNamespace, Description: displayName,
			Annotations: r.annotations(AnnotationMSGraphTenantID, id)},
		Spec: map[string]any{"type": "root", "profile": map[string]any{"displayName": displayName}, "children": []any{}},
	}
}

// resolveMSGraphRelations fills in spec.children, spec.parent and the
// users' spec.memberOf from the memberships read, as Backstage's msgraph
// module does: a group's member groups are its children; a group that is
// a member of no group becomes a child of the root; a group in several
// groups gets the first of them read as its parent (all of them list it
// as a child); users are members of the groups they are direct members of.
func resolveMSGraphRelations(root *msGraphItem, groups, users []msGraphItem, m msGraphMembers) {
	byID := map[string]*msGraphItem{}
	for i := range groups {
		byID[groups[i].graphID] = &groups[i]
	}
	ref := func(it *msGraphItem) string { return strings.ToLower(it.e.Ref().String()) }
	parents := map[string][]string{}
	for i := range groups {
		for _, child := range m.groupGroups[groups[i].graphID] {
			appendNew(parents, child, groups[i].graphID)
		}
	}
	children := func(it *msGraphItem) []any { return it.e.Spec["children"].([]any) }
	if root != nil {
		for i := range groups {
			// Only the members of groups read are known, so a group whose
			// groups were filtered out hangs from the root too.
			if len(parents[groups[i].graphID]) == 0 {
				parents[groups[i].graphID] = []string{root.graphID}
				root.e.Spec["children"] = append(children(root), ref(&groups[i]))
			}
		}
		byID[root.graphID] = root
	}
	for i := range groups {
		g := &groups[i]
		for _, c := range m.groupGroups[g.graphID] {
			if child, ok := byID[c]; ok && child != g {
				g.e.Spec["children"] = append(children(g), ref(child))
			}
		}
		for _, p := range parents[g.graphID] {
			if parent, ok := byID[p]; ok && parent != g {
				g.e.Spec["parent"] = ref(parent)
				break
			}
		}
	}
	for i := range users {
		var memberOf []string
		for _, gid := range m.userGroups[users[i].graphID] {
			if g, ok := byID[gid]; ok && g != root {
				memberOf = append(memberOf, ref(g))
			}
		}
		slices.Sort(memberOf)
		users[i].e.Spec["memberOf"] = anys(slices.Compact(memberOf))
	}
}
