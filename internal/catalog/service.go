package catalog

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/integrations"
	"github.com/portico-dev/portico/internal/store"
)

// Source keys of the built-in providers, as Backstage names them.
const (
	configProviderName   = "ConfigLocationProvider"
	locationProviderName = "DefaultLocationStore"
)

// Options configure a Service.
type Options struct {
	DB     *store.DB
	Config Config
	// BaseDir resolves relative schema paths of catalog.kinds.
	BaseDir string
	// FileSystems are extra location types backed by file systems, such
	// as the embedded examples.
	FileSystems map[string]fs.FS
	// ReadAllow is backend.reading.allow.
	ReadAllow []ReadAllow
	// Integrations read url locations (GitHub and GitLab through their
	// APIs, other hosts with plain requests); nil reads through
	// Backstage's default integrations, github.com and gitlab.com without
	// tokens.
	Integrations *integrations.Set
	Logger       *slog.Logger
	// Publish announces changes (optional).
	Publish func(ctx context.Context, topic string, data any) error
	// WatchInterval is how often files of file locations are checked for
	// changes (default 300 ms; negative turns watching off).
	WatchInterval time.Duration
	// Providers feed entities besides the locations.
	Providers []EntityProvider
}

// Service is the software catalog: it ingests entities from locations and
// providers, processes and stitches them in the background, and answers
// queries. Several replicas may share one PostgreSQL database.
type Service struct {
	db  *store.DB
	log *slog.Logger
	// smallSetLimit is how many entities a readable filter may match for
	// queries to start from their ids (see smallSet).
	smallSetLimit     int
	ingest            *Ingestion
	sources           *Sources
	interval          ProcessingInterval
	orphans           string
	readonly          bool
	refreshOnConflict bool
	pub               func(ctx context.Context, topic string, data any) error
	providers         []EntityProvider
	configLocations   []LocationSpec
	apiLocationTypes  []string
	watchEvery        time.Duration

	wakeProc, wakeStitchCh, wakeOrphanCh chan struct{}
	// stitched counts entities stitched since the last ANALYZE.
	stitched atomic.Int64
	// analyzedAt counts entities stitched up to the last ANALYZE.
	analyzedAt atomic.Int64
	// tracer, when set, sees each read query before it runs.
	tracer func(ctx context.Context, query string, args []any)
	// beforeStitchWrite, when set, runs between building a batch outside
	// SQLite's writer and writing it, where other writes may come in.
	beforeStitchWrite func()
}

// New builds the catalog from its configuration.
func New(opts Options) (*Service, error) {
	cfg := opts.Config
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	for _, key := range cfg.unusedKeys() {
		log.Warn(key+" is accepted from Backstage configurations but Portico does not use it", "key", key)
	}
	discoveries, err := newDiscoveries(cfg.Providers, opts.Integrations, log)
	if err != nil {
		return nil, err
	}
	defs, err := LoadKindConfigs(cfg.Kinds, opts.BaseDir)
	if err != nil {
		return nil, err
	}
	reg, err := NewRegistry(defs...)
	if err != nil {
		return nil, err
	}
	validators, err := NewValidators(cfg.Validation)
	if err != nil {
		return nil, err
	}
	sources := NewSources(opts.FileSystems, opts.Integrations, opts.ReadAllow, true)
	s := &Service{
		smallSetLimit: defaultSmallSetLimit,
		db:            opts.DB, log: log, sources: sources,
		interval: cfg.Interval, orphans: cfg.Orphans, readonly: cfg.Readonly,
		refreshOnConflict: cfg.Conflicts == "refresh",
		providers:         append(slices.Clone(opts.Providers), discoveries...),
		watchEvery:        opts.WatchInterval,
		wakeProc:          make(chan struct{}, 1),
		wakeStitchCh:      make(chan struct{}, 1),
		wakeOrphanCh:      make(chan struct{}, 1),
		apiLocationTypes:  []string{"url"},
	}
	for typ := range opts.FileSystems {
		s.apiLocationTypes = append(s.apiLocationTypes, typ)
	}
	slices.Sort(s.apiLocationTypes)
	if opts.Publish != nil {
		s.pub = opts.Publish
	}
	if s.interval.Duration == 0 {
		s.interval.Duration = 100 * time.Second
	}
	switch s.orphans {
	case "":
		s.orphans = OrphansDelete
	case OrphansKeep, OrphansDelete:
	default:
		return nil, fmt.Errorf("catalog.orphanStrategy: expected keep or delete, got %q", s.orphans)
	}
	switch cfg.Conflicts {
	case "", "reject", "refresh":
	default:
		return nil, fmt.Errorf("catalog.defaultLocationConflictStrategy: expected reject or refresh, got %q", cfg.Conflicts)
	}
	if s.watchEvery == 0 {
		s.watchEvery = 300 * time.Millisecond
	}
	for i, l := range cfg.Locations {
		if l.Type == "" || l.Target == "" {
			return nil, fmt.Errorf("catalog.locations[%d]: needs a type and a target", i)
		}
		if !sources.Handles(l.Type) {
			return nil, fmt.Errorf("catalog.locations[%d]: unknown location type %q", i, l.Type)
		}
		s.configLocations = append(s.configLocations, resolveConfigLocation(l))
	}
	rules, err := NewRules(cfg.Rules, cfg.Locations, resolveConfigLocation)
	if err != nil {
		return nil, err
	}
	s.ingest = &Ingestion{
		Pipeline: NewDefaultPipeline(reg, validators,
			&PlaceholderProcessor{Sources: sources},
			AnnotateLocationProcessor{Sources: sources},
			&SourceReader{Sources: sources}),
		Sources:              sources,
		Rules:                rules,
		AllowedLocationTypes: []string{"url"},
	}
	return s, nil
}

