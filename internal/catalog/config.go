package catalog

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/config"
)

// Config is the catalog section of app-config.yaml, under Backstage's key
// names.
type Config struct {
	Kinds      []KindConfig     `yaml:"kinds"`
	Validation ValidationConfig `yaml:"validation"`
	// Rules says which kinds may come from which locations; nil means
	// Backstage's default (Component, API and Location from anywhere).
	Rules     []CatalogRule      `yaml:"rules"`
	Locations []ConfigLocation   `yaml:"locations"`
	Interval  ProcessingInterval `yaml:"processingInterval"`
	Orphans   string             `yaml:"orphanStrategy"`
	Readonly  bool               `yaml:"readonly"`
	Conflicts string             `yaml:"defaultLocationConflictStrategy"`
	// Accepted for Backstage configurations; Portico has no use for them.
	DisableDefaultProcessors bool `yaml:"disableDefaultProcessors"`
	OrphanProviderStrategy   any  `yaml:"orphanProviderStrategy"`
	StitchingStrategy        any  `yaml:"stitchingStrategy"`
	ProviderOptions          any  `yaml:"providerOptions"`
	ProcessorOptions         any  `yaml:"processorOptions"`
	// Providers configures entity providers (catalog.providers.github).
	Providers ProvidersConfig `yaml:"providers"`
	Import    any             `yaml:"import"`
}

// unusedKeys names the Backstage keys set in c that Portico accepts but
// does not act on, so that they can be reported rather than ignored in
// silence (a catalog.providers.github block, say, discovers nothing here).
func (c Config) unusedKeys() []string {
	var out []string
	for _, k := range []struct {
		key string
		set bool
	}{
		{"catalog.processorOptions", c.ProcessorOptions != nil},
		{"catalog.providerOptions", c.ProviderOptions != nil},
		{"catalog.stitchingStrategy", c.StitchingStrategy != nil},
		{"catalog.orphanProviderStrategy", c.OrphanProviderStrategy != nil},
		{"catalog.import", c.Import != nil},
		{"catalog.disableDefaultProcessors", c.DisableDefaultProcessors},
	} {
		if k.set {
			out = append(out, k.key)
		}
	}
	return out
}

// ConfigLocation is an entry of catalog.locations.
type ConfigLocation struct {
	Type   string        `yaml:"type"`
	Target string        `yaml:"target"`
	Rules  []CatalogRule `yaml:"rules"`
}

// CatalogRule is an entry of catalog.rules: the kinds it allows and,
// optionally, the origin locations it applies to.
type CatalogRule struct {
	Allow     []KindMatcher     `yaml:"allow"`
	Locations []LocationMatcher `yaml:"locations"`
}

// KindMatcher is a kind, optionally narrowed to one spec.type; in config
// it is written as a plain kind name or {kind, spec.type}.
type KindMatcher struct {
	Kind     string
	SpecType string
}

// UnmarshalConfig reads "Kind" or {kind: Kind, spec.type: type}.
func (m *KindMatcher) UnmarshalConfig(v config.Value) error {
	if v.IsString() {
		return v.Decode(&m.Kind)
	}
	var obj struct {
		Kind     string `yaml:"kind"`
		SpecType string `yaml:"spec.type"`
	}
	if err := v.Decode(&obj); err != nil {
		return err
	}
	if obj.Kind == "" {
		return v.Errorf("a rule's allow entry needs a kind")
	}
	m.Kind, m.SpecType = obj.Kind, obj.SpecType
	return nil
}

// LocationMatcher selects origin locations by type and either a glob
// pattern or an exact target.
type LocationMatcher struct {
	Type    string `yaml:"type"`
	Pattern string `yaml:"pattern"`
	Exact   string `yaml:"exact"`
	Target  string `yaml:"target"`
}

// ProcessingInterval is catalog.processingInterval: a duration, or false to
// turn periodic processing off (changes the catalog learns of directly are
// still processed).
type ProcessingInterval struct {
	Duration time.Duration
	Disabled bool
}

