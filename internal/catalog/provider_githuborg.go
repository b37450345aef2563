package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"github.com/portico-dev/portico/internal/integrations"
)

// Annotations of the entities the githubOrg provider states, as
// Backstage's GitHub modules name them.
const (
	AnnotationGitHubTeamSlug  = "github.com/team-slug"
	AnnotationGitHubUserLogin = "github.com/user-login"
)

// GitHubOrgConfig is an entry of catalog.providers.githubOrg: the users
// and teams of GitHub organizations become User and Group entities, as
// Backstage's github-org module makes them.
type GitHubOrgConfig struct {
	// ID names the provider (GithubMultiOrgEntityProvider:<id>).
	ID string `yaml:"id"`
	// GitHubURL is the GitHub host's URL (https://github.com); its host
	// must be an integrations.github host, whose credentials are used.
	GitHubURL string `yaml:"githubUrl"`
	// Orgs are the organizations read; when none are listed, every
	// organization the integration's GitHub Apps are installed on, looked
	// up on each run (as Backstage does; a token cannot tell).
	Orgs     []string          `yaml:"orgs"`
	Schedule discoverySchedule `yaml:"schedule"`
}

// GitHubOrgProviders is catalog.providers.githubOrg: a list of entries,
// or a single one written as an object (Backstage accepts both).
type GitHubOrgProviders = listOrObject[GitHubOrgConfig]

