package orchestrator

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/jsonorder"
	"github.com/portico-dev/portico/internal/workflow"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// Source is a tree of workflow files: a directory on disk or a tree
// embedded in the binary. Each workflow file is loaded with the directory
// it sits in as its root, so its specs/ and schemas/ resolve beside it.
type Source struct {
	// Name says where the files come from, for logs and errors.
	Name string
	FS   fs.FS
}

// Workflow is a loaded workflow definition ready to start instances.
type Workflow struct {
	ID string
	// File is the workflow file's path within its source.
	File string
	// Hash identifies this version of the definition: the workflow file,
	// its properties and the files beside it. Instances record it, so they
	// finish on the version they started with.
	Hash       string
	Definition *engine.Definition
	Loaded     time.Time
	// InputSchema and OutputSchema are the data schemas with references to
	// other files inlined (nil when the workflow has none). Their objects
	// are *jsonorder.Object, so they encode in the author's key order (the
	// order forms show fields in); jsonorder.Plain gives plain maps.
	InputSchema, OutputSchema any
	// Text is the workflow file as written (the Data Index serves it as
	// the definition's source).
	Text []byte
	// files are every file the version was loaded from, by path within
	// its source; the runtime stores them once an instance uses it.
	files map[string][]byte
}

// LoadError is a workflow file that could not be loaded; the others load
// regardless.
type LoadError struct {
	Source string    `json:"source"`
	File   string    `json:"file"`
	Error  string    `json:"error"`
	At     time.Time `json:"at"`
}

// Registry holds the workflows of the configured sources and reloads them
// when their files change. It is safe for concurrent use.
type Registry struct {
	sources    []Source
	engine     *engine.Engine
	properties map[string]string
	log        *slog.Logger

	mu       sync.RWMutex
	current  map[string]*Workflow // workflow id -> newest definition
	versions map[string]*Workflow // hash -> definition, old ones included
	errors   []LoadError
	stamp    string // file sizes and modification times at the last load
}

// NewRegistry returns a registry over sources. overrides are properties
// applied to every workflow, over its application.properties.
func NewRegistry(eng *engine.Engine, sources []Source, overrides map[string]string, log *slog.Logger) *Registry {
	return &Registry{
		sources: sources, engine: eng, properties: overrides, log: log,
		current: map[string]*Workflow{}, versions: map[string]*Workflow{},
	}
}

// Get returns the newest definition of a workflow.
func (r *Registry) Get(id string) (*Workflow, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	w, ok := r.current[id]
	return w, ok
}

// Version returns the definition with the given hash, or the newest
// definition of the workflow when that version is no longer known (after a
// restart with a changed file).
func (r *Registry) Version(id, hash string) (*Workflow, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if w, ok := r.versions[hash]; ok {
		return w, true
	}
	w, ok := r.current[id]
	return w, ok
}

