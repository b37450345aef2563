package integrations

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// DefaultMaxSize bounds a file read when ReadOptions.MaxSize is zero.
const DefaultMaxSize = 32 << 20

// ErrTooLarge is in the chain of the error a read returns when a body
// passes its size limit, so callers can word the limit their own way.
var ErrTooLarge = errors.New("larger than the size limit")

// ReadOptions tune a file read.
type ReadOptions struct {
	// ETag, if set, is sent as If-None-Match; an unchanged file then
	// comes back as NotModified without a body.
	ETag string
	// MaxSize bounds the body; 0 means DefaultMaxSize.
	MaxSize int64
	// Token replaces the integration's token (the scaffolder's token
	// input); for a URL no integration serves it is sent as a bearer
	// token to that URL's host.
	Token string
}

// Response is an open file: its body (nil when NotModified), which fails
// with ErrTooLarge once it passes the limit, and its ETag.
type Response struct {
	Body        io.ReadCloser
	ETag        string
	NotModified bool
}

// File is a file read whole.
type File struct {
	Data        []byte
	ETag        string
	NotModified bool
}

// ReadFile reads the file rawURL names; see Open.
func (s *Set) ReadFile(ctx context.Context, rawURL string, opts ReadOptions) (*File, error) {
	r, err := s.Open(ctx, rawURL, opts)
	if err != nil {
		return nil, err
	}
	if r.NotModified {
		return &File{ETag: r.ETag, NotModified: true}, nil
	}
	defer r.Body.Close()
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, err
	}
	return &File{Data: data, ETag: r.ETag}, nil
}

// Open opens the file rawURL names. A GitHub blob (or tree) URL on a
// configured host is read through the contents API when a token is
// available and from the raw host otherwise; a URL below the raw host is
// read as is; a GitLab blob URL through the repository files API; any other
// http(s) URL with a plain GET. Errors carry errs kinds: NotFound for 404,
// Input for anything else the host refused.
func (s *Set) Open(ctx context.Context, rawURL string, opts ReadOptions) (*Response, error) {
	u, err := parseHTTP(rawURL)
	if err != nil {
		return nil, err
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxSize
	}
	req, hint, cred, err := s.fileRequest(ctx, u, opts.Token)
	if err != nil {
		return nil, err
	}
	if opts.ETag != "" {
		req.Header.Set("If-None-Match", opts.ETag)
	}
	shown := redact(u)
	resp, err := s.do(req, shown, hint, cred, opts.ETag != "")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusNotModified {
		resp.Body.Close()
		return &Response{ETag: opts.ETag, NotModified: true}, nil
	}
	if resp.ContentLength > opts.MaxSize {
		resp.Body.Close()
		return nil, tooLarge(shown, opts.MaxSize)
	}
	return &Response{
		Body: &limitedBody{rc: resp.Body, left: opts.MaxSize, max: opts.MaxSize, name: shown},
		ETag: resp.Header.Get("ETag"),
	}, nil
}

// fileRequest builds the request that reads the file u names, a hint
// for errors (which token was used, where to configure one) and the GitHub
// credential used, if any.
func (s *Set) fileRequest(ctx context.Context, u *url.URL, tokenOverride string) (*http.Request, string, *githubCredential, error) {
	// The raw host first: on GitHub Enterprise it is a path of the web
	// host (https://HOST/raw).
	if g, ok := s.githubByRaw(u); ok {
		req, err := newRequest(ctx, u.String())
		if err != nil {
			return nil, "", nil, err
		}
		cred, err := s.githubCredentials(ctx, g, rawOwner(u, g), tokenOverride)
		if err != nil {
			return nil, "", nil, err
		}
		if cred.token != "" {
			req.Header.Set("Authorization", "Bearer "+cred.token)
		}
		return req, cred.hint(g), &cred, nil
	}
	if g, ok := s.GitHub(u.Host); ok {
		rp, err := parseGitHub(u)
		if err != nil {
			return nil, "", nil, err
		}
		if rp.ref == "" || rp.path == "" {
			return nil, "", nil, errs.InputErrorf("%s names a repository or directory, not a file; a file's URL is https://%s/OWNER/REPO/blob/REF/PATH", redact(u), u.Host)
		}
		cred, err := s.githubCredentials(ctx, g, rp.owner, tokenOverride)
		if err != nil {
			return nil, "", nil, err
		}
		if token := cred.token; token != "" {
			target := g.APIBaseURL + "/repos/" + url.PathEscape(rp.owner) + "/" + url.PathEscape(rp.repo) + "/contents/" + escapePath(rp.path) + "?" + url.Values{"ref": {rp.ref}}.Encode()
			req, err := newRequest(ctx, target)
			if err != nil {
				return nil, "", nil, err
			}
			req.Header.Set("Accept", "application/vnd.github.raw+json")
			req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
			req.Header.Set("Authorization", "Bearer "+token)
			return req, cred.hint(g), &cred, nil
		}
		target := g.RawBaseURL + "/" + url.PathEscape(rp.owner) + "/" + url.PathEscape(rp.repo) + "/" + url.PathEscape(rp.ref) + "/" + escapePath(rp.path)
		req, err := newRequest(ctx, target)
		return req, cred.hint(g), nil, err
	}
	if g, ok := s.GitLab(u.Host); ok {
		rp, err := parseGitLab(g, u)
		if err != nil {
			return nil, "", nil, err
		}
		if rp.ref == "" || rp.path == "" {
			return nil, "", nil, errs.InputErrorf("%s names a project or directory, not a file; a file's URL is %s/GROUP/PROJECT/-/blob/REF/PATH", redact(u), g.BaseURL)
		}
		target := g.APIBaseURL + "/projects/" + url.PathEscape(rp.project) + "/repository/files/" + url.PathEscape(rp.path) + "/raw?" + url.Values{"ref": {rp.ref}}.Encode()
		req, err := newRequest(ctx, target)
		if err != nil {
			return nil, "", nil, err
		}
		token := first(tokenOverride, g.Token)
		if token != "" {
			req.Header.Set("PRIVATE-TOKEN", token)
		}
		return req, gitlabHint(g, token != ""), nil, nil
	}
	req, err := newRequest(ctx, u.String())
	if err != nil {
		return nil, "", nil, err
	}
	if tokenOverride != "" {
		req.Header.Set("Authorization", "Bearer "+tokenOverride)
	}
	return req, "", nil, nil
}

