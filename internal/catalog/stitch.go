package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/portico-dev/portico/internal/store"
)

// analyzeMin is how many stitched entities make the statistics worth
// refreshing at first; after that, as many as were stitched before the
// last refresh (so a bulk load of n entities refreshes about log2(n/2000)
// times, and a small load is not left with the empty tables' statistics).
const analyzeMin = 2000

// rejectedURL replaces view and edit URLs that would run script in a
// browser, as Backstage's stitcher does.
const rejectedURL = "https://backstage.io/annotation-rejected-for-security-reasons"

type stitchState struct {
	id, ref   string
	processed sql.NullString
	errors    string
}

// stitchOnce takes a batch of queued entities and writes their final form
// and search rows. It returns how many it took.
func (s *Service) stitchOnce(ctx context.Context) (int, error) {
	var n int
	var changed []string
	var err error
	if s.db.Dialect() == store.SQLite {
		n, changed, err = s.stitchOutsideWriter(ctx)
	} else {
		err = s.db.Tx(ctx, func(rawTx *sql.Tx) error {
			tx := s.wrap(rawTx)
			refs, err := queryStrings(ctx, tx, `DELETE FROM catalog_stitch_queue WHERE entity_ref IN (
				SELECT entity_ref FROM catalog_stitch_queue ORDER BY queued_at LIMIT $1 `+s.db.SkipLocked()+`) RETURNING entity_ref`, stitchBatch)
			if err != nil {
				return fmt.Errorf("take stitch queue: %w", err)
			}
			n = len(refs)
			changed, err = stitch(ctx, tx, refs)
			return err
		})
	}
	if err != nil {
		return n, fmt.Errorf("stitch: %w", err)
	}
	// Refresh statistics as the tables grow: every 2,000 stitched entities
	// (as a fixed step did at first) took 14 s of a 100k load on SQLite.
	if since := s.stitched.Add(int64(len(changed))); since > max(analyzeMin, s.analyzedAt.Load()) {
		// After a bulk load the planners' statistics are far off
		// (PostgreSQL took 74k rows for 63 and chose nested loops; SQLite
		// has none and scanned the table to sort): refresh them rather
		// than wait for autovacuum or never.
		s.stitched.Store(0)
		s.analyzedAt.Add(since)
		if err := s.analyze(ctx); err != nil {
			s.log.WarnContext(ctx, "analyze catalog tables", "err", err)
		}
	}
	switch {
	case len(changed) > 0 && len(changed) <= 20:
		s.publish(ctx, "catalog.entities.changed", map[string]any{"entityRefs": changed})
	case len(changed) > 20:
		// Events cross replicas through NOTIFY, whose payloads are small:
		// for bulk changes say how many, not which.
		s.publish(ctx, "catalog.entities.changed", map[string]any{"count": len(changed)})
	}
	return n, nil
}

// stitchOutsideWriter stitches a batch on SQLite, where the one writer is
// the bottleneck of a bulk load: the batch is read from a snapshot and
// built (decoded, finished, encoded, indexed) without the writer, which
// then only writes. An entity queued again after the snapshot (its queue
// row's generation moved on) is left queued and not written, so no change
// made in between is lost; it is stitched again from fresh inputs.
func (s *Service) stitchOutsideWriter(ctx context.Context) (int, []string, error) {
	var in *stitchInput
	generations := map[string]int64{}
	err := s.db.ReadTx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		rows, err := tx.QueryContext(ctx, `SELECT entity_ref, generation FROM catalog_stitch_queue ORDER BY queued_at LIMIT $1`, stitchBatch)
		if err != nil {
			return fmt.Errorf("read stitch queue: %w", err)
		}
		var refs []string
		for rows.Next() {
			var ref string
			var gen int64
			if err := rows.Scan(&ref, &gen); err != nil {
				rows.Close()
				return err
			}
			refs = append(refs, ref)
			generations[ref] = gen
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		in, err = loadStitch(ctx, tx, refs)
		return err
	})
	if err != nil || len(generations) == 0 {
		return 0, nil, err
	}
	in.build()
	if s.beforeStitchWrite != nil {
		s.beforeStitchWrite()
	}
	var changed []string
	err = s.db.Tx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		current := map[string]int64{}
		err := queryIn(ctx, tx, `SELECT entity_ref, generation FROM catalog_stitch_queue WHERE entity_ref IN (`, in.refs, "", func(rows *sql.Rows) error {
			var ref string
			var gen int64
			err := rows.Scan(&ref, &gen)
			current[ref] = gen
			return err
		})
		if err != nil {
			return fmt.Errorf("read stitch queue: %w", err)
		}
		unchanged := func(ref string) bool {
			gen, ok := current[ref]
			return ok && gen == generations[ref]
		}
		in.keep(unchanged)
		if err := execIn(ctx, tx, `DELETE FROM catalog_stitch_queue WHERE entity_ref IN (`, in.refs); err != nil {
			return fmt.Errorf("take stitch queue: %w", err)
		}
		changed, err = in.write(ctx, tx)
		return err
	})
	return len(generations), changed, err
}

