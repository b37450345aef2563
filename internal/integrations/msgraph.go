package integrations

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Microsoft Graph is read with an application's client credentials (OAuth2
// client credentials grant against Microsoft Entra ID), as Backstage's
// msgraph module does with a client id and secret. The token is cached and
// renewed shortly before it expires, so a run over thousands of users and
// groups asks for one token, not one per request.

// Defaults of a Microsoft Graph client, as Backstage's msgraph module has
// them.
const (
	DefaultMSGraphTarget    = "https://graph.microsoft.com/v1.0"
	DefaultMSGraphAuthority = "https://login.microsoftonline.com"
)

const (
	// msGraphTokenMargin is how long before its expiry a token is renewed,
	// so a request never leaves with a token that dies on the way.
	msGraphTokenMargin = 5 * time.Minute
	// msGraphMaxBody bounds a response read into memory (a page of 999
	// users is well below it; a photo is a few kilobytes).
	msGraphMaxBody = 64 << 20
	// msGraphRetries is how often a throttled (429) or unavailable (503,
	// 504) request is tried again, after Graph's Retry-After.
	msGraphRetries = 3
	msGraphMaxWait = 60 * time.Second
	// msGraphRequestTimeout bounds one request of a client made without
	// an http.Client of the caller's.
	msGraphRequestTimeout = 2 * time.Minute
	msGraphMaxPages       = 100_000
	msGraphUserAgent      = "portico-msgraph"
	// msGraphName starts error messages.
	msGraphName = "Microsoft Graph"
)

// MSGraphConfig is how a Microsoft Graph client reaches Graph and its
// token endpoint.
type MSGraphConfig struct {
	// Target is Graph's base URL; default https://graph.microsoft.com/v1.0.
	Target string
	// Authority is the identity platform's base URL; default
	// https://login.microsoftonline.com. The token endpoint is
	// <authority>/<tenantId>/oauth2/v2.0/token.
	Authority string
	TenantID  string
	ClientID  string
	// ClientSecret is the secret of the application registration.
	ClientSecret string
}

// MSGraph is a Microsoft Graph client authenticated with client
// credentials. It is safe for concurrent use.
type MSGraph struct {
	target   *url.URL
	tokenURL string
	scope    string
	clientID string
	secret   string
	client   *http.Client
	now      func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// MSGraphError is an error answer of Graph or of its token endpoint: the
// HTTP status and the error code and message the body carried.
type MSGraphError struct {
	// Op says what was asked, such as "GET /users" or "token request".
	Op      string
	Status  int
	Code    string
	Message string
}

func (e *MSGraphError) Error() string {
	s := fmt.Sprintf("Microsoft Graph %s: %d %s", e.Op, e.Status, http.StatusText(e.Status))
	if e.Code != "" {
		s += ": " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// IsMSGraphNotFound reports whether err is Graph's 404 answer.
func IsMSGraphNotFound(err error) bool {
	var ge *MSGraphError
	return errors.As(err, &ge) && ge.Status == http.StatusNotFound
}

// NewMSGraph checks cfg and makes a client that sends its requests with
// client (nil: a client of its own, with a timeout per request).
func NewMSGraph(cfg MSGraphConfig, client *http.Client) (*MSGraph, error) {
	target := strings.TrimRight(strings.TrimSpace(cfg.Target), "/")
	if target == "" {
		target = DefaultMSGraphTarget
	}
	t, err := url.Parse(target)
	if err != nil || (t.Scheme != "https" && t.Scheme != "http") || t.Host == "" {
		return nil, fmt.Errorf("target %q is not an http(s) URL such as %s", cfg.Target, DefaultMSGraphTarget)
	}
	authority := strings.TrimRight(strings.TrimSpace(cfg.Authority), "/")
	if authority == "" {
		authority = DefaultMSGraphAuthority
	}
	a, err := url.Parse(authority)
	if err != nil || (a.Scheme != "https" && a.Scheme != "http") || a.Host == "" {
		return nil, fmt.Errorf("authority %q is not an http(s) URL such as %s", cfg.Authority, DefaultMSGraphAuthority)
	}
	if cfg.TenantID == "" || strings.ContainsAny(cfg.TenantID, "/?# ") {
		return nil, fmt.Errorf("tenantId %q is not a tenant id (a GUID or a domain such as contoso.onmicrosoft.com)", cfg.TenantID)
	}
	if cfg.ClientID == "" || cfg.ClientSecret == "" {
		return nil, errors.New("clientId and clientSecret are both needed")
	}
	if client == nil {
		// A bound per request, so a Graph that stops answering cannot
		// stall a provider that has no schedule timeout.
		client = &http.Client{Timeout: msGraphRequestTimeout}
	}
	return &MSGraph{
		target:   t,
		tokenURL: authority + "/" + url.PathEscape(cfg.TenantID) + "/oauth2/v2.0/token",
		// The scope names the resource by its host, as Azure Identity
		// derives it from the URL (graph.microsoft.us for US Government).
		scope:    t.Scheme + "://" + t.Host + "/.default",
		clientID: cfg.ClientID,
		secret:   cfg.ClientSecret,
		client:   client,
		now:      time.Now,
	}, nil
}

// MSGraphQuery is the OData query of a Graph request.
type MSGraphQuery struct {
	Filter string
	Search string
	Expand string
	Select []string
	// Top is the page size asked for (Graph caps it, at 999 for users
	// and groups).
	Top int
	// Advanced asks for Graph's advanced query capabilities: the
	// ConsistencyLevel: eventual header and $count=true, which $search
	// always needs and some filters do.
	Advanced bool
}

func (q MSGraphQuery) advanced() bool { return q.Advanced || q.Search != "" }

// encode writes the query string. Values are percent-encoded with %20 for
// spaces: OData reads a + literally.
func (q MSGraphQuery) encode() string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+strings.ReplaceAll(url.QueryEscape(v), "+", "%20"))
		}
	}
	add("$search", q.Search)
	add("$filter", q.Filter)
	add("$select", strings.Join(q.Select, ","))
	add("$expand", q.Expand)
	if q.advanced() && (q.Filter != "" || len(q.Select) > 0 || q.Search != "") {
		add("$count", "true")
	}
	if q.Top > 0 {
		add("$top", strconv.Itoa(q.Top))
	}
	return strings.Join(parts, "&")
}

