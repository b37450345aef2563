// Package integrations reads files and directory trees from source-control
// hosts by the URLs people copy from their browser, as Backstage's
// integrations and URL readers do: a GitHub or GitLab blob URL is read
// through the host's API (with the configured token), a tree URL as an
// archive of the repository unpacked below the named directory, and any
// other http(s) URL with a plain GET.
//
// The configuration is Backstage's integrations.github[] and
// integrations.gitlab[]. As in Backstage, github.com and gitlab.com are
// configured by default (without a token), and the hosts of configured
// integrations may be read without being listed in backend.reading.allow;
// the callers apply that list to every other host (see Set.Handles).
//
// Credentials go only to the integration they belong to: a token is sent
// to the integration's API or raw host, never to another host a redirect
// leads to, and errors name URLs without credentials.
package integrations

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// Config is the integrations section of the configuration.
type Config struct {
	GitHub []GitHubConfig `yaml:"github"`
	GitLab []GitLabConfig `yaml:"gitlab"`
}

// GitHubConfig is an entry of integrations.github: github.com or a GitHub
// Enterprise host.
type GitHubConfig struct {
	// Host is the web host ("github.com", "ghe.example.com"); default
	// github.com.
	Host string `yaml:"host"`
	// Token is a personal access token (or fine-grained token) used for
	// reads and the publish:github action, for the owners none of Apps is
	// installed on.
	Token string `yaml:"token"`
	// Apps are GitHub Apps whose installation tokens are used for the
	// owners they are installed on, in preference to Token.
	Apps []GitHubAppConfig `yaml:"apps"`
	// APIBaseURL is the REST API; default https://api.github.com for
	// github.com and https://HOST/api/v3 otherwise.
	APIBaseURL string `yaml:"apiBaseUrl"`
	// RawBaseURL serves raw files without a token; default
	// https://raw.githubusercontent.com for github.com and
	// https://HOST/raw otherwise.
	RawBaseURL string `yaml:"rawBaseUrl"`
}

// GitLabConfig is an entry of integrations.gitlab: gitlab.com or a
// self-hosted GitLab.
type GitLabConfig struct {
	// Host is the web host; default gitlab.com.
	Host string `yaml:"host"`
	// Token is a personal, project or group access token, sent as
	// PRIVATE-TOKEN.
	Token string `yaml:"token"`
	// APIBaseURL is the REST API; default https://HOST/api/v4.
	APIBaseURL string `yaml:"apiBaseUrl"`
	// BaseURL is where GitLab's web pages are, which may include a path
	// when GitLab is served below one; default https://HOST.
	BaseURL string `yaml:"baseUrl"`
}

// GitHub is a GitHub integration with its defaults filled in.
type GitHub struct {
	Host, Token, APIBaseURL, RawBaseURL string
	// apps are the configured GitHub Apps, nil without any; a pointer
	// keeps GitHub comparable and its copies sharing one token cache.
	apps *githubApps
}

// GitLab is a GitLab integration with its defaults filled in.
type GitLab struct {
	Host, Token, APIBaseURL, BaseURL string
}

// Set is the configured integrations and the HTTP client that reads
// through them. It is safe for concurrent use.
type Set struct {
	github []GitHub
	gitlab []GitLab
	client *http.Client
}

// New checks cfg, fills in Backstage's defaults and adds the github.com
// and gitlab.com entries unless cfg configures those hosts. Requests are
// made with client (nil: http.DefaultClient's transport), whose redirect
// policy is replaced by one that drops credentials on the way to another
// host.
func New(cfg Config, client *http.Client) (*Set, error) {
	s := &Set{}
	seen := map[string]bool{}
	for i, c := range cfg.GitHub {
		g, err := c.resolve()
		if err != nil {
			return nil, fmt.Errorf("integrations.github[%d]: %w", i, err)
		}
		if seen[g.Host] {
			return nil, fmt.Errorf("integrations.github[%d]: host %s is configured twice", i, g.Host)
		}
		for j, ac := range c.Apps {
			a, err := ac.resolve(fmt.Sprintf("integrations.github[%d].apps[%d]", i, j), g.APIBaseURL)
			if err != nil {
				return nil, err
			}
			if g.apps == nil {
				g.apps = &githubApps{}
			}
			g.apps.apps = append(g.apps.apps, a)
		}
		seen[g.Host] = true
		s.github = append(s.github, g)
	}
	for i, c := range cfg.GitLab {
		g, err := c.resolve()
		if err != nil {
			return nil, fmt.Errorf("integrations.gitlab[%d]: %w", i, err)
		}
		if seen[g.Host] {
			return nil, fmt.Errorf("integrations.gitlab[%d]: host %s is configured twice", i, g.Host)
		}
		seen[g.Host] = true
		s.gitlab = append(s.gitlab, g)
	}
	if !seen["github.com"] {
		g, _ := GitHubConfig{}.resolve()
		s.github = append(s.github, g)
	}
	if !seen["gitlab.com"] {
		g, _ := GitLabConfig{}.resolve()
		s.gitlab = append(s.gitlab, g)
	}
	c := http.Client{}
	if client != nil {
		c = *client
	}
	c.CheckRedirect = checkRedirect
	s.client = &c
	for _, g := range s.github {
		if g.apps != nil {
			for _, a := range g.apps.apps {
				a.client = s.client
			}
		}
	}
	return s, nil
}

