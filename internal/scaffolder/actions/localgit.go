package actions

import (
	"bytes"
	"errors"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"
	"time"

	git "github.com/go-git/go-git/v5"
	"github.com/go-git/go-git/v5/plumbing/object"
)

// LocalGitLocationType is the catalog location type of files in the
// repositories publish:git keeps in the local git directory, as
// catalog:register names them: "local-git:<owner>/<repo>.git/catalog-info.yaml".
const LocalGitLocationType = "local-git"

// LocalGitFS returns a read-only file system over the repositories below
// dir: "<owner>/<repo>.git/<path>" is the file at <path> in the head
// commit of the repository's default branch. The catalog reads
// local-git: locations through it, so a template can publish to a local
// repository and register what it published.
func LocalGitFS(dir string) fs.FS { return localGitFS{dir: dir} }

type localGitFS struct{ dir string }

// Open implements fs.FS for regular files.
func (l localGitFS) Open(name string) (fs.File, error) {
	fail := func(err error) (fs.File, error) { return nil, &fs.PathError{Op: "open", Path: name, Err: err} }
	if !fs.ValidPath(name) {
		return fail(fs.ErrInvalid)
	}
	repoPath, file, ok := splitRepoPath(name)
	if !ok {
		return fail(fs.ErrNotExist)
	}
	repo, err := git.PlainOpen(filepath.Join(l.dir, filepath.FromSlash(repoPath)))
	if err != nil {
		return fail(fs.ErrNotExist)
	}
	head, err := repo.Head()
	if err != nil {
		return fail(fs.ErrNotExist) // an empty repository
	}
	commit, err := repo.CommitObject(head.Hash())
	if err != nil {
		return fail(err)
	}
	f, err := commit.File(file)
	if errors.Is(err, object.ErrFileNotFound) {
		return fail(fs.ErrNotExist)
	}
	if err != nil {
		return fail(err)
	}
	r, err := f.Reader()
	if err != nil {
		return fail(err)
	}
	defer r.Close()
	data, err := io.ReadAll(io.LimitReader(r, 64<<20))
	if err != nil {
		return fail(err)
	}
	return &gitFile{Reader: bytes.NewReader(data), name: path.Base(file), size: int64(len(data)), mod: commit.Committer.When}, nil
}

// splitRepoPath splits "<owner>/<repo>.git/<path>" at the repository.
func splitRepoPath(name string) (repo, file string, ok bool) {
	parts := strings.Split(name, "/")
	for i, p := range parts[:len(parts)-1] {
		if strings.HasSuffix(p, ".git") {
			return strings.Join(parts[:i+1], "/"), strings.Join(parts[i+1:], "/"), true
		}
	}
	return "", "", false
}

type gitFile struct {
	*bytes.Reader
	name string
	size int64
	mod  time.Time
}

func (f *gitFile) Stat() (fs.FileInfo, error) { return f, nil }
func (f *gitFile) Close() error               { return nil }
func (f *gitFile) Name() string               { return f.name }
func (f *gitFile) Size() int64                { return f.size }
func (f *gitFile) Mode() fs.FileMode          { return 0o444 }
func (f *gitFile) ModTime() time.Time         { return f.mod }
func (f *gitFile) IsDir() bool                { return false }
func (f *gitFile) Sys() any                   { return nil }
