package catalog

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/config"
	"github.com/portico-dev/portico/internal/integrations"
)

// ProvidersConfig is catalog.providers, the entity providers configured by
// Backstage's keys. Portico runs github (discovery); other kinds are
// reported as unknown keys.
type ProvidersConfig struct {
	GitHub map[string]GitHubDiscoveryConfig `yaml:"github"`
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
	CatalogPath string          `yaml:"catalogPath"`
	Filters     discoveryFilter `yaml:"filters"`
	Schedule    struct {
		Frequency    discoveryFrequency `yaml:"frequency"`
		Timeout      time.Duration      `yaml:"timeout"`
		InitialDelay time.Duration      `yaml:"initialDelay"`
	} `yaml:"schedule"`
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

// defaultDiscoveryEvery is how often a discovery runs without a schedule.
const defaultDiscoveryEvery = 30 * time.Minute

// githubDiscovery is the entity provider of one catalog.providers.github
// entry: a Location entity (an optional url location of the catalog file)
// for each repository that passes the filters, refreshed on its schedule.
type githubDiscovery struct {
	id      string
	cfg     GitHubDiscoveryConfig
	repo    *regexp.Regexp
	integ   *integrations.Set
	webBase string
	every   time.Duration
	log     *slog.Logger
}

// newGitHubDiscoveries checks catalog.providers.github and builds its
// providers.
func newGitHubDiscoveries(cfg ProvidersConfig, integ *integrations.Set, log *slog.Logger) ([]EntityProvider, error) {
	ids := make([]string, 0, len(cfg.GitHub))
	for id := range cfg.GitHub {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	var out []EntityProvider
	for _, id := range ids {
		c := cfg.GitHub[id]
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
		d := &githubDiscovery{id: id, cfg: c, integ: integ, webBase: api.Scheme + "://" + g.Host, every: c.Schedule.Frequency.Every, log: log}
		if d.every == 0 {
			d.every = defaultDiscoveryEvery
		}
		if c.Schedule.Frequency.Cron != "" {
			log.Warn(key+".schedule.frequency: cron schedules are not supported; the discovery runs every "+d.every.String(), "cron", c.Schedule.Frequency.Cron)
		}
		if c.Filters.Repository != "" {
			if d.repo, err = regexp.Compile(c.Filters.Repository); err != nil {
				return nil, fmt.Errorf("%s.filters.repository: %w", key, err)
			}
		}
		out = append(out, d)
	}
	return out, nil
}

// Name implements EntityProvider, with Backstage's name for it.
func (d *githubDiscovery) Name() string { return "github-provider:" + d.id }

// Connect implements EntityProvider: the discovery runs in the background
// (after schedule.initialDelay) and then on its schedule.
func (d *githubDiscovery) Connect(ctx context.Context, conn ProviderConnection) error {
	go func() {
		wait := d.cfg.Schedule.InitialDelay
		for {
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if err := d.run(ctx, conn); err != nil && ctx.Err() == nil {
				// The entities of the last good run stay.
				d.log.ErrorContext(ctx, "GitHub discovery failed", "provider", d.Name(), "err", err)
			}
			wait = d.every
		}
	}()
	return nil
}

// run lists the repositories and states the provider's locations.
func (d *githubDiscovery) run(ctx context.Context, conn ProviderConnection) error {
	if t := d.cfg.Schedule.Timeout; t > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	repos, err := d.integ.GitHubRepositories(ctx, d.cfg.Host, d.cfg.Organization)
	if err != nil {
		return err
	}
	var des []DeferredEntity
	for _, r := range repos {
		if !d.keep(r) {
			continue
		}
		branch := d.cfg.Filters.Branch
		if branch == "" {
			branch = r.DefaultBranch
		}
		if branch == "" {
			continue // an empty repository
		}
		target := d.webBase + "/" + url.PathEscape(d.cfg.Organization) + "/" + url.PathEscape(r.Name) + "/blob/" + branch + "/" + strings.TrimPrefix(d.cfg.CatalogPath, "/")
		des = append(des, DeferredEntity{Entity: LocationEntity(LocationSpec{Type: "url", Target: target, Presence: "optional"}), LocationKey: d.Name()})
	}
	d.log.InfoContext(ctx, "GitHub discovery", "provider", d.Name(), "repositories", len(repos), "locations", len(des))
	return conn.ApplyMutation(ctx, FullMutation{Entities: des})
}

// keep applies the filters; archived repositories are always left out.
func (d *githubDiscovery) keep(r integrations.GitHubRepository) bool {
	f := d.cfg.Filters
	switch {
	case r.Archived:
		return false
	case r.Fork && f.AllowForks != nil && !*f.AllowForks:
		return false
	case d.repo != nil && !d.repo.MatchString(r.Name):
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