func resolveConfigLocation(l ConfigLocation) LocationSpec {
	if l.Type == "file" {
		if abs, err := filepath.Abs(l.Target); err == nil {
			return LocationSpec{Type: "file", Target: abs}
		}
	}
	return LocationSpec{Type: l.Type, Target: l.Target}
}

// Ingestion returns the processing the catalog applies to entities, for
// validation without storing.
func (s *Service) Ingestion() *Ingestion { return s.ingest }

// Readonly reports whether catalog.readonly is set.
func (s *Service) Readonly() bool { return s.readonly }

func (s *Service) publish(ctx context.Context, topic string, data any) {
	if s.pub == nil {
		return
	}
	if err := s.pub(ctx, topic, data); err != nil {
		s.log.WarnContext(ctx, "cannot publish catalog event", "topic", topic, "err", err)
	}
}

func wake(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

func (s *Service) wakeProcessing() { wake(s.wakeProc) }
func (s *Service) wakeStitch()     { wake(s.wakeStitchCh) }
func (s *Service) wakeOrphans()    { wake(s.wakeOrphanCh) }

// Run connects the providers and runs processing, stitching, orphan
// cleanup and file watching until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	if err := s.Start(ctx); err != nil {
		return err
	}
	if err := s.prepareBulk(ctx); err != nil {
		return fmt.Errorf("catalog: %w", err)
	}
	var wg sync.WaitGroup
	loop := func(name string, ch chan struct{}, every time.Duration, step func(context.Context) (int, error)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				n, err := step(ctx)
				if err != nil && ctx.Err() == nil {
					s.log.ErrorContext(ctx, "catalog "+name+" failed", "err", err)
				}
				if n > 0 && err == nil {
					continue
				}
				select {
				case <-ctx.Done():
				case <-ch:
				case <-time.After(every):
				}
			}
		})
	}
	wg.Go(func() { s.processPipelined(ctx) })
	// PostgreSQL takes concurrent writers, and stitchers share the queue
	// through SKIP LOCKED as replicas do: with one, stitching fell behind
	// processing during a bulk load. SQLite has one writer, so one
	// stitcher.
	stitchers := 1
	if s.db.Dialect() == store.Postgres {
		stitchers = max(2, runtime.GOMAXPROCS(0))
	}
	for range stitchers {
		loop("stitching", s.wakeStitchCh, pollInterval, s.stitchOnce)
	}
	loop("orphan cleanup", s.wakeOrphanCh, 30*time.Second, func(ctx context.Context) (int, error) {
		_, err := s.deleteOrphans(ctx)
		return 0, err
	})
	if s.watchEvery > 0 {
		wg.Go(func() { s.watchFiles(ctx) })
	}
	wg.Wait()
	return nil
}

// Start hands the configured and registered locations and the providers'
// entities to the catalog. Run calls it; tests that drive processing step
// by step call it alone.
func (s *Service) Start(ctx context.Context) error {
	var des []DeferredEntity
	for _, l := range s.configLocations {
		des = append(des, DeferredEntity{Entity: LocationEntity(l), LocationKey: l.String()})
	}
	if err := s.applyMutation(ctx, configProviderName, FullMutation{Entities: des}); err != nil {
		return fmt.Errorf("catalog.locations: %w", err)
	}
	locs, err := s.Locations(ctx)
	if err != nil {
		return err
	}
	des = des[:0]
	for _, l := range locs {
		spec := LocationSpec{Type: l.Type, Target: l.Target}
		des = append(des, DeferredEntity{Entity: LocationEntity(spec), LocationKey: spec.String()})
	}
	// Added, not replaced: another replica may register a location between
	// the read above and this write, and a full mutation built from the
	// older read would orphan it. Removals go through DeleteLocation.
	if err := s.applyMutation(ctx, locationProviderName, DeltaMutation{Added: des}); err != nil {
		return fmt.Errorf("registered locations: %w", err)
	}
	for _, p := range s.providers {
		if err := p.Connect(ctx, &providerConnection{s: s, name: p.Name()}); err != nil {
			return fmt.Errorf("connect entity provider %s: %w", p.Name(), err)
		}
	}
	return nil
}

