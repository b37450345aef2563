package workflow

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"strings"
)

// Loader reads files a workflow refers to (function, event and schema
// files...). Paths are slash-separated and relative to the loader's root.
type Loader interface {
	Load(ctx context.Context, path string) ([]byte, error)
}

// DirLoader loads files under one directory and refuses any path that
// would leave it, including through symbolic links.
type DirLoader struct {
	Dir string
}

// Load reads name relative to l.Dir.
func (l DirLoader) Load(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root, err := os.OpenRoot(l.Dir)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	return root.ReadFile(name)
}

// MapLoader serves files from memory, keyed by slash-separated path; it is
// handy in tests and for definitions stored in a database.
type MapLoader map[string][]byte

// Load returns the file stored under name.
func (m MapLoader) Load(_ context.Context, name string) ([]byte, error) {
	b, ok := m[path.Clean(name)]
	if !ok {
		return nil, fmt.Errorf("open %s: %w", name, os.ErrNotExist)
	}
	return b, nil
}

// errRemote is returned for references we deliberately do not follow:
// parsing must not reach the network.
var errRemote = errors.New("remote references are not supported; copy the file next to the workflow and refer to it by a relative path")

// resolveRef turns a reference written in the file `from` into a loader
// path. SonataFlow's "classpath:" and "file:" prefixes name files under the
// resources root, which is where workflow files live: the directory of
// `from`. Loader paths never start with "/" or climb above the root.
func resolveRef(from, ref string) (string, error) {
	switch {
	case strings.HasPrefix(ref, "classpath:"):
		ref = strings.TrimLeft(strings.TrimPrefix(ref, "classpath:"), "/")
	case strings.HasPrefix(ref, "file:"):
		ref = strings.TrimLeft(strings.TrimPrefix(ref, "file:"), "/")
	case strings.Contains(ref, "://"):
		return "", errRemote
	case strings.HasPrefix(ref, "/"):
		return cleanRooted(ref)
	}
	return cleanRooted(path.Join(path.Dir(from), ref))
}

func cleanRooted(p string) (string, error) {
	p = path.Clean("/" + p)[1:]
	if p == "" {
		return "", errors.New("empty path")
	}
	return p, nil
}
