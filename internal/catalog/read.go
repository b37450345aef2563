package catalog

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/integrations"
)

// MaxSourceSize bounds a catalog file or placeholder target, so one huge
// file cannot exhaust memory; Backstage has no limit, but no real catalog
// file comes near it.
const MaxSourceSize = 8 << 20

// ReadAllow is an entry of backend.reading.allow: a host ("example.com",
// "*.example.com", "localhost:8080") and optional path prefixes that url
// locations and placeholders may read from.
type ReadAllow struct {
	Host  string   `yaml:"host"`
	Paths []string `yaml:"paths"`
}

// Allows reports whether the entry admits u: the host matches (with its
// port, without it, or below a "*." wildcard; case-insensitively) and the
// path starts with one of the prefixes, if any are given.
func (a ReadAllow) Allows(u *url.URL) bool {
	h, hostname := strings.ToLower(a.Host), strings.ToLower(u.Hostname())
	if h != strings.ToLower(u.Host) && h != hostname && !(strings.HasPrefix(h, "*.") && strings.HasSuffix(hostname, h[1:])) {
		return false
	}
	if len(a.Paths) == 0 {
		return true
	}
	for _, p := range a.Paths {
		if strings.HasPrefix(path.Clean(u.Path), strings.TrimRight(p, "/")) {
			return true
		}
	}
	return false
}

// Sources reads what locations point at: local files (type file, with
// globs), named file systems (such as the embedded examples) and URLs (type
// url, over HTTP(S), with ETag caching). URLs are read through the
// source-control integrations (GitHub and GitLab blob URLs through their
// APIs, with tokens), whose hosts need no backend.reading.allow entry;
// other hosts must be allow-listed.
type Sources struct {
	fsys  map[string]fs.FS
	integ *integrations.Set
	// integHosts is whether the integrations' hosts are readable without
	// an allow-list entry.
	integHosts bool
	allow      []ReadAllow

	mu    sync.Mutex
	etags map[string]cachedBody
	// prints are the fingerprints (size, modification time) of local files
	// as they were when last read, by refresh key; the file watcher
	// compares against them.
	prints map[string]uint64
}

type cachedBody struct {
	etag string
	data []byte
}

// NewSources returns a reader. fsys maps location types to file systems
// whose targets are slash-separated paths inside them. URLs are read
// through integ (nil: Backstage's default integrations, github.com and
// gitlab.com without tokens). Without online, only allow-listed URLs are
// read, so the offline validator's reader (no allow-list either) fetches
// nothing.
func NewSources(fsys map[string]fs.FS, integ *integrations.Set, allow []ReadAllow, online bool) *Sources {
	if integ == nil {
		// An empty configuration is always valid.
		integ, _ = integrations.New(integrations.Config{}, nil)
	}
	return &Sources{fsys: fsys, integ: integ, integHosts: online, allow: allow,
		etags: map[string]cachedBody{}, prints: map[string]uint64{}}
}

// SourceFile is one file of a location. Data holds its content, or is nil
// for a file of a glob, which is read by Content when it is parsed: a glob
// can name thousands of files, and reading them all first held every
// byte of them at once (50 MB of a 100k-entity glob).
type SourceFile struct {
	Location LocationSpec
	Data     []byte
	read     func() ([]byte, error)
}

// Content returns the file's content, reading it if it was not read yet.
func (f SourceFile) Content() ([]byte, error) {
	if f.Data != nil || f.read == nil {
		return f.Data, nil
	}
	return f.read()
}

// Handles reports whether the reader knows the location type.
func (s *Sources) Handles(typ string) bool {
	if typ == "file" || typ == "url" {
		return true
	}
	_, ok := s.fsys[typ]
	return ok
}

