package catalog

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/config"
	"github.com/portico-dev/portico/internal/integrations"
)

// ProvidersConfig is catalog.providers, the entity providers configured by
// Backstage's keys. Portico runs the github and gitlab discoveries and the
// githubOrg, ldapOrg and microsoftGraphOrg users and groups; other kinds
// are reported as unknown keys.
type ProvidersConfig struct {
	GitHub    map[string]GitHubDiscoveryConfig `yaml:"github"`
	GitLab    map[string]GitLabDiscoveryConfig `yaml:"gitlab"`
	GitHubOrg GitHubOrgProviders               `yaml:"githubOrg"`
	LDAPOrg   map[string]LDAPOrgConfig         `yaml:"ldapOrg"`
	// MicrosoftGraphOrg reads Microsoft Entra ID users and groups.
	MicrosoftGraphOrg MSGraphOrgProviders `yaml:"microsoftGraphOrg"`
}

// discoverySchedule is a discovery's schedule, as Backstage's.
type discoverySchedule struct {
	Frequency    discoveryFrequency `yaml:"frequency"`
	Timeout      time.Duration      `yaml:"timeout"`
	InitialDelay time.Duration      `yaml:"initialDelay"`
}

// GitHubDiscoveryConfig is catalog.providers.github.<id>: every repository
// of an organization (or user) that passes the filters is read for a
// catalog file, as Backstage's GitHub entity provider does.
type GitHubDiscoveryConfig struct {
	// Host is the GitHub host, an integrations.github entry; default
	// github.com.
	Host         string `yaml:"host"`
	Organization string `yaml:"organization"`
	// CatalogPath is the file read in each repository; default
	// /catalog-info.yaml.
	CatalogPath string            `yaml:"catalogPath"`
	Filters     discoveryFilter   `yaml:"filters"`
	Schedule    discoverySchedule `yaml:"schedule"`
	// ValidateLocationsExist is accepted: the locations are optional, so a
	// repository without the file yields nothing either way.
	ValidateLocationsExist bool `yaml:"validateLocationsExist"`
}

type discoveryFilter struct {
	// Branch is the ref read in every repository; default each one's
	// default branch.
	Branch string `yaml:"branch"`
	// Repository is a regular expression a repository's name must match.
	Repository string `yaml:"repository"`
	AllowForks *bool  `yaml:"allowForks"`
	// Visibility lists the visibilities kept (public, private, internal).
	Visibility []string `yaml:"visibility"`
	Topic      struct {
		Include []string `yaml:"include"`
		Exclude []string `yaml:"exclude"`
	} `yaml:"topic"`
}

// listOrObject is a list of entries, or a single one written as an object;
// Backstage accepts both where a provider takes several entries.
type listOrObject[T any] struct {
	Entries []T
	// object is set when the configuration wrote one object, so errors
	// name the key as written.
	object bool
}

// UnmarshalConfig reads a list of entries or one entry.
func (l *listOrObject[T]) UnmarshalConfig(v config.Value) error {
	if v.IsMap() {
		var one T
		if err := v.Decode(&one); err != nil {
			return err
		}
		l.Entries, l.object = []T{one}, true
		return nil
	}
	return v.Decode(&l.Entries)
}

// key is the configuration key of entry i of the list at base.
func (l listOrObject[T]) key(base string, i int) string {
	if l.object {
		return base
	}
	return base + "[" + strconv.Itoa(i) + "]"
}

// discoveryFrequency is schedule.frequency: a duration, or Backstage's
// {cron: …}, which Portico does not run (the default interval is used).
type discoveryFrequency struct {
	Every time.Duration
	Cron  string
}

// UnmarshalConfig reads a duration or {cron: expression}.
func (f *discoveryFrequency) UnmarshalConfig(v config.Value) error {
	if v.IsMap() && v.Field("cron").Exists() {
		return v.Field("cron").Decode(&f.Cron)
	}
	d, err := parseInterval(v)
	f.Every = d
	return err
}

// GitLabDiscoveryConfig is catalog.providers.gitlab.<id>: every project of
// a group (and its subgroups) that passes the filters is read for a
// catalog file, as Backstage's GitLab discovery does.
type GitLabDiscoveryConfig struct {
	// Host is an integrations.gitlab host.
	Host string `yaml:"host"`
	// Group is the group path ("" for every project the token is a member
	// of).
	Group string `yaml:"group"`
	// Branch is the ref read in every project; default each one's default
	// branch, else FallbackBranch (default master).
	Branch         string `yaml:"branch"`
	FallbackBranch string `yaml:"fallbackBranch"`
	// CatalogFile is the file read; default catalog-info.yaml.
	CatalogFile string `yaml:"catalogFile"`
	// ProjectPattern is a regular expression a project's path (with its
	// namespace) must match.
	ProjectPattern       string            `yaml:"projectPattern"`
	SkipForkedRepos      bool              `yaml:"skipForkedRepos"`
	IncludeArchivedRepos bool              `yaml:"includeArchivedRepos"`
	Schedule             discoverySchedule `yaml:"schedule"`
}