type providerConnection struct {
	s    *Service
	name string
}

func (c *providerConnection) ApplyMutation(ctx context.Context, m Mutation) error {
	return c.s.applyMutation(ctx, c.name, m)
}

func (c *providerConnection) Refresh(ctx context.Context, keys []string) error {
	return c.s.RefreshKeys(ctx, keys)
}

// applyMutation stores a provider's entities.
func (s *Service) applyMutation(ctx context.Context, source string, m Mutation) error {
	if err := CheckMutation(m); err != nil {
		return err
	}
	toRows := func(des []DeferredEntity) ([]deferredRow, error) {
		rows := make([]deferredRow, 0, len(des))
		for _, d := range des {
			var key *string
			if d.LocationKey != "" {
				key = &d.LocationKey
			}
			r, err := newDeferredRow(d.Entity, key)
			if err != nil {
				return nil, err
			}
			rows = append(rows, r)
		}
		return rows, nil
	}
	var added []deferredRow
	var removed []string
	full := false
	switch m := m.(type) {
	case FullMutation:
		full = true
		rows, err := toRows(m.Entities)
		if err != nil {
			return err
		}
		added = rows
	case DeltaMutation:
		rows, err := toRows(m.Added)
		if err != nil {
			return err
		}
		added = rows
		for _, r := range m.Removed {
			ref := strings.ToLower(r.EntityRef)
			if r.Entity != nil {
				ref = r.Entity.Ref().String()
			}
			removed = append(removed, ref)
		}
	}
	now := store.Now()
	orphans := false
	err := s.db.Tx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		orphans = false
		accepted, conflicts, err := upsertUnprocessed(ctx, tx, added, now)
		if err != nil {
			return err
		}
		for _, c := range conflicts {
			s.log.WarnContext(ctx, "provider entity conflicts with an existing one; the first keeps it", "provider", source, "entity", c.Ref, "existing", c.ExistingKey, "new", c.NewKey)
		}
		if full {
			gone, err := setReferences(ctx, tx, "source_key", source, accepted)
			if err != nil {
				return err
			}
			orphans = len(gone) > 0
			return queueStitch(ctx, tx, gone, now)
		}
		have, err := queryStringsIn(ctx, tx, `SELECT target_entity_ref FROM catalog_refresh_references WHERE source_key = $1 AND target_entity_ref IN (`, accepted, source)
		if err != nil {
			return err
		}
		var args []any
		for _, ref := range unique(accepted) {
			if !slices.Contains(have, ref) {
				args = append(args, source, ref)
			}
		}
		if err := insertRows(ctx, tx, `INSERT INTO catalog_refresh_references (source_key, target_entity_ref) VALUES `, 2, args); err != nil {
			return err
		}
		if err := execIn(ctx, tx, `DELETE FROM catalog_refresh_references WHERE source_key = $1 AND target_entity_ref IN (`, removed, source); err != nil {
			return err
		}
		return pruneUnreferenced(ctx, tx, removed)
	})
	if err != nil {
		return fmt.Errorf("apply mutation of %s: %w", source, err)
	}
	s.wakeProcessing()
	s.wakeStitch()
	if orphans {
		s.wakeOrphans()
	}
	return nil
}

// pruneUnreferenced deletes the given entities if nothing references them,
// then their children that nothing else references, and so on.
func pruneUnreferenced(ctx context.Context, tx dbtx, refs []string) error {
	for depth := 0; len(refs) > 0 && depth < 100; depth++ {
		var ids, gone []string
		err := queryIn(ctx, tx, `SELECT entity_id, entity_ref FROM catalog_refresh_state r WHERE entity_ref IN (`, refs,
			` AND NOT EXISTS (SELECT 1 FROM catalog_refresh_references x WHERE x.target_entity_ref = r.entity_ref)`, func(rows *sql.Rows) error {
				var id, ref string
				err := rows.Scan(&id, &ref)
				ids, gone = append(ids, id), append(gone, ref)
				return err
			})
		if err != nil {
			return err
		}
		children, err := queryStringsIn(ctx, tx, `SELECT target_entity_ref FROM catalog_refresh_references WHERE source_entity_ref IN (`, gone)
		if err != nil {
			return err
		}
		if err := deleteEntities(ctx, tx, ids, gone); err != nil {
			return err
		}
		refs = children
	}
	return nil
}

