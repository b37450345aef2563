package integrations

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/errs"
)

// GitHubAppConfig is an entry of integrations.github[].apps: a GitHub App
// whose installations give the tokens for the owners (organizations or
// users) it is installed on, as in Backstage.
type GitHubAppConfig struct {
	// AppID is the App ID from the app's settings page; it is the issuer
	// of the JSON web tokens the app authenticates with.
	AppID string `yaml:"appId"`
	// PrivateKey is the PEM private key generated for the app (PKCS#1 or
	// PKCS#8, RSA). Literal "\n" sequences are read as line breaks, so a
	// key kept on one line of an environment variable works.
	PrivateKey string `yaml:"privateKey"`
	// ClientID, ClientSecret and WebhookSecret are accepted for
	// compatibility with Backstage's configuration; reads do not use them.
	ClientID      string `yaml:"clientId"`
	ClientSecret  string `yaml:"clientSecret"`
	WebhookSecret string `yaml:"webhookSecret"`
	// AllowedInstallationOwners, if set, limits the app to the
	// installations of these owners; other owners fall back to the
	// integration's token (or anonymous reads).
	AllowedInstallationOwners []string `yaml:"allowedInstallationOwners"`
}

// Installation tokens live an hour; one is renewed when less than
// tokenRenewBefore is left, so whoever gets a token (a read, a
// publish:github step) has at least that long to use it.
const tokenRenewBefore = 10 * time.Minute

// githubApps are the apps of one GitHub integration. GitHub holds a
// pointer to them so that copies of a GitHub share the token caches and
// stay comparable.
type githubApps struct {
	apps []*githubApp
}

// githubApp issues and caches installation tokens of one GitHub App.
type githubApp struct {
	key     string // the configuration key, integrations.github[i].apps[j]
	id      string
	private *rsa.PrivateKey
	allowed map[string]bool // lower-case owners; nil allows all
	api     string
	client  *http.Client // set by New

	mu     sync.Mutex
	owners map[string]*ownerToken // by lower-case owner
}

// ownerToken is the cached installation token of one owner. Its mutex is
// held while the token is fetched, so concurrent reads of one owner make
// one access_tokens call.
type ownerToken struct {
	mu      sync.Mutex
	token   string
	expires time.Time
	// notInstalledUntil is set when the app was found not installed for
	// the owner: until then it is not asked again, so reading many
	// repositories of such an owner (a discovery, a glob) does not list
	// the app's installations once per file.
	notInstalledUntil time.Time
}

// notInstalledFor is how long an owner the app is not installed on is
// remembered; an installation made meanwhile is used after at most that.
const notInstalledFor = 5 * time.Minute

var appIDPattern = regexp.MustCompile(`^[0-9]+$`)

// resolve checks an apps entry; key is its configuration path, which
// every error names.
func (c GitHubAppConfig) resolve(key, api string) (*githubApp, error) {
	id := strings.TrimSpace(c.AppID)
	if id == "" {
		return nil, fmt.Errorf("%s.appId is missing: set it to the App ID shown on the GitHub App's settings page", key)
	}
	if !appIDPattern.MatchString(id) {
		return nil, fmt.Errorf("%s.appId %q is not a number: use the numeric App ID from the GitHub App's settings page (not its client ID or name)", key, id)
	}
	if strings.TrimSpace(c.PrivateKey) == "" {
		return nil, fmt.Errorf("%s.privateKey is missing: set it to the PEM private key generated for the app (Settings > Developer settings > GitHub Apps > Private keys)", key)
	}
	private, err := parsePrivateKey(c.PrivateKey)
	if err != nil {
		return nil, fmt.Errorf("%s.privateKey: %v; set it to the whole .pem file GitHub generated for the app, from -----BEGIN to -----END lines", key, err)
	}
	a := &githubApp{key: key, id: id, private: private, api: api, owners: map[string]*ownerToken{}}
	if c.AllowedInstallationOwners != nil {
		a.allowed = map[string]bool{}
		for k, o := range c.AllowedInstallationOwners {
			o = strings.TrimSpace(o)
			if o == "" || strings.ContainsAny(o, "/ ") {
				return nil, fmt.Errorf("%s.allowedInstallationOwners[%d] %q is not an owner: list organization or user logins, such as acme", key, k, c.AllowedInstallationOwners[k])
			}
			a.allowed[strings.ToLower(o)] = true
		}
	}
	return a, nil
}

// parsePrivateKey reads an RSA key in a PKCS#1 ("RSA PRIVATE KEY", what
// GitHub generates) or PKCS#8 ("PRIVATE KEY") PEM block.
func parsePrivateKey(s string) (*rsa.PrivateKey, error) {
	// Backstage reads "\n" written out as two characters as a line break.
	s = strings.ReplaceAll(s, `\n`, "\n")
	block, _ := pem.Decode([]byte(strings.TrimSpace(s)))
	if block == nil {
		return nil, errors.New("not a PEM-encoded key (no -----BEGIN RSA PRIVATE KEY----- block found)")
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the RSA PRIVATE KEY block is not a valid PKCS#1 key (%v)", err)
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the PRIVATE KEY block is not a valid PKCS#8 key (%v)", err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("the key is a %T, but GitHub Apps sign with RSA keys", k)
		}
		return rk, nil
	}
	return nil, fmt.Errorf("the PEM block is a %q, not an RSA private key", block.Type)
}