// ReadAll reads every file a location names, expanding globs for file
// system types. A location that matches nothing is a NotFound error.
func (s *Sources) ReadAll(ctx context.Context, loc LocationSpec) ([]SourceFile, error) {
	switch {
	case loc.Type == "file":
		if !strings.ContainsAny(loc.Target, "*?[") {
			data, err := readOSFile(loc.Target)
			if err != nil {
				return nil, err
			}
			return []SourceFile{{Location: loc, Data: data}}, nil
		}
		matches, err := filepath.Glob(loc.Target)
		if err != nil {
			return nil, errs.InputErrorf("invalid glob pattern %q: %v", loc.Target, err)
		}
		return s.readMatches(loc, matches, readOSFile)
	case loc.Type == "url":
		if integrations.IsGlob(loc.Target) {
			return s.searchURL(ctx, loc)
		}
		data, err := s.readURL(ctx, loc.Target)
		if err != nil {
			return nil, err
		}
		return []SourceFile{{Location: loc, Data: data}}, nil
	}
	fsys, ok := s.fsys[loc.Type]
	if !ok {
		return nil, errs.InputErrorf("no reader handles locations of type %s", loc.Type)
	}
	read := func(name string) ([]byte, error) { return readFS(fsys, name) }
	target := strings.TrimPrefix(loc.Target, "/")
	if !strings.ContainsAny(target, "*?[") {
		data, err := read(target)
		if err != nil {
			return nil, err
		}
		return []SourceFile{{Location: loc, Data: data}}, nil
	}
	matches, err := fs.Glob(fsys, target)
	if err != nil {
		return nil, errs.InputErrorf("invalid glob pattern %q: %v", loc.Target, err)
	}
	return s.readMatches(loc, matches, read)
}

func (s *Sources) readMatches(loc LocationSpec, matches []string, read func(string) ([]byte, error)) ([]SourceFile, error) {
	if len(matches) == 0 {
		return nil, errs.NotFoundf("no file matches %s", loc)
	}
	slices.Sort(matches)
	out := make([]SourceFile, 0, len(matches))
	for _, m := range matches {
		out = append(out, SourceFile{Location: LocationSpec{Type: loc.Type, Target: m}, read: func() ([]byte, error) { return read(m) }})
	}
	return out, nil
}

// Read reads one file or URL.
func (s *Sources) Read(ctx context.Context, loc LocationSpec) ([]byte, error) {
	switch loc.Type {
	case "file":
		return readOSFile(loc.Target)
	case "url":
		return s.readURL(ctx, loc.Target)
	}
	fsys, ok := s.fsys[loc.Type]
	if !ok {
		return nil, errs.InputErrorf("no reader handles locations of type %s", loc.Type)
	}
	return readFS(fsys, strings.TrimPrefix(loc.Target, "/"))
}

// Resolve resolves target relative to the location base: a URL against a
// URL (as Backstage's integrations do: "/x.yaml" is relative to a GitHub
// or GitLab repository's root, and GitHub results are tree URLs), a path
// against the directory of a file. Absolute URLs are url locations
// whatever the base.
func (s *Sources) Resolve(base LocationSpec, target string) (LocationSpec, error) {
	if u, err := url.Parse(target); err == nil && (u.Scheme == "http" || u.Scheme == "https") {
		return LocationSpec{Type: "url", Target: target}, nil
	}
	switch base.Type {
	case "url":
		r, err := s.integ.Resolve(base.Target, target)
		if err != nil {
			return LocationSpec{}, err
		}
		return LocationSpec{Type: "url", Target: r}, nil
	case "file":
		if filepath.IsAbs(target) {
			return LocationSpec{Type: "file", Target: filepath.Clean(target)}, nil
		}
		return LocationSpec{Type: "file", Target: filepath.Join(filepath.Dir(base.Target), target)}, nil
	default:
		if strings.HasPrefix(target, "/") {
			return LocationSpec{Type: base.Type, Target: path.Clean(target)}, nil
		}
		return LocationSpec{Type: base.Type, Target: path.Join(path.Dir(base.Target), target)}, nil
	}
}

func readOSFile(name string) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, openError(err, name)
	}
	defer f.Close()
	return readLimited(f, name)
}

func readFS(fsys fs.FS, name string) ([]byte, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, openError(err, name)
	}
	defer f.Close()
	return readLimited(f, name)
}

// openError reports a source file that cannot be opened: missing files
// are NotFound (an optional location may be missing), anything else is
// the caller's mistake.
func openError(err error, name string) error {
	if errors.Is(err, fs.ErrNotExist) {
		return errs.NotFoundf("file %s does not exist", name)
	}
	return errs.InputErrorf("cannot read %s: %v", name, err)
}

func readLimited(r io.Reader, name string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSourceSize+1))
	if err != nil {
		return nil, errs.InputErrorf("cannot read %s: %v", name, err)
	}
	if len(data) > MaxSourceSize {
		return nil, errs.InputErrorf("%s is larger than the limit of %d MiB for catalog files", name, MaxSourceSize>>20)
	}
	return data, nil
}