// Refresh schedules an entity, and the locations it came from, for
// processing now.
func (s *Service) Refresh(ctx context.Context, entityRef string) error {
	ref, err := ParseRef(entityRef, RefDefaults{})
	if err != nil {
		return err
	}
	refs := []string{ref.String()}
	found, err := queryStrings(ctx, s.db, `SELECT entity_ref FROM catalog_refresh_state WHERE entity_ref = $1`, refs[0])
	if err != nil {
		return err
	}
	if len(found) == 0 {
		return errs.NotFoundf("failed to schedule %s for refresh: no such entity", entityRef)
	}
	all := slices.Clone(refs)
	for depth := 0; len(refs) > 0 && depth < 50; depth++ {
		parents, err := queryStringsIn(ctx, s.db, `SELECT DISTINCT source_entity_ref FROM catalog_refresh_references WHERE source_entity_ref IS NOT NULL AND target_entity_ref IN (`, refs)
		if err != nil {
			return err
		}
		refs = slices.DeleteFunc(parents, func(p string) bool { return slices.Contains(all, p) })
		all = append(all, refs...)
	}
	err = s.db.Tx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		return execIn(ctx, tx, `UPDATE catalog_refresh_state SET next_update_at = $1 WHERE entity_ref IN (`, all, store.Now())
	})
	if err != nil {
		return err
	}
	s.wakeProcessing()
	return nil
}

// RefreshKeys schedules the entities that registered any of keys (file and
// URL locations register theirs) for processing now.
func (s *Service) RefreshKeys(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	now := store.Now()
	err := s.db.Tx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		return chunks(keys, func(part []string) error {
			_, err := tx.ExecContext(ctx, `UPDATE catalog_refresh_state SET next_update_at = $1 WHERE entity_id IN (
				SELECT entity_id FROM catalog_refresh_keys WHERE key IN (`+params(2, len(part))+`))`, append([]any{now}, anys(part)...)...)
			return err
		})
	})
	if err != nil {
		return fmt.Errorf("refresh: %w", err)
	}
	s.wakeProcessing()
	return nil
}

// DeleteEntity removes an entity by uid. Its parents are processed again at
// once, so an entity that is still in its source comes back.
func (s *Service) DeleteEntity(ctx context.Context, uid string) error {
	err := s.db.Tx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		refs, err := queryStrings(ctx, tx, `SELECT entity_ref FROM catalog_refresh_state WHERE entity_id = $1`, uid)
		if err != nil {
			return err
		}
		if len(refs) == 0 {
			return errs.NotFoundf("no entity with uid %s", uid)
		}
		parents, err := queryStrings(ctx, tx, `SELECT source_entity_ref FROM catalog_refresh_references WHERE target_entity_ref = $1 AND source_entity_ref IS NOT NULL`, refs[0])
		if err != nil {
			return err
		}
		if err := execIn(ctx, tx, `UPDATE catalog_refresh_state SET result_hash = 'child-was-deleted', next_update_at = $1 WHERE entity_ref IN (`, parents, store.Now()); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM catalog_refresh_references WHERE target_entity_ref = $1`, refs[0]); err != nil {
			return err
		}
		return deleteEntities(ctx, tx, []string{uid}, refs)
	})
	if err != nil {
		return err
	}
	s.wakeStitch()
	s.wakeOrphans()
	return nil
}

// watchFiles notices changes to the files of file locations (and files
// that placeholders read) by polling their size and modification time,
// which is cheap and works on every file system, and refreshes the
// entities that read them.
func (s *Service) watchFiles(ctx context.Context) {
	var keys []string
	var loaded time.Time
	tick := time.NewTicker(s.watchEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		if time.Since(loaded) > 2*time.Second {
			ks, err := queryStrings(ctx, s.db, `SELECT DISTINCT key FROM catalog_refresh_keys WHERE key LIKE 'file:%'`)
			if err != nil {
				if ctx.Err() == nil {
					s.log.WarnContext(ctx, "file watch: cannot load keys", "err", err)
				}
				continue
			}
			keys, loaded = ks, time.Now()
		}
		var changed []string
		for _, k := range keys {
			if s.sources.changed(k) {
				changed = append(changed, k)
			}
		}
		if len(changed) > 0 {
			s.log.DebugContext(ctx, "files changed", "keys", changed)
			if err := s.RefreshKeys(ctx, changed); err != nil && ctx.Err() == nil {
				s.log.WarnContext(ctx, "file watch: cannot refresh", "err", err)
			}
		}
	}
}
