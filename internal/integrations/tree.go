package integrations

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
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

	"github.com/portico-dev/portico/internal/errs"
)

// Defaults for the bounds of TreeOptions.
const (
	DefaultMaxTreeSize    = 200 << 20
	DefaultMaxFiles       = 10_000
	DefaultMaxArchiveSize = 1 << 30
)

// TreeOptions bound a tree read.
type TreeOptions struct {
	// MaxSize bounds the bytes of the files written; 0 means
	// DefaultMaxTreeSize.
	MaxSize int64
	// MaxFiles bounds the files, directories and links written; 0 means
	// DefaultMaxFiles.
	MaxFiles int
	// MaxArchiveSize bounds both the archive downloaded and the
	// uncompressed archive read, which holds the whole repository when
	// only a directory of it is wanted; 0 means DefaultMaxArchiveSize.
	MaxArchiveSize int64
	// Token replaces the integration's token, as in ReadOptions.
	Token string
}

// ReadTree writes the directory rawURL names into root. A GitHub tree or
// blob URL (or a repository's URL, for its default branch) on a configured
// host is read as the repository's tarball from
// the API (GitHub redirects it to a download host, which gets no token),
// a GitLab one as the project's archive of that path; only the named
// directory's contents are kept, without the archive's top directory. Any
// other URL must name a tar archive (.tar, .tar.gz, .tgz), unpacked whole.
//
// Entries with absolute names or ".." are refused, as are symbolic links
// that lead outside the tree; hard links, devices and other special files
// are skipped. Writes go through root, so nothing lands outside it.
func (s *Set) ReadTree(ctx context.Context, rawURL string, root *os.Root, opts TreeOptions) error {
	u, err := parseHTTP(rawURL)
	if err != nil {
		return err
	}
	if opts.MaxSize <= 0 {
		opts.MaxSize = DefaultMaxTreeSize
	}
	if opts.MaxFiles <= 0 {
		opts.MaxFiles = DefaultMaxFiles
	}
	if opts.MaxArchiveSize <= 0 {
		opts.MaxArchiveSize = DefaultMaxArchiveSize
	}
	shown := redact(u)
	var (
		target, hint string
		headers      = map[string]string{}
		repo         bool              // a repository archive: strip its top directory
		sub          string            // the directory to keep, below the top directory
		ghCred       *githubCredential // the GitHub credential sent, if any
	)
	if g, ok := s.GitHub(u.Host); ok {
		rp, err := parseGitHub(u)
		if err != nil {
			return err
		}
		target = g.APIBaseURL + "/repos/" + url.PathEscape(rp.owner) + "/" + url.PathEscape(rp.repo) + "/tarball"
		if rp.ref != "" {
			target += "/" + url.PathEscape(rp.ref)
		}
		cred, err := s.githubCredentials(ctx, g, rp.owner, opts.Token)
		if err != nil {
			return err
		}
		if cred.token != "" {
			headers["Authorization"] = "Bearer " + cred.token
		}
		headers["X-GitHub-Api-Version"] = "2022-11-28"
		repo, sub, hint, ghCred = true, rp.path, cred.hint(g), &cred
	} else if g, ok := s.GitLab(u.Host); ok {
		rp, err := parseGitLab(g, u)
		if err != nil {
			return err
		}
		q := url.Values{}
		if rp.ref != "" {
			q.Set("sha", rp.ref)
		}
		if rp.path != "" {
			q.Set("path", rp.path)
		}
		target = g.APIBaseURL + "/projects/" + url.PathEscape(rp.project) + "/repository/archive.tar.gz?" + q.Encode()
		token := first(opts.Token, g.Token)
		if token != "" {
			headers["PRIVATE-TOKEN"] = token
		}
		repo, sub, hint = true, rp.path, gitlabHint(g, token != "")
	} else if p := strings.ToLower(u.Path); strings.HasSuffix(p, ".tar") || strings.HasSuffix(p, ".tar.gz") || strings.HasSuffix(p, ".tgz") {
		target = u.String()
		if opts.Token != "" {
			headers["Authorization"] = "Bearer " + opts.Token
		}
	} else {
		return errs.InputErrorf("%s is not a directory that can be downloaded; point at a GitHub or GitLab tree URL, or a .tar, .tar.gz or .tgz archive", shown)
	}
	req, err := newRequest(ctx, target)
	if err != nil {
		return err
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := s.do(req, shown, hint, ghCred, false)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.ContentLength > opts.MaxArchiveSize {
		return errs.InputErrorf("the archive of %s is %s, larger than the limit of %s: %w", shown, SizeString(resp.ContentLength), SizeString(opts.MaxArchiveSize), ErrTooLarge)
	}
	body := &limitedBody{rc: resp.Body, left: opts.MaxArchiveSize, max: opts.MaxArchiveSize, name: "the archive of " + shown}
	u2 := &unpacker{root: root, opts: opts, shown: shown, strip: repo, sub: strings.Trim(sub, "/")}
	return u2.unpack(body)
}

// unpacker writes a tar archive's entries into root.
type unpacker struct {
	root  *os.Root
	opts  TreeOptions
	shown string
	strip bool
	sub   string

	size  int64
	files int
	found bool // whether the archive has the directory sub
}

func (p *unpacker) unpack(body io.Reader) error {
	br := bufio.NewReader(body)
	var r io.Reader = br
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return errs.InputErrorf("%s: not a gzip archive: %w", p.shown, err)
		}
		defer zr.Close()
		// The uncompressed stream is bounded too, so a small archive of
		// zeros outside the kept directory is not read for ever.
		r = &limitedBody{rc: io.NopCloser(zr), left: p.opts.MaxArchiveSize, max: p.opts.MaxArchiveSize, name: "the uncompressed archive of " + p.shown}
	}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			if p.sub != "" && !p.found {
				return errs.NotFoundf("%s was not found: the repository has no directory %s at that ref", p.shown, p.sub)
			}
			return nil
		}
		if err != nil {
			if errors.Is(err, ErrTooLarge) {
				return err
			}
			return errs.InputErrorf("%s: not a readable tar archive: %w", p.shown, err)
		}
		if err := p.entry(hdr, tr); err != nil {
			return err
		}
	}
}