// defaultDiscoveryEvery is how often a discovery runs without a schedule.
const defaultDiscoveryEvery = 30 * time.Minute

// discovery is the entity provider of one catalog.providers entry: on its
// schedule it lists a host's repositories and states an optional url
// Location entity of the catalog file of each one the filters keep. A
// repository that goes away takes its entities with it (the orphan
// strategy); a failed listing changes nothing. A githubOrg provider runs
// on the same schedule but states its entities itself (entities).
type discovery struct {
	name     string
	schedule discoverySchedule
	every    time.Duration
	// targets lists the catalog file URLs to read, and how many
	// repositories were looked at.
	targets func(ctx context.Context) (targets []string, listed int, err error)
	// entities, when set instead of targets, states the provider's
	// entities themselves (the githubOrg users and groups).
	entities func(ctx context.Context) ([]DeferredEntity, error)
	log      *slog.Logger
}

// newDiscoveries checks catalog.providers and builds its providers.
func newDiscoveries(cfg ProvidersConfig, integ *integrations.Set, log *slog.Logger) ([]EntityProvider, error) {
	var out []EntityProvider
	for _, id := range sortedKeys(cfg.GitHub) {
		d, err := newGitHubDiscovery(id, cfg.GitHub[id], integ, log)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	for _, id := range sortedKeys(cfg.GitLab) {
		d, err := newGitLabDiscovery(id, cfg.GitLab[id], integ, log)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	orgs, err := newGitHubOrgProviders(cfg.GitHubOrg, integ, log)
	if err != nil {
		return nil, err
	}
	ldapOrgs, err := newLDAPOrgProviders(cfg.LDAPOrg, log)
	if err != nil {
		return nil, err
	}
	msGraphOrgs, err := newMSGraphOrgProviders(cfg.MicrosoftGraphOrg, log)
	if err != nil {
		return nil, err
	}
	return slices.Concat(out, orgs, ldapOrgs, msGraphOrgs), nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// newDiscovery sets up the schedule of a discovery configured at key.
func newDiscovery(name, key string, schedule discoverySchedule, log *slog.Logger) *discovery {
	d := &discovery{name: name, schedule: schedule, every: schedule.Frequency.Every, log: log}
	if d.every == 0 {
		d.every = defaultDiscoveryEvery
	}
	if schedule.Frequency.Cron != "" {
		log.Warn(key+".schedule.frequency: cron schedules are not supported; the discovery runs every "+d.every.String(), "cron", schedule.Frequency.Cron)
	}
	return d
}

func newGitHubDiscovery(id string, c GitHubDiscoveryConfig, integ *integrations.Set, log *slog.Logger) (*discovery, error) {
	key := "catalog.providers.github." + id
	if c.Organization == "" {
		return nil, fmt.Errorf("%s.organization: missing; name the organization (or user) whose repositories are read", key)
	}
	if c.Host == "" {
		c.Host = "github.com"
	}
	if integ == nil {
		return nil, fmt.Errorf("%s: no integrations are configured", key)
	}
	g, ok := integ.GitHub(c.Host)
	if !ok {
		return nil, fmt.Errorf("%s.host: %s is not an integrations.github host; add it there", key, c.Host)
	}
	api, err := url.Parse(g.APIBaseURL)
	if err != nil {
		return nil, fmt.Errorf("%s.host: %w", key, err)
	}
	if c.CatalogPath == "" {
		c.CatalogPath = "/catalog-info.yaml"
	}
	var repo *regexp.Regexp
	if c.Filters.Repository != "" {
		if repo, err = regexp.Compile(c.Filters.Repository); err != nil {
			return nil, fmt.Errorf("%s.filters.repository: %w", key, err)
		}
	}
	webBase := api.Scheme + "://" + g.Host
	d := newDiscovery("github-provider:"+id, key, c.Schedule, log)
	d.targets = func(ctx context.Context) ([]string, int, error) {
		repos, err := integ.GitHubRepositories(ctx, c.Host, c.Organization)
		if err != nil {
			return nil, 0, err
		}
		var out []string
		for _, r := range repos {
			branch := c.Filters.Branch
			if branch == "" {
				branch = r.DefaultBranch
			}
			if branch == "" || !keepGitHubRepository(c.Filters, repo, r) {
				continue // filtered out, or an empty repository
			}
			out = append(out, webBase+"/"+url.PathEscape(c.Organization)+"/"+url.PathEscape(r.Name)+"/blob/"+branch+"/"+strings.TrimPrefix(c.CatalogPath, "/"))
		}
		return out, len(repos), nil
	}
	return d, nil
}

// keepGitHubRepository applies a GitHub discovery's filters; archived
// repositories are always left out.
func keepGitHubRepository(f discoveryFilter, repo *regexp.Regexp, r integrations.GitHubRepository) bool {
	switch {
	case r.Archived:
		return false
	case r.Fork && f.AllowForks != nil && !*f.AllowForks:
		return false
	case repo != nil && !repo.MatchString(r.Name):
		return false
	case len(f.Visibility) > 0 && !slices.ContainsFunc(f.Visibility, func(v string) bool { return strings.EqualFold(v, r.Visibility) }):
		return false
	case len(f.Topic.Include) > 0 && !slices.ContainsFunc(r.Topics, func(t string) bool { return slices.Contains(f.Topic.Include, t) }):
		return false
	case slices.ContainsFunc(r.Topics, func(t string) bool { return slices.Contains(f.Topic.Exclude, t) }):
		return false
	}
	return true
}

func newGitLabDiscovery(id string, c GitLabDiscoveryConfig, integ *integrations.Set, log *slog.Logger) (*discovery, error) {
	key := "catalog.providers.gitlab." + id
	if c.Host == "" {
		return nil, fmt.Errorf("%s.host: missing; name an integrations.gitlab host", key)
	}
	if integ == nil {
		return nil, fmt.Errorf("%s: no integrations are configured", key)
	}
	if _, ok := integ.GitLab(c.Host); !ok {
		return nil, fmt.Errorf("%s.host: %s is not an integrations.gitlab host; add it there", key, c.Host)
	}
	if c.CatalogFile == "" {
		c.CatalogFile = "catalog-info.yaml"
	}
	if c.FallbackBranch == "" {
		c.FallbackBranch = "master"
	}
	var pattern *regexp.Regexp
	if c.ProjectPattern != "" {
		var err error
		if pattern, err = regexp.Compile(c.ProjectPattern); err != nil {
			return nil, fmt.Errorf("%s.projectPattern: %w", key, err)
		}
	}
	d := newDiscovery("gitlab-provider:"+id, key, c.Schedule, log)
	d.targets = func(ctx context.Context) ([]string, int, error) {
		projects, err := integ.GitLabProjects(ctx, c.Host, c.Group)
		if err != nil {
			return nil, 0, err
		}
		var out []string
		for _, p := range projects {
			switch {
			case p.Archived && !c.IncludeArchivedRepos, p.ForkedFrom != nil && c.SkipForkedRepos,
				pattern != nil && !pattern.MatchString(p.PathWithNamespace), p.WebURL == "":
				continue
			}
			branch := cmp.Or(c.Branch, p.DefaultBranch, c.FallbackBranch)
			out = append(out, strings.TrimSuffix(p.WebURL, "/")+"/-/blob/"+branch+"/"+strings.TrimPrefix(c.CatalogFile, "/"))
		}
		return out, len(projects), nil
	}
	return d, nil
}

// Name implements EntityProvider, with Backstage's provider names.
func (d *discovery) Name() string { return d.name }

// Connect implements EntityProvider: the discovery runs in the background
// (after schedule.initialDelay) and then on its schedule.
func (d *discovery) Connect(ctx context.Context, conn ProviderConnection) error {
	go func() {
		wait := d.schedule.InitialDelay
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if err := d.run(ctx, conn); err != nil && ctx.Err() == nil {
				// The entities of the last good run stay.
				d.log.ErrorContext(ctx, "entity provider run failed; its entities stay as they were", "provider", d.name, "err", err)
			}
			wait = d.every
		}
	}()
	return nil
}

// run lists the repositories and states the provider's locations.
func (d *discovery) run(ctx context.Context, conn ProviderConnection) error {
	if t := d.schedule.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	if d.entities != nil {
		des, err := d.entities(ctx)
		if err != nil {
			return err
		}
		return conn.ApplyMutation(ctx, FullMutation{Entities: des})
	}
	targets, listed, err := d.targets(ctx)
	if err != nil {
		return err
	}
	des := make([]DeferredEntity, 0, len(targets))
	for _, t := range targets {
		des = append(des, DeferredEntity{Entity: LocationEntity(LocationSpec{Type: "url", Target: t, Presence: "optional"}), LocationKey: d.name})
	}
	d.log.InfoContext(ctx, "repository discovery", "provider", d.name, "repositories", listed, "locations", len(des))
	return conn.ApplyMutation(ctx, FullMutation{Entities: des})
}