// newGitHubOrgProviders checks catalog.providers.githubOrg and builds its
// providers.
func newGitHubOrgProviders(cfg GitHubOrgProviders, integ *integrations.Set, log *slog.Logger) ([]EntityProvider, error) {
	var out []EntityProvider
	ids := map[string]string{}
	for i, c := range cfg.Entries {
		key := cfg.key("catalog.providers.githubOrg", i)
		if c.ID == "" {
			return nil, fmt.Errorf("%s.id: missing; give the provider a unique id (it names the provider that owns its entities)", key)
		}
		if other, ok := ids[c.ID]; ok {
			return nil, fmt.Errorf("%s.id: %q is also the id of %s; give each provider its own id", key, c.ID, other)
		}
		ids[c.ID] = key
		// Backstage keeps groups in the default namespace only when one
		// organization is read in all; otherwise each organization's
		// groups live in a namespace named after it, so that equal team
		// slugs of different organizations stay apart.
		defaultNamespace := len(cfg.Entries) == 1 && len(c.Orgs) == 1
		d, err := newGitHubOrgProvider(key, c, defaultNamespace, integ, log)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

func newGitHubOrgProvider(key string, c GitHubOrgConfig, defaultNamespace bool, integ *integrations.Set, log *slog.Logger) (*discovery, error) {
	if c.GitHubURL == "" {
		return nil, fmt.Errorf("%s.githubUrl: missing; give the GitHub host's URL, such as https://github.com", key)
	}
	u, err := url.Parse(c.GitHubURL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%s.githubUrl: %q is not a URL such as https://github.com", key, c.GitHubURL)
	}
	if integ == nil {
		return nil, fmt.Errorf("%s: no integrations are configured", key)
	}
	g, ok := integ.GitHub(u.Host)
	if !ok {
		return nil, fmt.Errorf("%s.githubUrl: %s is not an integrations.github host; add it there with a token or apps that may read the organizations", key, u.Host)
	}
	if len(c.Orgs) == 0 && !g.HasApps() {
		return nil, fmt.Errorf("%s.orgs: missing; list the organizations whose users and teams are read (only with GitHub Apps in integrations.github for %s can the orgs be left out: then every organization an app is installed on is read)", key, u.Host)
	}
	for i, o := range c.Orgs {
		if strings.TrimSpace(o) == "" || strings.Contains(o, "/") {
			return nil, fmt.Errorf("%s.orgs[%d]: %q is not an organization login", key, i, o)
		}
	}
	p := &githubOrgReader{
		host: u.Host, web: u.Scheme + "://" + u.Host, defaultNamespace: defaultNamespace,
		locationKey: "github-multi-org-provider:" + c.ID, integ: integ,
	}
	d := newDiscovery("GithubMultiOrgEntityProvider:"+c.ID, key, c.Schedule, log)
	d.entities = func(ctx context.Context) ([]DeferredEntity, error) {
		orgs := c.Orgs
		if len(orgs) == 0 {
			var err error
			if orgs, err = integ.GitHubAppOrganizations(ctx, u.Host); err != nil {
				return nil, err
			}
		}
		des, users, groups, err := p.read(ctx, orgs)
		if err == nil {
			log.InfoContext(ctx, "GitHub organizations read", "provider", d.name, "orgs", orgs, "users", users, "groups", groups)
		}
		return des, err
	}
	return d, nil
}

// githubOrgReader turns GitHub organizations into User and Group
// entities.
type githubOrgReader struct {
	host, web        string
	defaultNamespace bool
	locationKey      string
	integ            *integrations.Set
}

// read reads every organization of orgs and returns the entities of all
// of them, or an error if any read failed (so the last good set stays).
func (p *githubOrgReader) read(ctx context.Context, orgs []string) (des []DeferredEntity, users, groups int, err error) {
	userOrder := []string{}
	byLogin := map[string]*Entity{}
	var groupEntities []*Entity
	for _, org := range orgs {
		o, err := p.integ.GitHubOrganization(ctx, p.host, org)
		if err != nil {
			return nil, 0, 0, err
		}
		namespace := DefaultNamespace
		if !p.defaultNamespace {
			namespace = strings.ToLower(org)
		}
		for _, u := range o.Users {
			k := strings.ToLower(u.Login)
			if _, ok := byLogin[k]; !ok {
				byLogin[k] = p.userEntity(u)
				userOrder = append(userOrder, k)
			}
		}
		// A team's children are the teams that name it their parent.
		children := map[string][]any{}
		for _, t := range o.Teams {
			if t.ParentSlug != "" {
				children[t.ParentSlug] = append(children[t.ParentSlug], t.Slug)
			}
		}
		for _, t := range o.Teams {
			g := p.groupEntity(org, namespace, t, children[t.Slug])
			groupEntities = append(groupEntities, g)
			// The group as its members' spec.memberOf names it: users are
			// in the default namespace, so another namespace is spelled
			// out.
			ref := t.Slug
			if namespace != DefaultNamespace {
				ref = namespace + "/" + t.Slug
			}
			for _, login := range t.Members {
				if u, ok := byLogin[strings.ToLower(login)]; ok {
					memberOf := u.Spec["memberOf"].([]any)
					if !slices.Contains(memberOf, any(ref)) {
						u.Spec["memberOf"] = append(memberOf, ref)
					}
				}
			}
		}
	}
	for _, k := range userOrder {
		des = append(des, DeferredEntity{Entity: byLogin[k], LocationKey: p.locationKey})
	}
	for _, g := range groupEntities {
		des = append(des, DeferredEntity{Entity: g, LocationKey: p.locationKey})
	}
	return des, len(userOrder), len(groupEntities), nil
}

// userEntity is a member as a User: named by login, with the profile
// GitHub shows; memberOf is filled in from the teams.
func (p *githubOrgReader) userEntity(u integrations.GitHubUser) *Entity {
	location := LocationSpec{Type: "url", Target: p.web + "/" + u.Login}.String()
	profile := map[string]any{}
	setIf(profile, "displayName", u.Name)
	setIf(profile, "email", u.Email)
	setIf(profile, "picture", u.AvatarURL)
	return &Entity{
		APIVersion: APIVersionV1alpha1,
		Kind:       "User",
		Metadata: Metadata{
			Name:        u.Login,
			Namespace:   DefaultNamespace,
			Description: u.Bio,
			Annotations: map[string]string{
				AnnotationGitHubUserLogin:         u.Login,
				AnnotationManagedByLocation:       location,
				AnnotationManagedByOriginLocation: location,
			},
		},
		Spec: map[string]any{"profile": profile, "memberOf": []any{}},
	}
}

// groupEntity is a team as a Group of type team, named by slug, with its
// parent, children and immediate members.
func (p *githubOrgReader) groupEntity(org, namespace string, t integrations.GitHubTeam, children []any) *Entity {
	location := LocationSpec{Type: "url", Target: p.web + "/orgs/" + org + "/teams/" + t.Slug}.String()
	combined := t.CombinedSlug
	if combined == "" {
		combined = org + "/" + t.Slug
	}
	annotations := map[string]string{
		AnnotationGitHubTeamSlug:          combined,
		AnnotationManagedByLocation:       location,
		AnnotationManagedByOriginLocation: location,
	}
	if t.EditTeamURL != "" {
		annotations[AnnotationEditURL] = t.EditTeamURL
	}
	profile := map[string]any{}
	setIf(profile, "displayName", t.Name)
	setIf(profile, "picture", t.AvatarURL)
	// Members are users, in the default namespace whatever the group's.
	members := make([]any, 0, len(t.Members))
	for _, m := range t.Members {
		if namespace != DefaultNamespace {
			m = DefaultNamespace + "/" + m
		}
		members = append(members, m)
	}
	if children == nil {
		children = []any{}
	}
	spec := map[string]any{"type": "team", "profile": profile, "children": children, "members": members}
	if t.ParentSlug != "" {
		spec["parent"] = t.ParentSlug
	}
	return &Entity{
		APIVersion: APIVersionV1alpha1,
		Kind:       "Group",
		Metadata: Metadata{
			Name:        t.Slug,
			Namespace:   namespace,
			Description: t.Description,
			Annotations: annotations,
		},
		Spec: spec,
	}
}

func setIf(m map[string]any, key, value string) {
	if value != "" {
		m[key] = value
	}
}
