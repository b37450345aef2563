package orchestrator

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"sync"
	"testing/fstest"

	"github.com/portico-dev/portico/internal/store"
)

// recordingFS remembers which files a load read, so that the version it
// produced can be stored with exactly those files.
type recordingFS struct {
	fs.FS
	mu    sync.Mutex
	files map[string]bool
}

func (r *recordingFS) Open(name string) (fs.File, error) {
	f, err := r.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		r.mu.Lock()
		r.files[name] = true
		r.mu.Unlock()
	}
	return f, nil
}

// snapshot reads the recorded files.
func (r *recordingFS) snapshot() (map[string][]byte, error) {
	r.mu.Lock()
	names := maps.Clone(r.files)
	r.mu.Unlock()
	out := make(map[string][]byte, len(names))
	for name := range names {
		b, err := fs.ReadFile(r.FS, name)
		if err != nil {
			return nil, err
		}
		out[name] = b
	}
	return out, nil
}

// loadSnapshot prepares a stored version of a workflow from its files.
func (r *Registry) loadSnapshot(ctx context.Context, file string, files map[string][]byte, hash string) (*Workflow, error) {
	mfs := fstest.MapFS{}
	for name, b := range files {
		mfs[name] = &fstest.MapFile{Data: b, Mode: 0o644}
	}
	w, err := r.loadFile(ctx, Source{Name: "stored version " + hash[:min(12, len(hash))], FS: mfs}, file)
	if err != nil {
		return nil, err
	}
	if w.Hash != hash {
		// Properties from the environment or the configuration changed
		// since: the files are the same, the settings are today's.
		r.log.Warn("a stored workflow version loads with different properties", "workflow", w.ID, "version", hash)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.versions[hash]; ok {
		return old, nil
	}
	r.versions[hash] = w
	return w, nil
}

// saveDefinition stores the files of a workflow version the first time an
// instance starts on it.
func (rt *Runtime) saveDefinition(ctx context.Context, wf *Workflow) error {
	if _, saved := rt.savedVersions.Load(wf.Hash); saved || wf.files == nil {
		return nil
	}
	files, err := json.Marshal(wf.files)
	if err != nil {
		return err
	}
	q := `INSERT INTO orchestrator_definitions (hash, workflow_id, file, files, saved_at) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (hash) DO NOTHING`
	if _, err := rt.db.ExecContext(ctx, q, wf.Hash, wf.ID, wf.File, string(files), store.Now()); err != nil {
		return fmt.Errorf("save workflow version %s: %w", wf.ID, err)
	}
	rt.savedVersions.Store(wf.Hash, true)
	return nil
}

// storedDefinition loads a workflow version from the database.
func (rt *Runtime) storedDefinition(ctx context.Context, hash string) (*Workflow, error) {
	var file, files string
	err := rt.db.QueryRowContext(ctx, `SELECT file, files FROM orchestrator_definitions WHERE hash = $1`, hash).Scan(&file, &files)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	var m map[string][]byte
	if err := json.Unmarshal([]byte(files), &m); err != nil {
		return nil, fmt.Errorf("stored workflow version %s: %w", hash, err)
	}
	return rt.reg.loadSnapshot(ctx, file, m, hash)
}