// jwt is a JSON web token that authenticates as the app, signed RS256.
// GitHub refuses tokens that expire more than 10 minutes after they were
// issued; iat is set a minute back for clocks that run ahead of GitHub's.
func (a *githubApp) jwt(now time.Time) (string, error) {
	enc := base64.RawURLEncoding
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	claims, _ := json.Marshal(map[string]any{
		"iat": now.Add(-time.Minute).Unix(),
		"exp": now.Add(9 * time.Minute).Unix(),
		"iss": a.id,
	})
	input := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, a.private, crypto.SHA256, sum[:])
	if err != nil {
		return "", fmt.Errorf("sign the JWT of GitHub App %s: %w", a.id, err)
	}
	return input + "." + enc.EncodeToString(sig), nil
}

// forget drops owner's cached token if it is still token: GitHub refused
// it (revoked, or the installation was replaced), so the next request
// gets a new one instead of failing until the token would have expired.
func (a *githubApp) forget(owner, token string) {
	a.mu.Lock()
	o := a.owners[strings.ToLower(owner)]
	a.mu.Unlock()
	if o == nil {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token == token {
		o.token = ""
	}
}

// errNotInstalled is returned by token when the app has no installation
// for the owner (or may not use it): the caller falls back to the
// integration's token.
var errNotInstalled = errors.New("not installed")

// token returns an installation token for owner's repositories, cached
// until tokenRenewBefore before it expires.
func (a *githubApp) token(ctx context.Context, owner string) (string, error) {
	lower := strings.ToLower(owner)
	if a.allowed != nil && !a.allowed[lower] {
		return "", errNotInstalled
	}
	a.mu.Lock()
	o := a.owners[lower]
	if o == nil {
		o = &ownerToken{}
		a.owners[lower] = o
	}
	a.mu.Unlock()

	o.mu.Lock()
	defer o.mu.Unlock()
	if o.token != "" && time.Until(o.expires) > tokenRenewBefore {
		return o.token, nil
	}
	if time.Now().Before(o.notInstalledUntil) {
		return "", errNotInstalled
	}
	id, err := a.installation(ctx, owner)
	if errors.Is(err, errNotInstalled) {
		o.notInstalledUntil = time.Now().Add(notInstalledFor)
	}
	if err != nil {
		return "", err
	}
	var out struct {
		Token     string    `json:"token"`
		ExpiresAt time.Time `json:"expires_at"`
	}
	if err := a.call(ctx, http.MethodPost, a.api+"/app/installations/"+strconv.FormatInt(id, 10)+"/access_tokens", http.StatusCreated, &out, nil); err != nil {
		return "", fmt.Errorf("get an installation token of GitHub App %s (%s) for %s: %w", a.id, a.key, owner, err)
	}
	if out.Token == "" {
		return "", errs.InputErrorf("get an installation token of GitHub App %s (%s) for %s: the answer holds no token", a.id, a.key, owner)
	}
	o.token, o.expires = out.Token, out.ExpiresAt
	return o.token, nil
}

// installation finds the id of the app's installation whose account is
// owner (compared without case, as GitHub logins are).
func (a *githubApp) installation(ctx context.Context, owner string) (int64, error) {
	next := a.api + "/app/installations?per_page=100"
	for next != "" {
		var page []struct {
			ID      int64 `json:"id"`
			Account struct {
				Login string `json:"login"`
			} `json:"account"`
			SuspendedAt *string `json:"suspended_at"`
		}
		link := ""
		if err := a.call(ctx, http.MethodGet, next, http.StatusOK, &page, &link); err != nil {
			return 0, fmt.Errorf("list the installations of GitHub App %s (%s): %w", a.id, a.key, err)
		}
		for _, in := range page {
			if strings.EqualFold(in.Account.Login, owner) {
				if in.SuspendedAt != nil {
					return 0, errs.InputErrorf("the installation of GitHub App %s (%s) on %s is suspended; unsuspend it in %s's settings or remove %s from the app's allowedInstallationOwners", a.id, a.key, owner, owner, owner)
				}
				return in.ID, nil
			}
		}
		next = nextLink(link)
		// The next page gets the app's JWT too: only from the API itself.
		if u, _ := url.Parse(next); next != "" && !below(u, a.api) { // nextLink returns parsed URLs only
			return 0, errs.InputErrorf("list the installations of GitHub App %s (%s): the next page %s is not below %s", a.id, a.key, redact(u), a.api)
		}
	}
	return 0, errNotInstalled
}

// call makes one request authenticated as the app and decodes the JSON
// answer into out; link receives the Link header when not nil.
func (a *githubApp) call(ctx context.Context, method, target string, want int, out any, link *string) error {
	jwt, err := a.jwt(time.Now())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, target, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Authorization", "Bearer "+jwt)
	resp, err := a.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != want {
		msg := fmt.Sprintf("HTTP %d from %s", resp.StatusCode, redact(req.URL))
		if m := hostMessage(resp); m != "" {
			msg += ": " + m
		}
		if resp.StatusCode == http.StatusUnauthorized {
			msg += "; check the appId and privateKey of " + a.key
		}
		return errs.InputErrorf("%s", msg)
	}
	if link != nil {
		*link = resp.Header.Get("Link")
	}
	// An installation list is small; a bound keeps a confused host from
	// filling memory.
	if err := json.NewDecoder(io.LimitReader(resp.Body, 16<<20)).Decode(out); err != nil {
		return fmt.Errorf("read the answer of %s: %w", redact(req.URL), err)
	}
	return nil
}

// nextLink is the rel="next" URL of a Link header, or "".
func nextLink(h string) string {
	for part := range strings.SplitSeq(h, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok || !strings.Contains(strings.ReplaceAll(params, " ", ""), `rel="next"`) {
			continue
		}
		target = strings.Trim(strings.TrimSpace(target), "<>")
		if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
			return target
		}
	}
	return ""
}