// List returns the newest definition of every workflow, sorted by id.
func (r *Registry) List() []*Workflow {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Workflow, 0, len(r.current))
	for _, w := range r.current {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Errors returns the files that failed to load at the last load.
func (r *Registry) Errors() []LoadError {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return slices.Clone(r.errors)
}

// Load (re)loads every source when a file changed since the last load and
// reports whether it did.
func (r *Registry) Load(ctx context.Context) (bool, error) {
	stamp, err := r.stampAll()
	if err != nil {
		return false, err
	}
	r.mu.RLock()
	same := stamp == r.stamp
	r.mu.RUnlock()
	if same {
		return false, nil
	}
	current := map[string]*Workflow{}
	var errs []LoadError
	now := time.Now().UTC()
	for _, src := range r.sources {
		files, err := workflowFiles(src.FS)
		if err != nil {
			errs = append(errs, LoadError{Source: src.Name, Error: err.Error(), At: now})
			continue
		}
		for _, file := range files {
			w, err := r.loadFile(ctx, src, file)
			if err != nil {
				r.log.Error("workflow not loaded", "source", src.Name, "file", file, "error", err)
				errs = append(errs, LoadError{Source: src.Name, File: file, Error: err.Error(), At: now})
				continue
			}
			if prev, dup := current[w.ID]; dup {
				err := fmt.Errorf("workflow id %q is already defined by %s", w.ID, prev.File)
				r.log.Error("workflow not loaded", "source", src.Name, "file", file, "error", err)
				errs = append(errs, LoadError{Source: src.Name, File: file, Error: err.Error(), At: now})
				continue
			}
			current[w.ID] = w
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for id, w := range current {
		if old, ok := r.versions[w.Hash]; ok {
			// Unchanged: keep the prepared definition (and its caches).
			current[id] = old
			continue
		}
		r.versions[w.Hash] = w
		if prev, ok := r.current[id]; ok {
			r.log.Info("workflow reloaded", "workflow", id, "file", w.File, "previous", prev.Hash[:12], "version", w.Hash[:12])
		} else {
			r.log.Info("workflow loaded", "workflow", id, "file", w.File, "version", w.Hash[:12])
		}
	}
	r.current, r.errors, r.stamp = current, errs, stamp
	return true, nil
}

// Watch reloads the sources whenever their files change, polling every
// interval, until ctx ends.
func (r *Registry) Watch(ctx context.Context, interval time.Duration) error {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			if _, err := r.Load(ctx); err != nil {
				r.log.Warn("reload workflows", "error", err)
			}
		}
	}
}

// loadFile parses, validates and prepares one workflow file.
func (r *Registry) loadFile(ctx context.Context, src Source, file string) (*Workflow, error) {
	rec := &recordingFS{FS: src.FS, files: map[string]bool{}}
	src.FS = rec
	dir := path.Dir(file)
	sub, err := fs.Sub(src.FS, dir)
	if err != nil {
		return nil, err
	}
	// The loader is rooted at the source, not the workflow's directory, so
	// that references to shared files in a sibling directory
	// ("../shared/schemas/...", as RHDH's repositories have) resolve.
	w, err := workflow.ParseFile(ctx, fsLoader{src.FS}, file)
	if err != nil {
		return nil, err
	}
	if findings := workflow.Validate(ctx, w); workflow.HasErrors(findings) {
		var msgs []string
		for _, f := range findings {
			if f.Severity == workflow.SeverityError {
				msgs = append(msgs, f.String())
			}
		}
		return nil, fmt.Errorf("invalid workflow: %s", strings.Join(msgs, "; "))
	}
	props := map[string]string{}
	if b, err := fs.ReadFile(sub, "application.properties"); err == nil {
		props = workflow.ParseProperties(b, os.LookupEnv)
	}
	for k, v := range r.properties {
		props[k] = v
	}
	def, err := r.engine.Prepare(ctx, w, props)
	if err != nil {
		return nil, err
	}
	hash, err := hashDir(sub, path.Base(file), props)
	if err != nil {
		return nil, err
	}
	text, err := fs.ReadFile(src.FS, file)
	if err != nil {
		return nil, err
	}
	wf := &Workflow{ID: w.ID, File: file, Definition: def, Loaded: time.Now().UTC(), Text: text}
	if wf.InputSchema, err = resolvedSchema(src.FS, w, w.DataInputSchema); err != nil {
		return nil, fmt.Errorf("dataInputSchema: %w", err)
	}
	if wf.OutputSchema, err = resolvedSchema(src.FS, w, w.OutputSchema); err != nil {
		return nil, fmt.Errorf("output schema: %w", err)
	}
	// The resolved schemas count in the version: a shared schema outside
	// the workflow's directory can change it too. They count with sorted
	// keys, as before they kept their order: key order changes no run, and
	// a new hash for every deployed workflow would reset its schedules and
	// make resumed instances look like changed versions.
	schemas, _ := json.Marshal([]any{jsonorder.Plain(wf.InputSchema), jsonorder.Plain(wf.OutputSchema)})
	sum := sha256.Sum256(append([]byte(hash), schemas...))
	wf.Hash = hex.EncodeToString(sum[:])
	if wf.files, err = rec.snapshot(); err != nil {
		return nil, err
	}
	return wf, nil
}

// workflowFiles lists the workflow files of a tree.
func workflowFiles(fsys fs.FS) ([]string, error) {
	var files []string
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && isWorkflowFile(p) {
			files = append(files, p)
		}
		return nil
	})
	return files, err
}

func isWorkflowFile(name string) bool {
	for _, ext := range []string{".sw.yaml", ".sw.yml", ".sw.json"} {
		if strings.HasSuffix(name, ext) {
			return true
		}
	}
	return false
}

// stampAll summarises every file's size and modification time, so that a
// poll finds out cheaply whether anything changed.
func (r *Registry) stampAll() (string, error) {
	h := sha256.New()
	for _, src := range r.sources {
		err := fs.WalkDir(src.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%s\x00%d\x00%d\n", src.Name, p, info.Size(), info.ModTime().UnixNano())
			return nil
		})
		if err != nil {
			return "", fmt.Errorf("%s: %w", src.Name, err)
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// hashDir hashes a workflow file, its properties and the files under specs/
// and schemas/ beside it: what makes one version of a definition.
func hashDir(fsys fs.FS, file string, props map[string]string) (string, error) {
	h := sha256.New()
	b, err := fs.ReadFile(fsys, file)
	if err != nil {
		return "", err
	}
	fmt.Fprintf(h, "%s\x00%d\x00", file, len(b))
	h.Write(b)
	keys := make([]string, 0, len(props))
	for k := range props {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(h, "%s=%s\x00", k, props[k])
	}
	for _, dir := range []string{"specs", "schemas"} {
		err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
			h.Write(b)
			return nil
		})
		if err != nil {
			return "", err
		}
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// fsLoader serves a workflow's files from an fs.FS rooted at the
// workflow's directory; fs.FS paths cannot leave the root.
type fsLoader struct{ fsys fs.FS }

func (l fsLoader) Load(ctx context.Context, name string) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return fs.ReadFile(l.fsys, path.Clean(name))
}