// rawOwner is the owner a URL below g's raw host names
// (RAWBASE/OWNER/REPO/REF/PATH), or "" if it names none.
func rawOwner(u *url.URL, g GitHub) string {
	b, err := url.Parse(g.RawBaseURL)
	if err != nil {
		return ""
	}
	rest := strings.TrimPrefix(strings.TrimPrefix(u.Path, strings.TrimRight(b.Path, "/")), "/")
	owner, _, _ := strings.Cut(rest, "/")
	return owner
}

func gitlabHint(g GitLab, withToken bool) string {
	if withToken {
		return fmt.Sprintf("check the URL's project, ref and path, and that the token of integrations.gitlab (host %s) may read the project", g.Host)
	}
	return fmt.Sprintf("check the URL's project, ref and path; a private project needs a token in integrations.gitlab (host %s)", g.Host)
}

func first(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func newRequest(ctx context.Context, target string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, errs.InputErrorf("invalid URL %q: %w", target, err)
	}
	return req, nil
}

// do sends req and checks the status: 200 (and 304 when an ETag was
// sent) pass; 404 is a NotFound error; anything else an Input error naming
// shown (the URL the caller gave), the request URL if it differs, the
// host's message and the hint. A 401 tells cred (the GitHub credential
// req carries, or nil) that it was refused.
func (s *Set) do(req *http.Request, shown, hint string, cred *githubCredential, conditional bool) (*http.Response, error) {
	resp, err := s.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", shown, err)
	}
	if resp.StatusCode == http.StatusOK || (conditional && resp.StatusCode == http.StatusNotModified) {
		return resp, nil
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusUnauthorized {
		cred.refused()
	}
	msg := fmt.Sprintf("HTTP %d", resp.StatusCode)
	if via := redact(req.URL); via != shown {
		msg += " from " + via
	}
	if m := hostMessage(resp); m != "" {
		msg += ": " + m
	}
	if hint != "" {
		msg += "; " + hint
	}
	if resp.StatusCode == http.StatusNotFound {
		return nil, errs.NotFoundf("%s was not found (%s)", shown, msg)
	}
	return nil, errs.InputErrorf("reading %s failed (%s)", shown, msg)
}

// hostMessage is the message of a GitHub or GitLab JSON error body
// ({"message": …}), if the response has one.
func hostMessage(resp *http.Response) string {
	if !strings.Contains(resp.Header.Get("Content-Type"), "json") {
		return ""
	}
	var body struct {
		Message any `json:"message"`
	}
	if json.NewDecoder(io.LimitReader(resp.Body, 4096)).Decode(&body) != nil || body.Message == nil {
		return ""
	}
	if s, ok := body.Message.(string); ok {
		return s
	}
	data, _ := json.Marshal(body.Message)
	return string(data)
}

// checkRedirect follows up to 10 redirects and drops credentials when one
// leads to another host or scheme than the request's first: the GitHub
// tarball redirects to a download host with a signed URL, which must not
// see the token (Go's client keeps custom headers like PRIVATE-TOKEN on
// every redirect, and Authorization when only the port differs).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	orig := via[0].URL
	if !strings.EqualFold(req.URL.Host, orig.Host) || req.URL.Scheme != orig.Scheme {
		req.Header.Del("Authorization")
		req.Header.Del("PRIVATE-TOKEN")
	}
	return nil
}