// stitch writes the final entities of refs inside tx: the processed entity
// with the relations that point out of it (emitted by itself or by
// others), the orphan mark, processing errors as status items, uid and
// etag. It returns the refs whose final entity changed.
func stitch(ctx context.Context, tx dbtx, refs []string) ([]string, error) {
	if len(refs) == 0 {
		return nil, nil
	}
	in, err := loadStitch(ctx, tx, refs)
	if err != nil {
		return nil, err
	}
	in.build()
	return in.write(ctx, tx)
}

// stitchInput is what stitching a batch reads, and then builds.
type stitchInput struct {
	// refs are the batch; gone are those without a processed entity (whose
	// final entity goes), live the others.
	refs, gone, live []string
	states           map[string]*stitchState
	referenced       map[string]bool
	relations        map[string][]Relation
	finals           map[string]finalRow
	// built is the outcome per live entity (same index as live).
	built []builtEntity
	// search are the search rows of the built entities, in the order they
	// are inserted.
	search []keyedSearchRow
}

// finalRow is what stitching needs of a stored final entity.
type finalRow struct {
	hash     string
	searchID int64
}

// builtEntity is a live entity's final form, built outside the writer.
type builtEntity struct {
	skip bool
	hash string
	body string
	rows []SearchRow
	err  error
}

// loadStitch reads the inputs of stitching refs.
func loadStitch(ctx context.Context, tx dbtx, refs []string) (*stitchInput, error) {
	in := &stitchInput{refs: refs, states: map[string]*stitchState{}, referenced: map[string]bool{},
		relations: map[string][]Relation{}, finals: map[string]finalRow{}}
	err := queryIn(ctx, tx, `SELECT entity_id, entity_ref, processed_entity, errors FROM catalog_refresh_state WHERE entity_ref IN (`, refs, "", func(rows *sql.Rows) error {
		st := &stitchState{}
		err := rows.Scan(&st.id, &st.ref, &st.processed, &st.errors)
		in.states[st.ref] = st
		return err
	})
	if err != nil {
		return nil, err
	}
	for _, r := range refs {
		if st := in.states[r]; st == nil || !st.processed.Valid {
			in.gone = append(in.gone, r)
		} else {
			in.live = append(in.live, r)
		}
	}
	if len(in.live) == 0 {
		return in, nil
	}
	targets, err := queryStringsIn(ctx, tx, `SELECT DISTINCT target_entity_ref FROM catalog_refresh_references WHERE target_entity_ref IN (`, in.live)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		in.referenced[t] = true
	}
	err = queryIn(ctx, tx, `SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM catalog_relations WHERE source_entity_ref IN (`, in.live,
		` ORDER BY source_entity_ref, type, target_entity_ref`, func(rows *sql.Rows) error {
			var src string
			var r Relation
			err := rows.Scan(&src, &r.Type, &r.TargetRef)
			in.relations[src] = append(in.relations[src], r)
			return err
		})
	if err != nil {
		return nil, err
	}
	err = queryIn(ctx, tx, `SELECT entity_ref, hash, search_id FROM catalog_final_entities WHERE entity_ref IN (`, in.live, "", func(rows *sql.Rows) error {
		var ref string
		var f finalRow
		err := rows.Scan(&ref, &f.hash, &f.searchID)
		in.finals[ref] = f
		return err
	})
	if err != nil {
		return nil, err
	}
	return in, nil
}