// List reads the collection at path (such as "users" or
// "groups/{id}/members") page by page, following @odata.nextLink, and calls
// fn with each item.
func (g *MSGraph) List(ctx context.Context, path string, q MSGraphQuery, fn func(item json.RawMessage) error) error {
	next := g.url(path, q)
	op := "GET /" + strings.TrimLeft(path, "/")
	for page := 0; next != ""; page++ {
		if page >= msGraphMaxPages {
			return fmt.Errorf("%s %s: more than %d pages; stopped", msGraphName, op, msGraphMaxPages)
		}
		var body struct {
			Value    []json.RawMessage `json:"value"`
			NextLink string            `json:"@odata.nextLink"`
		}
		if err := g.getJSON(ctx, op, next, q.advanced(), &body); err != nil {
			return err
		}
		for _, item := range body.Value {
			if err := fn(item); err != nil {
				return err
			}
		}
		if body.NextLink != "" {
			// The token goes only to Graph: a next link elsewhere is refused.
			u, err := url.Parse(body.NextLink)
			if err != nil || !strings.EqualFold(u.Scheme, g.target.Scheme) || !strings.EqualFold(u.Host, g.target.Host) {
				return fmt.Errorf("%s %s: the next page's link %q is not on %s", msGraphName, op, body.NextLink, g.target.Host)
			}
			if body.NextLink == next {
				return fmt.Errorf("%s %s: the next page's link is the page just read", msGraphName, op)
			}
		}
		next = body.NextLink
	}
	return nil
}

// Get reads the object at path into v.
func (g *MSGraph) Get(ctx context.Context, path string, q MSGraphQuery, v any) error {
	return g.getJSON(ctx, "GET /"+strings.TrimLeft(path, "/"), g.url(path, q), q.advanced(), v)
}

// GetBytes reads the raw content at path (a photo's $value), with its
// content type.
func (g *MSGraph) GetBytes(ctx context.Context, path string) ([]byte, string, error) {
	op := "GET /" + strings.TrimLeft(path, "/")
	res, err := g.do(ctx, op, g.url(path, MSGraphQuery{}), false)
	if err != nil {
		return nil, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, msGraphMaxBody))
	if err != nil {
		return nil, "", fmt.Errorf("%s %s: %w", msGraphName, op, err)
	}
	return b, res.Header.Get("Content-Type"), nil
}

func (g *MSGraph) url(path string, q MSGraphQuery) string {
	u := g.target.String() + "/" + strings.TrimLeft(path, "/")
	if qs := q.encode(); qs != "" {
		u += "?" + qs
	}
	return u
}

func (g *MSGraph) getJSON(ctx context.Context, op, u string, advanced bool, v any) error {
	res, err := g.do(ctx, op, u, advanced)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if err := json.NewDecoder(io.LimitReader(res.Body, msGraphMaxBody)).Decode(v); err != nil {
		return fmt.Errorf("%s %s: the answer is not the JSON expected: %w", msGraphName, op, err)
	}
	return nil
}