func parseHTTP(rawURL string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, errs.InputErrorf("invalid URL %q: %w", rawURL, err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errs.InputErrorf("cannot read %s: only http and https URLs can be read", redact(u))
	}
	return u, nil
}

// redact shows a URL without a password or token-like query parameters.
func redact(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		q := c.Query()
		changed := false
		for k := range q {
			if lk := strings.ToLower(k); strings.Contains(lk, "token") || strings.Contains(lk, "secret") || lk == "sig" || lk == "signature" {
				q[k] = []string{"xxxxx"}
				changed = true
			}
		}
		if changed {
			c.RawQuery = q.Encode()
		}
	}
	return c.Redacted()
}

// escapePath escapes each segment of a slash-separated path.
func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// repoPath is what a GitHub or GitLab web URL names: a path at a ref in a
// repository (owner/repo on GitHub, the project's full path on GitLab).
type repoPath struct {
	owner, repo string // GitHub
	project     string // GitLab
	kind        string // "blob", "tree" or "raw"
	ref, path   string
}

// parseGitHub reads https://HOST/OWNER/REPO/(blob|tree|raw)/REF[/PATH], or
// https://HOST/OWNER/REPO for the whole repository at its default branch
// (ref ""). The ref is one path segment, as in Backstage: a branch or tag
// with a slash cannot be told from its path.
func parseGitHub(u *url.URL) (repoPath, error) {
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) == 2 && parts[0] != "" && parts[1] != "" {
		return repoPath{owner: parts[0], repo: strings.TrimSuffix(parts[1], ".git")}, nil
	}
	if len(parts) < 4 || parts[0] == "" || parts[1] == "" || (parts[2] != "blob" && parts[2] != "tree" && parts[2] != "raw") || parts[3] == "" {
		return repoPath{}, errs.InputErrorf("%s is not a GitHub file or directory URL; use https://%s/OWNER/REPO/blob/REF/PATH (or /tree/ for a directory)", redact(u), u.Host)
	}
	rp := repoPath{owner: parts[0], repo: parts[1], kind: parts[2], ref: parts[3], path: strings.Join(parts[4:], "/")}
	return rp, checkRepoPath(u, rp.path)
}

// parseGitLab reads BASEURL/GROUP[/SUBGROUP…]/PROJECT/-/(blob|tree|raw)/REF[/PATH],
// or BASEURL/GROUP[/SUBGROUP…]/PROJECT for the whole project at its default
// branch (ref "").
func parseGitLab(g GitLab, u *url.URL) (repoPath, error) {
	bad := errs.InputErrorf("%s is not a GitLab file or directory URL; use %s/GROUP/PROJECT/-/blob/REF/PATH (or /-/tree/ for a directory)", redact(u), g.BaseURL)
	p := u.Path
	if b, err := url.Parse(g.BaseURL); err == nil && strings.EqualFold(b.Host, u.Host) {
		p = strings.TrimPrefix(p, strings.TrimRight(b.Path, "/"))
	}
	project, rest, ok := strings.Cut(strings.Trim(p, "/"), "/-/")
	if !ok && strings.Count(project, "/") >= 1 && !strings.Contains(project, "/-") {
		return repoPath{project: strings.TrimSuffix(project, ".git")}, nil
	}
	if !ok || project == "" {
		return repoPath{}, bad
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || (parts[0] != "blob" && parts[0] != "tree" && parts[0] != "raw") || parts[1] == "" {
		return repoPath{}, bad
	}
	rp := repoPath{project: project, kind: parts[0], ref: parts[1], path: strings.Join(parts[2:], "/")}
	return rp, checkRepoPath(u, rp.path)
}

// checkRepoPath refuses paths with . or .. segments, which the API would
// read differently from the web URL.
func checkRepoPath(u *url.URL, p string) error {
	if p == "" {
		return nil
	}
	if path.Clean(p) != strings.TrimSuffix(p, "/") || strings.HasPrefix(p, "/") {
		return errs.InputErrorf("%s has a path with empty, . or .. segments", redact(u))
	}
	return nil
}

// limitedBody fails a read once more than max bytes were read.
type limitedBody struct {
	rc        io.ReadCloser
	left, max int64
	name      string
}

func (l *limitedBody) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, tooLarge(l.name, l.max)
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, tooLarge(l.name, l.max)
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

func tooLarge(name string, limit int64) error {
	return errs.New(errs.Input, "%s is larger than the limit of %s: %w", name, SizeString(limit), ErrTooLarge)
}

// SizeString formats a byte count for messages (12 bytes, 3.5 MiB).
func SizeString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}
