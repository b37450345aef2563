package integrations

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// IsGlob reports whether a URL's path holds a glob pattern (* or ?), as
// Backstage's URL reader processor decides whether to search.
func IsGlob(rawURL string) bool {
	u, err := parseHTTP(rawURL)
	return err == nil && strings.ContainsAny(u.Path, "*?")
}

// SearchFile is a file a glob URL matched, named by its own blob URL.
type SearchFile struct {
	URL  string
	Data []byte
}

// Search reads the files of a GitHub or GitLab repository that a file URL
// with a glob in its path matches, such as
// https://github.com/acme/svc/blob/main/services/**/catalog-info.yaml:
// "*" and "?" match within a path segment, "**" spans any number of them.
// The directory before the first pattern segment is read as a tree (see
// ReadTree, whose bounds opts gives) into a temporary directory, which is
// removed afterwards. Files come back in path order; a pattern that
// matches nothing gives no files and no error.
func (s *Set) Search(ctx context.Context, rawURL string, opts TreeOptions) ([]SearchFile, error) {
	u, err := parseHTTP(rawURL)
	if err != nil {
		return nil, err
	}
	var rp repoPath
	if _, ok := s.GitHub(u.Host); ok {
		rp, err = parseGitHub(u)
	} else if g, ok := s.GitLab(u.Host); ok {
		rp, err = parseGitLab(g, u)
	} else {
		return nil, errs.InputErrorf("%s has a glob pattern, which only GitHub and GitLab URLs (of a configured integration) support", redact(u))
	}
	if err != nil {
		return nil, err
	}
	if rp.kind == "" || !strings.ContainsAny(rp.path, "*?") {
		return nil, errs.InputErrorf("%s: a glob pattern may only be in the path after the ref, as in .../blob/main/**/catalog-info.yaml", redact(u))
	}
	segments := strings.Split(rp.path, "/")
	static := 0
	for static < len(segments) && !strings.ContainsAny(segments[static], "*?") {
		static++
	}
	pattern := segments[static:]
	for _, p := range pattern {
		if _, err := path.Match(p, ""); err != nil {
			return nil, errs.InputErrorf("%s: invalid glob pattern %q: %v", redact(u), p, err)
		}
	}
	dirURL := *u
	dirURL.Path = strings.TrimSuffix(u.Path, strings.Join(pattern, "/"))
	dirURL.Path = strings.TrimSuffix(dirURL.Path, "/")
	dirURL.RawPath = ""

	tmp, err := os.MkdirTemp("", "portico-search-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	root, err := os.OpenRoot(tmp)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	if err := s.ReadTree(ctx, dirURL.String(), root, opts); err != nil {
		return nil, err
	}
	var out []SearchFile
	err = fs.WalkDir(root.FS(), ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.Type().IsRegular() || !matchSegments(pattern, strings.Split(name, "/")) {
			return nil
		}
		data, err := fs.ReadFile(root.FS(), name)
		if err != nil {
			return err
		}
		file := dirURL
		file.Path = dirURL.Path + "/" + name
		out = append(out, SearchFile{URL: file.String(), Data: data})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("search %s: %w", redact(u), err)
	}
	return out, nil
}

// matchSegments matches a path, split in segments, against a pattern
// split the same way, where a "**" segment matches any number of
// segments (none included).
func matchSegments(pattern, name []string) bool {
	for len(pattern) > 0 {
		if pattern[0] == "**" {
			for skip := 0; skip <= len(name); skip++ {
				if matchSegments(pattern[1:], name[skip:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, _ := path.Match(pattern[0], name[0]); !ok {
			return false
		}
		pattern, name = pattern[1:], name[1:]
	}
	return len(name) == 0
}