// UnmarshalConfig reads a duration or false.
func (p *ProcessingInterval) UnmarshalConfig(v config.Value) error {
	if b, ok := v.Plain().(bool); ok {
		if b {
			return v.Errorf("expected a duration or false")
		}
		p.Disabled = true
		return nil
	}
	d, err := parseInterval(v)
	p.Duration = d
	return err
}

// parseInterval reads a duration of at least a second: how often
// something is done again.
func parseInterval(v config.Value) (time.Duration, error) {
	d, err := config.ParseDuration(v)
	if err != nil {
		return 0, err
	}
	if d < time.Second {
		return 0, v.Errorf("must be at least one second")
	}
	return d, nil
}

// Orphan strategies.
const (
	OrphansKeep   = "keep"
	OrphansDelete = "delete"
)

// Rules decides which entity kinds may come from which origin locations
// (Backstage's catalog rules).
type Rules struct {
	rules []rule
}

type rule struct {
	allow     []KindMatcher
	locations []locationMatch
}

type locationMatch struct {
	typ     string
	pattern *regexp.Regexp
	exact   string
}

// NewRules compiles the global rules and each configured location's own
// rules (which apply to that location only).
func NewRules(global []CatalogRule, locations []ConfigLocation, resolve func(ConfigLocation) LocationSpec) (*Rules, error) {
	if global == nil {
		global = []CatalogRule{{Allow: []KindMatcher{{Kind: "Component"}, {Kind: "API"}, {Kind: "Location"}}}}
	}
	r := &Rules{}
	for i, rc := range global {
		ru := rule{allow: rc.Allow}
		for j, lm := range rc.Locations {
			target := lm.Exact
			if target == "" {
				target = lm.Target
			}
			if lm.Pattern != "" && target != "" {
				return nil, fmt.Errorf("catalog.rules[%d].locations[%d]: give a pattern or an exact target, not both", i, j)
			}
			m := locationMatch{typ: lm.Type, exact: target}
			if lm.Pattern != "" {
				re, err := globRegexp(lm.Pattern)
				if err != nil {
					return nil, fmt.Errorf("catalog.rules[%d].locations[%d]: %w", i, j, err)
				}
				m.pattern = re
			}
			ru.locations = append(ru.locations, m)
		}
		r.rules = append(r.rules, ru)
	}
	for _, l := range locations {
		spec := resolve(l)
		for _, rc := range l.Rules {
			r.rules = append(r.rules, rule{allow: rc.Allow, locations: []locationMatch{{typ: spec.Type, exact: spec.Target}}})
		}
	}
	return r, nil
}

// Allowed reports whether e may come from the origin location.
func (r *Rules) Allowed(e *Entity, origin LocationSpec) bool {
	specType, _ := e.Spec["type"].(string)
	for _, ru := range r.rules {
		if len(ru.locations) > 0 && !matchesAny(ru.locations, origin) {
			continue
		}
		for _, a := range ru.allow {
			if !strings.EqualFold(a.Kind, e.Kind) {
				continue
			}
			if a.SpecType == "" || strings.EqualFold(a.SpecType, specType) {
				return true
			}
		}
	}
	return false
}

func matchesAny(ms []locationMatch, l LocationSpec) bool {
	for _, m := range ms {
		if m.typ != "" && m.typ != l.Type {
			continue
		}
		if m.pattern != nil && !m.pattern.MatchString(l.Target) {
			continue
		}
		if m.exact != "" && m.exact != l.Target {
			continue
		}
		return true
	}
	return false
}

// globRegexp turns a minimatch-style pattern (*, **, ?) into a
// case-insensitive regular expression, as Backstage matches rule patterns.
func globRegexp(p string) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?i)^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			if i+1 < len(p) && p[i+1] == '*' {
				b.WriteString(".*")
				i++
			} else {
				b.WriteString("[^/]*")
			}
		case '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
