package integrations

import (
	"net/url"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// Resolve resolves target against base as Backstage's integrations do: an
// absolute URL is returned as is; a path starting with "/" is relative to
// the root of base's repository when base is a GitHub or GitLab URL of a
// configured host (and to the host's root otherwise); anything else is
// resolved as a relative URL, and may not leave base's repository and ref
// when base is an integration's URL. A GitHub result names a tree ("/tree/"),
// which Open reads as a file and ReadTree as a directory, as Backstage's
// GitHub integration returns; base's query is kept for integration URLs.
func (s *Set) Resolve(base, target string) (string, error) {
	if t, err := url.Parse(target); err == nil && t.Scheme != "" && t.Host != "" {
		return target, nil
	}
	b, err := url.Parse(base)
	if err != nil {
		return "", errs.InputErrorf("invalid base URL %q: %v", base, err)
	}
	t, err := url.Parse(target)
	if err != nil {
		return "", errs.InputErrorf("invalid relative URL %q: %v", target, err)
	}
	_, isGitHub := s.GitHub(b.Host)
	gl, isGitLab := s.GitLab(b.Host)
	var root string // the repository's root at the ref: …/blob/REF
	switch {
	case isGitHub:
		if rp, err := parseGitHub(b); err == nil {
			root = "/" + rp.owner + "/" + rp.repo + "/" + rp.kind + "/" + rp.ref
		}
	case isGitLab:
		if rp, err := parseGitLab(gl, b); err == nil {
			prefix, _, _ := strings.Cut(b.Path, "/-/")
			root = prefix + "/-/" + rp.kind + "/" + rp.ref
		}
	}
	var r *url.URL
	if strings.HasPrefix(target, "/") && root != "" {
		r = b.ResolveReference(&url.URL{Path: root + t.Path, RawQuery: t.RawQuery, Fragment: t.Fragment})
	} else {
		r = b.ResolveReference(t)
	}
	if root != "" {
		if r.Host == b.Host && r.Path != root && !strings.HasPrefix(r.Path, root+"/") {
			return "", errs.InputErrorf("%q leads outside the repository of %s", target, redact(b))
		}
		if r.RawQuery == "" {
			r.RawQuery = b.RawQuery
		}
		if isGitHub && r.Host == b.Host {
			r = githubTree(r)
		}
	}
	return r.String(), nil
}

// githubTree turns a GitHub blob URL into the tree URL of the same path.
func githubTree(u *url.URL) *url.URL {
	parts := strings.SplitN(strings.TrimPrefix(u.Path, "/"), "/", 4)
	if len(parts) < 4 || parts[2] != "blob" {
		return u
	}
	c := *u
	c.Path = "/" + parts[0] + "/" + parts[1] + "/tree/" + parts[3]
	c.RawPath = ""
	return &c
}