// entry writes one archive entry, if it is inside the kept directory.
func (p *unpacker) entry(hdr *tar.Header, r io.Reader) error {
	switch hdr.Typeflag {
	case tar.TypeXGlobalHeader, tar.TypeXHeader, tar.TypeGNULongName, tar.TypeGNULongLink:
		return nil // metadata (GitHub's global header holds the commit)
	}
	name := strings.TrimSuffix(hdr.Name, "/")
	// Every name is checked, not only the kept ones: an archive with an
	// escaping name is not one to trust at all.
	if name == "" || strings.HasPrefix(name, "/") || strings.Contains(name, "\\") || !filepath.IsLocal(filepath.FromSlash(name)) {
		if path.Clean(name) == "." {
			return nil
		}
		return errs.InputErrorf("%s: archive entry %q is outside the archive; refusing to unpack it", p.shown, hdr.Name)
	}
	name = path.Clean(name)
	if p.strip {
		_, rest, ok := strings.Cut(name, "/")
		if !ok {
			return nil // the top directory itself
		}
		name = rest
	}
	if p.sub != "" {
		if name == p.sub {
			if hdr.Typeflag != tar.TypeDir {
				return errs.InputErrorf("%s is a file, not a directory", p.shown)
			}
			p.found = true
			return nil
		}
		rest, ok := strings.CutPrefix(name, p.sub+"/")
		if !ok {
			return nil
		}
		p.found = true
		name = rest
	}
	switch hdr.Typeflag {
	case tar.TypeDir, tar.TypeReg, tar.TypeSymlink:
	default:
		return nil
	}
	p.files++
	if p.files > p.opts.MaxFiles {
		return errs.InputErrorf("%s has more than %d files, the limit: %w", p.shown, p.opts.MaxFiles, ErrTooLarge)
	}
	switch hdr.Typeflag {
	case tar.TypeDir:
		if err := p.mkParent(name); err != nil {
			return err
		}
		return p.wrap(p.root.MkdirAll(name, 0o755))
	case tar.TypeSymlink:
		link := hdr.Linkname
		if link == "" || strings.HasPrefix(link, "/") || strings.Contains(link, "\\") || !filepath.IsLocal(filepath.FromSlash(path.Join(path.Dir(name), link))) {
			return errs.InputErrorf("%s: symbolic link %s points outside the directory (%s); refusing to unpack it", p.shown, name, link)
		}
		if err := p.mkParent(name); err != nil {
			return err
		}
		_ = p.root.Remove(name) // a later entry of the same name wins, as with tar
		return p.wrap(p.root.Symlink(link, name))
	}
	p.size += hdr.Size
	if p.size > p.opts.MaxSize {
		return errs.InputErrorf("%s unpacks to more than the limit of %s: %w", p.shown, SizeString(p.opts.MaxSize), ErrTooLarge)
	}
	if err := p.mkParent(name); err != nil {
		return err
	}
	mode := fs.FileMode(0o644)
	if hdr.Mode&0o111 != 0 {
		mode = 0o755
	}
	if fi, err := p.root.Lstat(name); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
		// Writing through a link would change its target instead.
		if err := p.root.Remove(name); err != nil {
			return p.wrap(err)
		}
	}
	out, err := p.root.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return p.wrap(err)
	}
	_, err = io.Copy(out, io.LimitReader(r, hdr.Size))
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		return p.wrap(err)
	}
	return nil
}

// mkParent makes name's parent directories. An entry below a symbolic
// link is refused: the link's target was checked as text, which a link
// through a link could make lead elsewhere ("a" -> ".", "a/b" -> "../x").
func (p *unpacker) mkParent(name string) error {
	d := path.Dir(name)
	if d == "." {
		return nil
	}
	for i := range len(d) + 1 {
		if i < len(d) && d[i] != '/' {
			continue
		}
		if fi, err := p.root.Lstat(d[:i]); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return errs.InputErrorf("%s: archive entry %s is below the symbolic link %s; refusing to unpack it", p.shown, name, d[:i])
		}
	}
	return p.wrap(p.root.MkdirAll(d, 0o755))
}

func (p *unpacker) wrap(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("unpack %s: %w", p.shown, err)
}
