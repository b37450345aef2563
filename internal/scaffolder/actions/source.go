package actions

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/portico-dev/portico/internal/integrations"
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
	unsupported := fmt.Errorf("input.url: %q: only http(s) URLs and paths relative to the template are supported", raw)
	if u.Scheme != "" || u.Host != "" {
		return nil, unsupported
	}
	base := ac.TemplateInfo.BaseURL
	if base == "" {
		return nil, fmt.Errorf("input.url: %q is relative, but the template has no location to resolve it against; use an absolute http(s) URL", raw)
	}
	typ, target, _ := strings.Cut(base, ":")
	// "/x" is relative to the repository's root for a template read from
	// GitHub or GitLab (as in Backstage); a local template has none.
	if strings.HasPrefix(raw, "/") && typ != "http" && typ != "https" {
		return nil, unsupported
	}
	switch typ {
	case "http", "https":
		// As Backstage resolves it: on GitHub "./skeleton" beside a blob
		// URL becomes the tree URL of that directory.
		resolved, err := f.deps.Integrations.Resolve(base, raw)
		if err != nil {
			return nil, fmt.Errorf("input.url: %w", err)
		}
		ru, err := url.Parse(resolved)
		if err != nil {
			return nil, fmt.Errorf("input.url: %q resolves to an invalid URL: %w", raw, err)
		}
		return f.remote(ru)
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

// allowed admits a remote URL on an integration's host or allowed by
// backend.reading.allow.
func (f *fetcher) allowed(u *url.URL) error {
	if f.deps.Integrations.Handles(u) {
		return nil
	}
	for _, a := range f.deps.ReadAllow {
		if a.Allows(u) {
			return nil
		}
	}
	return fmt.Errorf("input.url: fetching from %s is not allowed; add its host to backend.reading.allow", u.Redacted())
}

// readTree returns the directory at loc. A remote tree (a GitHub or
// GitLab tree URL, or a .tar, .tar.gz or .tgz archive) is unpacked into a
// temporary directory of the step. Trees larger than the fetch limit are
// refused before their files are read.
func (f *fetcher) readTree(ctx context.Context, ac *scaffolder.ActionContext, loc *location, token string) (*tree, error) {
	if loc.remote != nil {
		dir, err := ac.TempDir()
		if err != nil {
			return nil, err
		}
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, err
		}
		err = f.deps.Integrations.ReadTree(ctx, loc.remote.String(), root, integrations.TreeOptions{MaxSize: f.deps.MaxFetchSize, Token: token})
		root.Close()
		if err != nil {
			return nil, f.remoteError(loc, err)
		}
		root, err = os.OpenRoot(dir)
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
			return fmt.Errorf("input.url: %s is larger than the fetch limit of %s; keep skeletons small or fetch large files another way", loc.shown, integrations.SizeString(f.deps.MaxFetchSize))
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
		resp, err := f.deps.Integrations.Open(ctx, loc.remote.String(), integrations.ReadOptions{MaxSize: f.deps.MaxFetchSize, Token: token})
		if err != nil {
			return nil, 0, f.remoteError(loc, err)
		}
		return resp.Body, 0o644, nil
	}
	info, err := fs.Stat(loc.fsys, loc.name)
	if err != nil {
		return nil, 0, fmt.Errorf("input.url: cannot read %s: %w", loc.shown, unwrapPath(err))
	}
	if info.IsDir() {
		return nil, 0, fmt.Errorf("input.url: %s is a directory; use the action without :file to fetch a directory", loc.shown)
	}
	if info.Size() > f.deps.MaxFetchSize {
		return nil, 0, fmt.Errorf("input.url: %s is %s, larger than the fetch limit of %s", loc.shown, integrations.SizeString(info.Size()), integrations.SizeString(f.deps.MaxFetchSize))
	}
	r, err := loc.fsys.Open(loc.name)
	if err != nil {
		return nil, 0, fmt.Errorf("input.url: cannot read %s: %w", loc.shown, unwrapPath(err))
	}
	return r, info.Mode().Perm(), nil
}

// remoteError words a failed remote read for the action's log: the
// fetch limit by name, anything else as the integrations reported it.
func (f *fetcher) remoteError(loc *location, err error) error {
	if errors.Is(err, integrations.ErrTooLarge) {
		return fmt.Errorf("input.url: %s is larger than the fetch limit of %s (%w)", loc.shown, integrations.SizeString(f.deps.MaxFetchSize), err)
	}
	// The integrations name the URL already.
	return fmt.Errorf("input.url: %w", err)
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