// build makes the final form of each live entity, on all cores: decoding,
// finishing, encoding and indexing entities is most of stitching's CPU
// work.
func (in *stitchInput) build() {
	in.built = make([]builtEntity, len(in.live))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(in.live)/50)) {
		wg.Go(func() {
			for i := range next {
				in.buildOne(in.live[i], &in.built[i])
			}
		})
	}
	for i := range in.live {
		next <- i
	}
	close(next)
	wg.Wait()
	n := 0
	for i := range in.built {
		n += len(in.built[i].rows)
	}
	in.search = make([]keyedSearchRow, 0, n)
	for i, ref := range in.live {
		for seq, r := range in.built[i].rows {
			in.search = append(in.search, keyedSearchRow{ref, seq, r})
		}
		in.built[i].rows = nil
	}
	// Rows in (key, value) order reach neighbouring pages of the (key,
	// value, …) index one after another instead of at random.
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	slices.SortFunc(in.search, func(a, b keyedSearchRow) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(str(a.Value), str(b.Value))
	})
}

// keyedSearchRow is a search row of the entity ref, the seq-th of its rows.
type keyedSearchRow struct {
	ref string
	seq int
	SearchRow
}

func (in *stitchInput) buildOne(ref string, b *builtEntity) {
	st := in.states[ref]
	// The etag is the hash of everything the final entity is made of, so
	// an entity whose inputs did not change is skipped before it is
	// decoded, and a changed one is encoded once.
	b.hash = stitchHash(st, in.relations[ref], !in.referenced[ref])
	if prev, existed := in.finals[ref]; existed && prev.hash == b.hash {
		b.skip = true
		return
	}
	var e Entity
	if err := json.Unmarshal([]byte(st.processed.String), &e); err != nil {
		b.err = fmt.Errorf("stored entity %s cannot be read: %w", ref, err)
		return
	}
	finishEntity(&e, in.relations[ref], !in.referenced[ref], st.errors)
	e.Metadata.UID = st.id
	e.Metadata.Etag = b.hash
	v := e.Value()
	body, err := e.MarshalJSON()
	if err != nil {
		b.err = err
		return
	}
	b.body = string(body)
	if b.rows, err = BuildSearch(v, e.Relations); err != nil {
		// The entity cannot be indexed; keep its previous form.
		b.skip = true
	}
}

// keep narrows the batch to the refs for which ok holds.
func (in *stitchInput) keep(ok func(ref string) bool) {
	in.refs = slices.DeleteFunc(in.refs, func(r string) bool { return !ok(r) })
	in.gone = slices.DeleteFunc(in.gone, func(r string) bool { return !ok(r) })
	live, built := in.live[:0], in.built[:0]
	for i, r := range in.live {
		if ok(r) {
			live, built = append(live, r), append(built, in.built[i])
		}
	}
	in.live, in.built = live, built
}

