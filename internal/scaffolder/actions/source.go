package actions

import (
	"archive/tar"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/portico-dev/portico/internal/scaffolder"
)

// entry is one file or directory of a fetched tree, named by its
// slash-separated path below the tree's root.
type entry struct {
	path string
	dir  bool
	link string // the target, for a symbolic link
	mode fs.FileMode
	size int64
}

// tree is a fetched directory: a file system and its entries in walk
// order (parents before children).
type tree struct {
	fsys    fs.FS
	entries []entry
}

// fetcher resolves and reads what fetch:* actions name.
type fetcher struct {
	deps Deps
}

// location is a resolved fetch URL: a local directory or file (fsys and a
// path inside it), or a remote http(s) URL.
type location struct {
	fsys   fs.FS
	name   string // path inside fsys ("." for its root)
	remote *url.URL
	shown  string // how errors name it
}

// resolve turns the url input into a location: absolute http(s) URLs are
// read remotely (from allowed hosts only); relative ones resolve against
// the template's base (a file:// directory, a named file system such as
// Portico's embedded examples, or an http(s) URL) and may not leave the
// template's directory.
func (f *fetcher) resolve(ac *scaffolder.ActionContext, raw string) (*location, error) {
	if raw == "" {
		return nil, errors.New("input.url: required; give a path relative to the template (./skeleton) or an http(s) URL")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("input.url: %q is not a valid URL or path: %v", raw, err)
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return f.remote(u)
	}
	if u.Scheme != "" || u.Host != "" || strings.HasPrefix(raw, "/") {
		return nil, fmt.Errorf("input.url: %q: only http(s) URLs and paths relative to the template are supported", raw)
	}
	base := ac.TemplateInfo.BaseURL
	if base == "" {
		return nil, fmt.Errorf("input.url: %q is relative, but the template has no location to resolve it against; use an absolute http(s) URL", raw)
	}
	typ, target, _ := strings.Cut(base, ":")
	switch typ {
	case "http", "https":
		bu, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("template location %q is not a valid URL: %w", base, err)
		}
		return f.remote(bu.ResolveReference(u))
	case "file":
		bu, err := url.Parse(base)
		if err != nil {
			return nil, fmt.Errorf("template location %q is not a valid URL: %w", base, err)
		}
		rel, err := childPath(raw)
		if err != nil {
			return nil, err
		}
		dir := filepath.FromSlash(bu.Path)
		// The template's directory is opened as a root, so neither "../"
		// nor a symbolic link inside the skeleton reaches other files.
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("open the template's directory %s: %w", dir, err)
		}
		return &location{fsys: root.FS(), name: rel, shown: path.Join(bu.Path, rel)}, nil
	default:
		fsys, ok := f.deps.FileSystems[typ]
		if !ok {
			return nil, fmt.Errorf("input.url: %q cannot be resolved against the template's location %s (unknown location type %s)", raw, base, typ)
		}
		rel, err := childPath(raw)
		if err != nil {
			return nil, err
		}
		name := path.Join(strings.TrimSuffix(target, "/"), rel)
		return &location{fsys: fsys, name: name, shown: typ + ":" + name}, nil
	}
}

// childPath checks that a relative fetch URL stays below the template's
// directory.
func childPath(raw string) (string, error) {
	clean := path.Clean(strings.TrimPrefix(raw, "./"))
	if !filepath.IsLocal(filepath.FromSlash(clean)) && clean != "." {
		return "", fmt.Errorf("input.url: %q leads outside the template's directory; fetch only files beside the template", raw)
	}
	return clean, nil
}

func (f *fetcher) remote(u *url.URL) (*location, error) {
	if err := f.allowed(u); err != nil {
		return nil, err
	}
	return &location{remote: u, shown: u.Redacted()}, nil
}