// githubCredential is the token a request to an owner's repositories
// carries and what it is, for error hints.
type githubCredential struct {
	token string
	what  string // "the token of integrations.github (host h)", …
	// missing names the apps not installed for the owner, when the
	// request goes out with the integration's token or none.
	missing string
	// app and owner are set for an installation token.
	app   *githubApp
	owner string
}

// refused is called when GitHub answered 401 to a request with c: an
// installation token is dropped from the cache.
func (c *githubCredential) refused() {
	if c != nil && c.app != nil {
		c.app.forget(c.owner, c.token)
	}
}

// githubCredentials picks the credential for owner's repositories on g:
// the caller's override, else an installation token of the first app
// installed for owner, else the integration's token, else none. An app
// that fails for another reason than not being installed (a refused
// key, a suspended installation) fails the request, as in Backstage, so
// a broken app is not hidden behind anonymous reads.
func (s *Set) githubCredentials(ctx context.Context, g GitHub, owner, override string) (githubCredential, error) {
	if override != "" {
		return githubCredential{token: override, what: "the token given"}, nil
	}
	var missing []string
	if g.apps != nil && owner != "" {
		var firstErr error
		for _, a := range g.apps.apps {
			tok, err := a.token(ctx, owner)
			if err == nil {
				return githubCredential{token: tok, what: fmt.Sprintf("the installation token of GitHub App %s (%s) for %s", a.id, a.key, owner), app: a, owner: owner}, nil
			}
			if errors.Is(err, errNotInstalled) {
				missing = append(missing, fmt.Sprintf("GitHub App %s (%s)", a.id, a.key))
			} else if firstErr == nil {
				firstErr = err
			}
		}
		if firstErr != nil {
			return githubCredential{}, firstErr
		}
	}
	c := githubCredential{token: g.Token}
	if g.Token != "" {
		c.what = fmt.Sprintf("the token of integrations.github (host %s)", g.Host)
	}
	if len(missing) > 0 {
		c.missing = fmt.Sprintf("%s not installed for %s (or %s not among allowedInstallationOwners)", strings.Join(missing, " and "), owner, owner)
	}
	return c, nil
}

// hint words what to check when a GitHub read with this credential
// failed.
func (c githubCredential) hint(g GitHub) string {
	h := "check the URL's repository, ref and path"
	if c.token != "" {
		h += ", and that " + c.what + " may read the repository"
	} else {
		h += fmt.Sprintf("; a private repository needs a token in integrations.github (host %s)", g.Host)
	}
	if c.missing != "" {
		h += "; " + c.missing + ": install the app on that owner"
	}
	return h
}

// GitHubToken returns the token for calls to owner's repositories on the
// GitHub host, as the publish:github action needs: an installation token
// of an app of integrations.github[].apps installed for owner, else the
// integration's token. Unlike reads, which may go out anonymously, it
// fails when there is neither, naming the owner and the apps.
func (s *Set) GitHubToken(ctx context.Context, host, owner string) (string, error) {
	g, ok := s.GitHub(host)
	if !ok {
		return "", errs.InputErrorf("no integrations.github entry for host %s; add one with a token or apps", host)
	}
	c, err := s.githubCredentials(ctx, g, owner, "")
	if err != nil {
		return "", err
	}
	if c.token == "" {
		if c.missing != "" {
			return "", errs.InputErrorf("no credentials for %s on %s: %s, and integrations.github (host %s) has no token; install the app on %s or set a token", owner, host, c.missing, host, owner)
		}
		return "", errs.InputErrorf("no credentials for %s on %s: set integrations.github[].token or apps for host %s", owner, host, host)
	}
	return c.token, nil
}