// checkAllowed admits a URL on an integration's host or allowed by
// backend.reading.allow.
func (s *Sources) checkAllowed(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return errs.InputErrorf("cannot read %s: only http and https URLs can be read", u)
	}
	if s.integHosts && s.integ.Handles(u) {
		return nil
	}
	for _, a := range s.allow {
		if a.Allows(u) {
			return nil
		}
	}
	return errs.NotAllowedf("reading from %s is not allowed: add its host to backend.reading.allow (or configure it under integrations)", u.Redacted())
}

func (s *Sources) readURL(ctx context.Context, target string) ([]byte, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, errs.InputErrorf("invalid URL %q: %v", target, err)
	}
	if err := s.checkAllowed(u); err != nil {
		return nil, err
	}
	s.mu.Lock()
	cached, haveCached := s.etags[target]
	s.mu.Unlock()
	f, err := s.integ.ReadFile(ctx, target, integrations.ReadOptions{ETag: cached.etag, MaxSize: MaxSourceSize})
	if errors.Is(err, integrations.ErrTooLarge) {
		return nil, errs.InputErrorf("%s is larger than the limit of %d MiB for catalog files", u.Redacted(), MaxSourceSize>>20)
	}
	if err != nil {
		return nil, err
	}
	if f.NotModified && haveCached {
		return cached.data, nil
	}
	if f.ETag != "" {
		s.mu.Lock()
		if len(s.etags) > 10000 {
			clear(s.etags) // a crude bound; the cache only saves transfers
		}
		s.etags[target] = cachedBody{etag: f.ETag, data: f.Data}
		s.mu.Unlock()
	}
	return f.Data, nil
}

// searchURL reads the files of a GitHub or GitLab repository that a url
// location with a glob in its path matches (".../blob/main/**/catalog-info.yaml"),
// each as a location of its own blob URL, as Backstage's URL reader
// processor does. Each file has the size limit of a catalog file.
func (s *Sources) searchURL(ctx context.Context, loc LocationSpec) ([]SourceFile, error) {
	u, err := url.Parse(loc.Target)
	if err != nil {
		return nil, errs.InputErrorf("invalid URL %q: %v", loc.Target, err)
	}
	if !s.integHosts || !s.integ.Handles(u) {
		return nil, errs.InputErrorf("%s has a glob pattern, which only GitHub and GitLab URLs of a configured integration support", u.Redacted())
	}
	files, err := s.integ.Search(ctx, loc.Target, integrations.TreeOptions{})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, errs.NotFoundf("no file matches %s", loc)
	}
	out := make([]SourceFile, 0, len(files))
	for _, f := range files {
		if len(f.Data) > MaxSourceSize {
			return nil, errs.InputErrorf("%s is larger than the limit of %d MiB for catalog files", f.URL, MaxSourceSize>>20)
		}
		out = append(out, SourceFile{Location: LocationSpec{Type: "url", Target: f.URL}, Data: f.Data})
	}
	return out, nil
}

// noteRead records the fingerprint of a local file location before it is
// read, so that a change made after that moment is noticed even if the
// watcher had not seen the file yet.
func (s *Sources) noteRead(loc LocationSpec) {
	if loc.Type != "file" {
		return
	}
	fp := fingerprint(loc.Target)
	s.mu.Lock()
	s.prints[loc.String()] = fp
	s.mu.Unlock()
}

// changed updates the fingerprint of a file refresh key and reports
// whether it differs from the last one known.
func (s *Sources) changed(key string) bool {
	fp := fingerprint(strings.TrimPrefix(key, "file:"))
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.prints[key]
	s.prints[key] = fp
	return ok && old != fp
}

// fingerprint sums the names, sizes and modification times of the files a
// path or glob names.
func fingerprint(pattern string) uint64 {
	h := fnv.New64a()
	names := []string{pattern}
	if strings.ContainsAny(pattern, "*?[") {
		names, _ = filepath.Glob(pattern)
	}
	for _, n := range names {
		fi, err := os.Stat(n)
		if err != nil {
			fmt.Fprintf(h, "%s missing\n", n)
			continue
		}
		fmt.Fprintf(h, "%s %d %d\n", n, fi.Size(), fi.ModTime().UnixNano())
	}
	return h.Sum64()
}