func (c GitHubConfig) resolve() (GitHub, error) {
	g := GitHub{Host: strings.ToLower(strings.TrimSpace(c.Host)), Token: c.Token, APIBaseURL: c.APIBaseURL, RawBaseURL: c.RawBaseURL}
	if g.Host == "" {
		g.Host = "github.com"
	}
	if err := checkHost(g.Host); err != nil {
		return GitHub{}, err
	}
	if g.APIBaseURL == "" {
		g.APIBaseURL = "https://" + g.Host + "/api/v3"
		if g.Host == "github.com" {
			g.APIBaseURL = "https://api.github.com"
		}
	}
	if g.RawBaseURL == "" {
		g.RawBaseURL = "https://" + g.Host + "/raw"
		if g.Host == "github.com" {
			g.RawBaseURL = "https://raw.githubusercontent.com"
		}
	}
	var err error
	if g.APIBaseURL, err = baseURL("apiBaseUrl", g.APIBaseURL); err != nil {
		return GitHub{}, err
	}
	if g.RawBaseURL, err = baseURL("rawBaseUrl", g.RawBaseURL); err != nil {
		return GitHub{}, err
	}
	return g, nil
}

func (c GitLabConfig) resolve() (GitLab, error) {
	g := GitLab{Host: strings.ToLower(strings.TrimSpace(c.Host)), Token: c.Token, APIBaseURL: c.APIBaseURL, BaseURL: c.BaseURL}
	if g.Host == "" {
		g.Host = "gitlab.com"
	}
	if err := checkHost(g.Host); err != nil {
		return GitLab{}, err
	}
	if g.APIBaseURL == "" {
		g.APIBaseURL = "https://" + g.Host + "/api/v4"
	}
	if g.BaseURL == "" {
		g.BaseURL = "https://" + g.Host
	}
	var err error
	if g.APIBaseURL, err = baseURL("apiBaseUrl", g.APIBaseURL); err != nil {
		return GitLab{}, err
	}
	if g.BaseURL, err = baseURL("baseUrl", g.BaseURL); err != nil {
		return GitLab{}, err
	}
	return g, nil
}

// checkHost refuses hosts written as URLs, a common mistake
// (host: https://ghe.example.com).
func checkHost(h string) error {
	if strings.ContainsAny(h, "/?#@ ") {
		return fmt.Errorf("host %q must be a host name (and port), such as ghe.example.com, not a URL", h)
	}
	return nil
}

// baseURL checks an http(s) base URL and drops its trailing slash.
func baseURL(field, s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s %q is not an http(s) URL", field, s)
	}
	return strings.TrimRight(s, "/"), nil
}

// GitHub returns the GitHub integration of a web host.
func (s *Set) GitHub(host string) (GitHub, bool) {
	for _, g := range s.github {
		if strings.EqualFold(g.Host, host) {
			return g, true
		}
	}
	return GitHub{}, false
}

// GitLab returns the GitLab integration of a web host.
func (s *Set) GitLab(host string) (GitLab, bool) {
	for _, g := range s.gitlab {
		if strings.EqualFold(g.Host, host) {
			return g, true
		}
	}
	return GitLab{}, false
}

// Handles reports whether u is on the web host of a configured integration
// (or a GitHub integration's raw host), which may be read without being in
// backend.reading.allow.
func (s *Set) Handles(u *url.URL) bool {
	if u.Scheme != "http" && u.Scheme != "https" {
		return false
	}
	if _, ok := s.GitHub(u.Host); ok {
		return true
	}
	if _, ok := s.GitLab(u.Host); ok {
		return true
	}
	_, ok := s.githubByRaw(u)
	return ok
}

// githubByRaw finds the GitHub integration whose raw base URL u is below.
func (s *Set) githubByRaw(u *url.URL) (GitHub, bool) {
	for _, g := range s.github {
		if below(u, g.RawBaseURL) {
			return g, true
		}
	}
	return GitHub{}, false
}

// below reports whether u is base or a URL under it (same scheme and host,
// path below base's path).
func below(u *url.URL, base string) bool {
	b, err := url.Parse(base)
	if err != nil || !strings.EqualFold(b.Scheme, u.Scheme) || !strings.EqualFold(b.Host, u.Host) {
		return false
	}
	bp := strings.TrimRight(b.Path, "/")
	return bp == "" || u.Path == bp || strings.HasPrefix(u.Path, bp+"/")
}
