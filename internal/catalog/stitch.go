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
	err := s.db.Tx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		changed = changed[:0]
		refs, err := queryStrings(ctx, tx, `DELETE FROM catalog_stitch_queue WHERE entity_ref IN (
			SELECT entity_ref FROM catalog_stitch_queue ORDER BY queued_at LIMIT $1 `+s.db.SkipLocked()+`) RETURNING entity_ref`, stitchBatch)
		if err != nil {
			return fmt.Errorf("take stitch queue: %w", err)
		}
		n = len(refs)
		if n == 0 {
			return nil
		}
		changed, err = stitch(ctx, tx, refs)
		return err
	})
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

// stitch writes the final entities of refs: the processed entity with the
// relations that point out of it (emitted by itself or by others), the
// orphan mark, processing errors as status items, uid and etag.
func stitch(ctx context.Context, tx dbtx, refs []string) (changed []string, err error) {
	states := map[string]*stitchState{}
	err = chunks(refs, func(part []string) error {
		rows, err := tx.QueryContext(ctx, `SELECT entity_id, entity_ref, processed_entity, errors FROM catalog_refresh_state WHERE entity_ref IN (`+params(1, len(part))+`)`, anys(part)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			st := &stitchState{}
			if err := rows.Scan(&st.id, &st.ref, &st.processed, &st.errors); err != nil {
				return err
			}
			states[st.ref] = st
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	var gone, live []string
	for _, r := range refs {
		if st := states[r]; st == nil || !st.processed.Valid {
			gone = append(gone, r)
		} else {
			live = append(live, r)
		}
	}
	if err := execIn(ctx, tx, `DELETE FROM catalog_final_entities WHERE entity_ref IN (`, gone); err != nil {
		return nil, err
	}
	if len(live) == 0 {
		return nil, nil
	}
	referenced := map[string]bool{}
	targets, err := queryStringsIn(ctx, tx, `SELECT DISTINCT target_entity_ref FROM catalog_refresh_references WHERE target_entity_ref IN (`, live)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		referenced[t] = true
	}
	relations := map[string][]Relation{}
	err = chunks(live, func(part []string) error {
		rows, err := tx.QueryContext(ctx, `SELECT DISTINCT source_entity_ref, type, target_entity_ref FROM catalog_relations WHERE source_entity_ref IN (`+params(1, len(part))+`) ORDER BY source_entity_ref, type, target_entity_ref`, anys(part)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var src string
			var r Relation
			if err := rows.Scan(&src, &r.Type, &r.TargetRef); err != nil {
				return err
			}
			relations[src] = append(relations[src], r)
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}
	type finalRow struct {
		hash     string
		searchID int64
	}
	finals := map[string]finalRow{}
	err = chunks(live, func(part []string) error {
		rows, err := tx.QueryContext(ctx, `SELECT entity_ref, hash, search_id FROM catalog_final_entities WHERE entity_ref IN (`+params(1, len(part))+`)`, anys(part)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ref string
			var f finalRow
			if err := rows.Scan(&ref, &f.hash, &f.searchID); err != nil {
				return err
			}
			finals[ref] = f
		}
		return rows.Err()
	})
	if err != nil {
		return nil, err
	}

	// Decoding, finishing, encoding and indexing entities is CPU work done
	// while this transaction holds the one SQLite writer (about a third of
	// stitching's time), so it is spread over the cores.
	type built struct {
		skip bool
		hash string
		body string
		rows []SearchRow
		err  error
	}
	out := make([]built, len(live))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), max(1, len(live)/50)) {
		wg.Go(func() {
			for i := range next {
				ref := live[i]
				st := states[ref]
				b := &out[i]
				// The etag is the hash of everything the final entity is
				// made of, so an entity whose inputs did not change is
				// skipped before it is decoded, and a changed one is
				// encoded once.
				b.hash = stitchHash(st, relations[ref], !referenced[ref])
				if prev, existed := finals[ref]; existed && prev.hash == b.hash {
					b.skip = true
					continue
				}
				var e Entity
				if err := json.Unmarshal([]byte(st.processed.String), &e); err != nil {
					b.err = fmt.Errorf("stored entity %s cannot be read: %w", ref, err)
					continue
				}
				finishEntity(&e, relations[ref], !referenced[ref], st.errors)
				e.Metadata.UID = st.id
				e.Metadata.Etag = b.hash
				v := e.Value()
				body, err := e.MarshalJSON()
				if err != nil {
					b.err = err
					continue
				}
				b.body = string(body)
				if b.rows, err = BuildSearch(v, e.Relations); err != nil {
					// The entity cannot be indexed; keep its previous form.
					b.skip = true
				}
			}
		})
	}
	for i := range live {
		next <- i
	}
	close(next)
	wg.Wait()

	now := store.Now()
	var finalArgs []any
	// The search rows of each changed entity, written once its final row
	// (and so its search_id) exists.
	searchRows := map[string][]SearchRow{}
	var replaced []int64
	var added []string
	for i, ref := range live {
		b := &out[i]
		if b.err != nil {
			return nil, b.err
		}
		if b.skip {
			continue
		}
		changed = append(changed, ref)
		searchRows[ref] = b.rows
		if prev, existed := finals[ref]; existed {
			replaced = append(replaced, prev.searchID)
		} else {
			added = append(added, ref)
		}
		finalArgs = append(finalArgs, states[ref].id, ref, b.hash, b.body, now)
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
	err = chunks(added, func(part []string) error {
		rows, err := tx.QueryContext(ctx, `SELECT entity_ref, search_id FROM catalog_final_entities WHERE entity_ref IN (`+params(1, len(part))+`)`, anys(part)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ref string
			var f finalRow
			if err := rows.Scan(&ref, &f.searchID); err != nil {
				return err
			}
			finals[ref] = f
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("read search ids: %w", err)
	}
	type keyedRow struct {
		id  int64
		seq int
		SearchRow
	}
	all := make([]keyedRow, 0, 30*len(changed))
	for _, ref := range changed {
		id := finals[ref].searchID
		for i, r := range searchRows[ref] {
			all = append(all, keyedRow{id, i, r})
		}
	}
	// Rows in (key, value) order reach neighbouring pages of the (key,
	// value, …) index one after another instead of at random.
	str := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	slices.SortFunc(all, func(a, b keyedRow) int {
		if c := strings.Compare(a.Key, b.Key); c != 0 {
			return c
		}
		return strings.Compare(str(a.Value), str(b.Value))
	})
	searchArgs := make([]any, 0, 5*len(all))
	for _, r := range all {
		searchArgs = append(searchArgs, r.id, r.Key, r.seq, r.Value, r.storedOriginal())
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