// write stores the built batch: it deletes the final entities of gone
// refs and replaces the final entity and search rows of each changed live
// one. It returns the refs whose final entity changed.
func (in *stitchInput) write(ctx context.Context, tx dbtx) (changed []string, err error) {
	if err := execIn(ctx, tx, `DELETE FROM catalog_final_entities WHERE entity_ref IN (`, in.gone); err != nil {
		return nil, err
	}
	now := store.Now()
	var finalArgs []any
	// The entities whose search rows are written, once their final row
	// (and so their search_id) exists.
	searchRows := map[string]bool{}
	var replaced []int64
	var added []string
	for i, ref := range in.live {
		b := &in.built[i]
		if b.err != nil {
			return nil, b.err
		}
		if b.skip {
			continue
		}
		changed = append(changed, ref)
		searchRows[ref] = true
		if prev, existed := in.finals[ref]; existed {
			replaced = append(replaced, prev.searchID)
		} else {
			added = append(added, ref)
		}
		finalArgs = append(finalArgs, in.states[ref].id, ref, b.hash, b.body, now)
	}
	if len(changed) == 0 {
		return nil, nil
	}
	if err := chunks(replaced, func(part []int64) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM catalog_search WHERE search_id IN (`+params(1, len(part))+`)`, anys(part)...)
		return err
	}); err != nil {
		return nil, fmt.Errorf("delete search rows: %w", err)
	}
	if err := insertRows(ctx, tx, insertFinal, 5, finalArgs, upsertFinal); err != nil {
		return nil, fmt.Errorf("store final entities: %w", err)
	}
	// New final rows got their search_id from the database (a sequence on
	// PostgreSQL, the rowid on SQLite).
	ids := make(map[string]int64, len(changed))
	for ref, f := range in.finals {
		ids[ref] = f.searchID
	}
	err = queryIn(ctx, tx, `SELECT entity_ref, search_id FROM catalog_final_entities WHERE entity_ref IN (`, added, "", func(rows *sql.Rows) error {
		var ref string
		var id int64
		err := rows.Scan(&ref, &id)
		ids[ref] = id
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("read search ids: %w", err)
	}
	searchArgs := make([]any, 0, 5*len(in.search))
	for _, r := range in.search {
		if id, ok := ids[r.ref]; ok && searchRows[r.ref] {
			searchArgs = append(searchArgs, id, r.Key, r.seq, r.Value, r.storedOriginal())
		}
	}
	if err := insertRows(ctx, tx, insertSearch, 5, searchArgs); err != nil {
		return nil, fmt.Errorf("store search rows: %w", err)
	}
	return changed, nil
}

// stitchVersion changes the etag of every entity when the way final
// entities are made changes, so that all are stitched again.
const stitchVersion = "2"

// stitchHash hashes the inputs of a final entity: its id, processed form,
// errors, relations and orphan mark.
func stitchHash(st *stitchState, relations []Relation, orphan bool) string {
	parts := make([][]byte, 0, 5+2*len(relations))
	mark := "referenced"
	if orphan {
		mark = "orphan"
	}
	parts = append(parts, []byte(stitchVersion), []byte(st.id), []byte(st.processed.String), []byte(st.errors), []byte(mark))
	for _, r := range relations {
		parts = append(parts, []byte(r.Type), []byte(r.TargetRef))
	}
	return hashOf(parts...)
}

const upsertFinal = ` ON CONFLICT (entity_id) DO UPDATE SET entity_ref = excluded.entity_ref, hash = excluded.hash, final_entity = excluded.final_entity, updated_at = excluded.updated_at`

// finishEntity turns a processed entity into its final form (without uid
// and etag).
func finishEntity(e *Entity, relations []Relation, orphan bool, storedErrors string) {
	e.Relations = relations
	if e.Relations == nil {
		e.Relations = []Relation{}
	}
	if orphan {
		if e.Metadata.Annotations == nil {
			e.Metadata.Annotations = map[string]string{}
		}
		e.Metadata.Annotations[AnnotationOrphan] = "true"
	}
	for _, a := range []string{AnnotationViewURL, AnnotationEditURL} {
		if v, ok := e.Metadata.Annotations[a]; ok && javascriptURL.MatchString(v) {
			e.Metadata.Annotations[a] = rejectedURL
		}
	}
	if storedErrors != "" {
		var list []storedError
		if json.Unmarshal([]byte(storedErrors), &list) == nil && len(list) > 0 {
			if e.Status == nil {
				e.Status = &Status{}
			}
			for _, se := range list {
				level := se.Level
				if level == "" {
					level = LevelError
				}
				e.Status.Items = append(e.Status.Items, StatusItem{
					Type:    StatusItemProcessingType,
					Level:   level,
					Message: se.Name + ": " + strings.TrimSpace(se.Message),
					Error:   map[string]any{"name": se.Name, "message": se.Message},
				})
			}
		}
	}
}

// analyze refreshes the query planner's statistics of the catalog tables.
func (s *Service) analyze(ctx context.Context) error {
	if s.db.Dialect() == store.Postgres {
		// VACUUM also marks pages all-visible, without which index-only
		// scans of the search indexes visit the table for every row.
		_, err := s.db.ExecContext(ctx, `VACUUM (ANALYZE) catalog_search, catalog_final_entities, catalog_refresh_state, catalog_relations, catalog_refresh_references`)
		return err
	}
	// A sampled ANALYZE: exact counts of 3M rows would hold the writer for
	// seconds.
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `PRAGMA analysis_limit = 1000`); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `ANALYZE`)
		return err
	})
}