// do sends a GET with the bearer token and returns a 2xx response; other
// answers become *MSGraphError. Throttled requests are retried after
// Graph's Retry-After; a 401 renews the token once.
func (g *MSGraph) do(ctx context.Context, op, u string, advanced bool) (*http.Response, error) {
	renewed := false
	for attempt := 0; ; attempt++ {
		token, err := g.accessToken(ctx)
		if err != nil {
			return nil, err
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", msGraphName, op, err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Accept", "application/json")
		req.Header.Set("User-Agent", msGraphUserAgent)
		if advanced {
			// Advanced queries ($search, $count, some filters) are served
			// from an eventually consistent index.
			req.Header.Set("ConsistencyLevel", "eventual")
		}
		res, err := g.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", msGraphName, op, err)
		}
		if res.StatusCode/100 == 2 {
			return res, nil
		}
		gerr := graphError(op, res)
		res.Body.Close()
		switch {
		case res.StatusCode == http.StatusUnauthorized && !renewed:
			// The token may have been revoked or expired early.
			renewed = true
			g.forgetToken(token)
			continue
		case (res.StatusCode == http.StatusTooManyRequests || res.StatusCode == http.StatusServiceUnavailable ||
			res.StatusCode == http.StatusGatewayTimeout) && attempt < msGraphRetries:
			if err := sleepCtx(ctx, retryAfter(res.Header.Get("Retry-After"), attempt)); err != nil {
				return nil, fmt.Errorf("%w (%w)", gerr, err)
			}
			continue
		}
		return nil, gerr
	}
}

// graphError reads Graph's {"error": {"code", "message"}} body.
func graphError(op string, res *http.Response) *MSGraphError {
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(res.Body, 64<<10))
	e := &MSGraphError{Op: op, Status: res.StatusCode}
	if json.Unmarshal(raw, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	} else if s := strings.TrimSpace(string(raw)); s != "" && len(s) < 300 {
		e.Message = s
	}
	return e
}

// retryAfter is Graph's Retry-After in seconds, or a short backoff.
func retryAfter(h string, attempt int) time.Duration {
	if s, err := strconv.Atoi(strings.TrimSpace(h)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, msGraphMaxWait)
	}
	return time.Duration(1<<attempt) * time.Second
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// accessToken returns the cached token, or asks the token endpoint for a
// new one when there is none or it expires soon.
func (g *MSGraph) accessToken(ctx context.Context) (string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token != "" && g.now().Before(g.expires) {
		return g.token, nil
	}
	form := url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {g.clientID},
		"client_secret": {g.secret},
		"scope":         {g.scope},
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.tokenURL, strings.NewReader(form.Encode()))
	if err != nil {
		return "", fmt.Errorf("%s token request to %s: %w", msGraphName, g.tokenURL, err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", msGraphUserAgent)
	res, err := g.client.Do(req)
	if err != nil {
		return "", fmt.Errorf("%s token request to %s: %w", msGraphName, g.tokenURL, err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return "", fmt.Errorf("%s token request to %s: %w", msGraphName, g.tokenURL, err)
	}
	var body struct {
		AccessToken string          `json:"access_token"`
		ExpiresIn   json.RawMessage `json:"expires_in"`
		Error       string          `json:"error"`
		Description string          `json:"error_description"`
	}
	_ = json.Unmarshal(raw, &body)
	if res.StatusCode != http.StatusOK || body.AccessToken == "" {
		e := &MSGraphError{Op: "token request to " + g.tokenURL, Status: res.StatusCode, Code: body.Error, Message: firstLine(body.Description)}
		if e.Code == "" && e.Message == "" && len(raw) < 300 {
			e.Message = strings.TrimSpace(string(raw))
		}
		return "", e
	}
	// expires_in is a number of seconds (some endpoints write it as a
	// string).
	secs, err := strconv.Atoi(strings.Trim(string(bytes.TrimSpace(body.ExpiresIn)), `"`))
	if err != nil || secs <= 0 {
		secs = 3600
	}
	life := time.Duration(secs) * time.Second
	margin := min(msGraphTokenMargin, life/2)
	g.token, g.expires = body.AccessToken, g.now().Add(life-margin)
	return g.token, nil
}

// forgetToken drops the cached token if it is still token.
func (g *MSGraph) forgetToken(token string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.token == token {
		g.token = ""
	}
}

// firstLine keeps the first line of an Entra ID error description, which
// goes on with a trace and correlation id.
func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return strings.TrimSpace(strings.TrimSuffix(line, "\r"))
}
