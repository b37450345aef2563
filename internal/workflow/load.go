package workflow

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
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

// ErrRemoteReference is returned for references to URLs: parsing and
// validation never reach the network; a runtime may fetch them itself.
var ErrRemoteReference = errors.New("remote references are not supported; copy the file next to the workflow and refer to it by a relative path")

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
		return "", ErrRemoteReference
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

// OpenAPIOperation splits a rest function's operation
// "<document>#<operationId>". The document may be an alias defined by the
// workflow-uri-definitions extension.
func (f *Function) OpenAPIOperation() (document, operationID string, ok bool) {
	i := strings.LastIndexByte(f.Operation, '#')
	if i <= 0 || i == len(f.Operation)-1 {
		return "", "", false
	}
	return f.Operation[:i], f.Operation[i+1:], true
}

// OpenAPIDocument reads the OpenAPI document of a rest function and returns
// its loader path and content. A relative document is looked for next to
// the workflow file, then in each parent directory up to the loader's root
// (see loadNear). URLs give ErrRemoteReference.
func (w *Workflow) OpenAPIDocument(ctx context.Context, f *Function) (string, []byte, error) {
	doc, _, ok := f.OpenAPIOperation()
	if !ok {
		return "", nil, fmt.Errorf("function %q: operation %q is not <document>#<operationId>", f.Name, f.Operation)
	}
	if uri, ok := w.URIDefinitions[doc]; ok {
		doc = uri
	}
	return loadNear(ctx, w.loader, w.File, doc)
}

// loadNear loads ref relative to the file `from` or, failing that, to one
// of its parent directories up to the loader's root. SonataFlow looks
// files up on the classpath, so a workflow in a sub-directory of the
// resources folder can name files that sit higher up. It returns the
// loader path of the file.
func loadNear(ctx context.Context, loader Loader, from, ref string) (string, []byte, error) {
	first, err := resolveRef(from, ref)
	if err != nil {
		return "", nil, err
	}
	if loader == nil {
		return first, nil, errors.New("no loader was given to read it")
	}
	data, firstErr := loader.Load(ctx, first)
	if firstErr == nil || !errors.Is(firstErr, fs.ErrNotExist) || strings.HasPrefix(ref, "/") {
		return first, data, firstErr
	}
	rel, _ := resolveRef("", ref) // ref without prefixes, relative to the root
	for dir := path.Dir(path.Dir(from)); ; dir = path.Dir(dir) {
		p, err := cleanRooted(path.Join(dir, rel))
		if err == nil && p != first {
			if data, err := loader.Load(ctx, p); err == nil {
				return p, data, nil
			}
		}
		if dir == "." || dir == "/" {
			break
		}
	}
	return first, nil, firstErr
}