// allowed applies backend.reading.allow (and the GitHub integrations'
// hosts) to a remote URL.
func (f *fetcher) allowed(u *url.URL) error {
	for _, a := range f.deps.ReadAllow {
		if a.Allows(u) {
			return nil
		}
	}
	for _, g := range f.deps.GitHub {
		if strings.EqualFold(g.Host, u.Host) {
			return nil
		}
	}
	return fmt.Errorf("input.url: fetching from %s is not allowed; add its host to backend.reading.allow", u.Redacted())
}

// readTree returns the directory at loc. A remote tree must be a tar
// archive (.tar, .tar.gz, .tgz), which is unpacked into a temporary
// directory of the step. Trees larger than the fetch limit are refused
// before their files are read.
func (f *fetcher) readTree(ctx context.Context, ac *scaffolder.ActionContext, loc *location, token string) (*tree, error) {
	if loc.remote != nil {
		dir, err := f.downloadArchive(ctx, ac, loc, token)
		if err != nil {
			return nil, err
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		loc = &location{fsys: root.FS(), name: ".", shown: loc.shown}
	}
	sub := loc.fsys
	if loc.name != "." {
		info, err := fs.Stat(loc.fsys, loc.name)
		if err != nil {
			return nil, fmt.Errorf("input.url: cannot read %s: %w", loc.shown, unwrapPath(err))
		}
		if !info.IsDir() {
			return nil, fmt.Errorf("input.url: %s is a file, not a directory; use the :file variant of the action for one file", loc.shown)
		}
		if sub, err = fs.Sub(loc.fsys, loc.name); err != nil {
			return nil, err
		}
	}
	t := &tree{fsys: sub}
	var total int64
	err := fs.WalkDir(sub, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e := entry{path: p, dir: d.IsDir(), mode: info.Mode().Perm(), size: info.Size()}
		if d.Type()&fs.ModeSymlink != 0 {
			rl, ok := sub.(fs.ReadLinkFS)
			if !ok {
				return nil
			}
			if e.link, err = rl.ReadLink(p); err != nil {
				return err
			}
			e.size = 0
		} else if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		total += e.size
		if total > f.deps.MaxFetchSize {
			return fmt.Errorf("input.url: %s is larger than the fetch limit of %s; keep skeletons small or fetch large files another way", loc.shown, sizeString(f.deps.MaxFetchSize))
		}
		t.entries = append(t.entries, e)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// openFile opens the file at loc with its mode and size; a remote file is
// streamed (its size is checked as it is read).
func (f *fetcher) openFile(ctx context.Context, loc *location, token string) (io.ReadCloser, fs.FileMode, error) {
	if loc.remote != nil {
		var target *url.URL
		accept := ""
		if gp, ok := f.githubURL(loc.remote); ok {
			// The raw file through the REST API, which takes the
			// integration's token (raw.githubusercontent.com does not for
			// Enterprise hosts).
			t, err := url.Parse(gp.api + "/repos/" + url.PathEscape(gp.owner) + "/" + url.PathEscape(gp.repo) + "/contents/" + gp.path)
			if err != nil {
				return nil, 0, fmt.Errorf("input.url: %w", err)
			}
			t.RawQuery = url.Values{"ref": {gp.ref}}.Encode()
			target, accept = t, "application/vnd.github.raw+json"
		}
		resp, err := f.get(ctx, loc, target, accept, token)
		if err != nil {
			return nil, 0, err
		}
		return resp, 0o644, nil
	}
	info, err := fs.Stat(loc.fsys, loc.name)
	if err != nil {
		return nil, 0, fmt.Errorf("input.url: cannot read %s: %w", loc.shown, unwrapPath(err))
	}
	if info.IsDir() {
		return nil, 0, fmt.Errorf("input.url: %s is a directory; use the action without :file to fetch a directory", loc.shown)
	}
	if info.Size() > f.deps.MaxFetchSize {
		return nil, 0, fmt.Errorf("input.url: %s is %s, larger than the fetch limit of %s", loc.shown, sizeString(info.Size()), sizeString(f.deps.MaxFetchSize))
	}
	r, err := loc.fsys.Open(loc.name)
	if err != nil {
		return nil, 0, fmt.Errorf("input.url: cannot read %s: %w", loc.shown, unwrapPath(err))
	}
	return r, info.Mode().Perm(), nil
}

// get makes the GET request for a remote location (or target, a URL it
// maps to, such as a GitHub API URL) and checks the status and announced
// size; the body it returns fails once it passes the limit.
func (f *fetcher) get(ctx context.Context, loc *location, target *url.URL, accept, token string) (io.ReadCloser, error) {
	if target == nil {
		target = loc.remote
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("input.url: %w", err)
	}
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	if token == "" {
		for _, g := range f.deps.GitHub {
			if strings.EqualFold(g.Host, loc.remote.Host) {
				token = g.Token
			}
		}
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := f.deps.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", loc.shown, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("fetch %s: HTTP %d", loc.shown, resp.StatusCode)
	}
	if resp.ContentLength > f.deps.MaxFetchSize {
		resp.Body.Close()
		return nil, fmt.Errorf("input.url: %s is %s, larger than the fetch limit of %s", loc.shown, sizeString(resp.ContentLength), sizeString(f.deps.MaxFetchSize))
	}
	return &limitedBody{rc: resp.Body, left: f.deps.MaxFetchSize, name: loc.shown}, nil
}

// githubPath is a github.com (or GitHub Enterprise) URL of a directory or
// file in a repository: https://host/<owner>/<repo>/(tree|blob)/<ref>/<path>.
type githubPath struct {
	api                    string
	owner, repo, ref, path string
}

// githubURL recognises a URL on a host with a GitHub integration (or
// github.com) that names a path in a repository; the ref is one path
// segment (a branch, tag or commit without slashes).
func (f *fetcher) githubURL(u *url.URL) (*githubPath, bool) {
	api := ""
	for _, g := range f.deps.GitHub {
		if strings.EqualFold(g.Host, u.Host) {
			api = strings.TrimRight(g.APIURL, "/")
		}
	}
	if api == "" {
		switch {
		case strings.EqualFold(u.Host, "github.com"):
			api = "https://api.github.com"
		case f.isGitHubHost(u.Host):
			api = "https://" + u.Host + "/api/v3"
		default:
			return nil, false
		}
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 4 || (parts[2] != "tree" && parts[2] != "blob") {
		return nil, false
	}
	return &githubPath{api: api, owner: parts[0], repo: parts[1], ref: parts[3], path: strings.Join(parts[4:], "/")}, true
}

// isGitHubHost reports whether host has a GitHub integration.
func (f *fetcher) isGitHubHost(host string) bool {
	for _, g := range f.deps.GitHub {
		if strings.EqualFold(g.Host, host) {
			return true
		}
	}
	return false
}

// limitedBody fails a read once more than the limit was read.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
	name string
}

func (l *limitedBody) Read(p []byte) (int, error) {
	n, err := l.rc.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		return n, fmt.Errorf("input.url: %s is larger than the fetch limit", l.name)
	}
	return n, err
}

func (l *limitedBody) Close() error { return l.rc.Close() }

// downloadArchive downloads a tar archive and unpacks it into a temporary
// directory, counting unpacked bytes against the fetch limit (so a small
// archive of huge files is refused too).
func (f *fetcher) downloadArchive(ctx context.Context, ac *scaffolder.ActionContext, loc *location, token string) (string, error) {
	p := strings.ToLower(loc.remote.Path)
	gz := strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tgz")
	var target *url.URL
	sub := "" // with a GitHub tarball: the directory to keep, below its top directory
	if gp, ok := f.githubURL(loc.remote); ok {
		t, err := url.Parse(gp.api + "/repos/" + url.PathEscape(gp.owner) + "/" + url.PathEscape(gp.repo) + "/tarball/" + url.PathEscape(gp.ref))
		if err != nil {
			return "", fmt.Errorf("input.url: %w", err)
		}
		target, gz, sub = t, true, strings.Trim(gp.path, "/")
	} else if !gz && !strings.HasSuffix(p, ".tar") {
		return "", fmt.Errorf("input.url: %s is not a directory Portico can download; point it at a .tar, .tar.gz or .tgz archive, a GitHub tree URL, or a path beside the template", loc.shown)
	}
	body, err := f.get(ctx, loc, target, "", token)
	if err != nil {
		return "", err
	}
	defer body.Close()
	var r io.Reader = body
	if gz {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return "", fmt.Errorf("fetch %s: not a gzip archive: %w", loc.shown, err)
		}
		defer zr.Close()
		r = zr
	}
	dir, err := ac.TempDir()
	if err != nil {
		return "", err
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", err
	}
	defer root.Close()
	tr := tar.NewReader(r)
	left := f.deps.MaxFetchSize
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return dir, nil
		}
		if err != nil {
			return "", fmt.Errorf("fetch %s: %w", loc.shown, err)
		}
		name := path.Clean(strings.TrimSuffix(hdr.Name, "/"))
		if target != nil {
			// A GitHub tarball: <owner>-<repo>-<sha>/<path>; keep sub.
			_, rest, _ := strings.Cut(name, "/")
			if sub != "" {
				if rest != sub && !strings.HasPrefix(rest, sub+"/") {
					continue
				}
				rest = strings.TrimPrefix(strings.TrimPrefix(rest, sub), "/")
			}
			if rest == "" || hdr.Typeflag == tar.TypeXGlobalHeader {
				continue
			}
			name = rest
		}
		if !filepath.IsLocal(filepath.FromSlash(name)) {
			if name == "." {
				continue
			}
			return "", fmt.Errorf("fetch %s: archive entry %q is outside the archive", loc.shown, hdr.Name)
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := root.MkdirAll(name, 0o755); err != nil {
				return "", err
			}
		case tar.TypeReg:
			left -= hdr.Size
			if left < 0 {
				return "", fmt.Errorf("input.url: %s unpacks to more than the fetch limit of %s", loc.shown, sizeString(f.deps.MaxFetchSize))
			}
			if d := path.Dir(name); d != "." {
				if err := root.MkdirAll(d, 0o755); err != nil {
					return "", err
				}
			}
			out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, fs.FileMode(hdr.Mode).Perm()|0o600)
			if err != nil {
				return "", err
			}
			_, err = io.Copy(out, io.LimitReader(tr, hdr.Size))
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return "", fmt.Errorf("fetch %s: %w", loc.shown, err)
			}
		}
	}
}

// unwrapPath drops the *fs.PathError wrapper, whose path is an internal
// one; the caller names the location.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func sizeString(n int64) string {
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

// targetDir checks a targetPath input: relative, inside the workspace.
func targetDir(field, p string) (string, error) {
	if p == "" {
		return ".", nil
	}
	clean := filepath.Clean(filepath.FromSlash(p))
	if clean == "." {
		return ".", nil
	}
	if !filepath.IsLocal(clean) {
		return "", fmt.Errorf("input.%s: %q is outside the workspace; use a relative path such as ./service", field, p)
	}
	return filepath.ToSlash(clean), nil
}

// writeFile writes data from r to name inside the workspace root, making
// its parent directories.
func writeFile(root *os.Root, name string, r io.Reader, mode fs.FileMode) error {
	if d := path.Dir(name); d != "." {
		if err := root.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	out, err := root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode|0o600)
	if err != nil {
		return err
	}
	_, err = io.Copy(out, r)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return err
}

// exists reports whether name exists in the workspace (without following
// a final symbolic link).
func exists(root *os.Root, name string) bool {
	_, err := root.Lstat(name)
	return err == nil
}
