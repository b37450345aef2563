package catalog

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

// Processing batch sizes: large enough to amortise a transaction over many
// entities, small enough that one batch finishes in well under a second.
const (
	processBatch = 500
	stitchBatch  = 1000
	// pollInterval is how often the loops look for work queued by other
	// replicas; work queued here wakes them at once.
	pollInterval = 500 * time.Millisecond
	// settledInterval is how often entities without external inputs are
	// processed again; see processOnce.
	settledInterval = 24 * time.Hour
)

func errorName(err error) string { return string(errs.KindOf(err)) }

// claimedEntity is a refresh state row taken for processing.
type claimedEntity struct {
	id, ref     string
	unprocessed string
	resultHash  string
}

// nextInterval returns when a claimed entity is due again: a random time
// in [interval, 1.5·interval], so entities read together spread out.
func (s *Service) nextInterval() time.Duration {
	if s.interval.Disabled {
		return 100 * 365 * 24 * time.Hour
	}
	d := s.interval.Duration
	return d + time.Duration(rand.Int64N(int64(d/2)+1))
}

// claim takes up to n entities that are due, pushing their next update into
// the future so no other replica takes them.
func (s *Service) claim(ctx context.Context, n int) ([]claimedEntity, error) {
	var out []claimedEntity
	now := store.Now()
	err := s.db.Tx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		out = out[:0]
		rows, err := tx.QueryContext(ctx, `SELECT entity_id, entity_ref, unprocessed_entity, result_hash FROM catalog_refresh_state
			WHERE next_update_at <= $1 ORDER BY next_update_at LIMIT $2 `+s.db.SkipLocked(), now, n)
		if err != nil {
			return err
		}
		ids := make([]string, 0, n)
		for rows.Next() {
			var c claimedEntity
			if err := rows.Scan(&c.id, &c.ref, &c.unprocessed, &c.resultHash); err != nil {
				rows.Close()
				return err
			}
			out = append(out, c)
			ids = append(ids, c.id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		return execIn(ctx, tx, `UPDATE catalog_refresh_state SET next_update_at = $1 WHERE entity_id IN (`, ids, now.Add(s.nextInterval()))
	})
	if err != nil {
		return nil, fmt.Errorf("claim entities: %w", err)
	}
	return out, nil
}

// processedEntity is the outcome of one claimed entity, ready to store.
type processedEntity struct {
	claimedEntity
	out        *Outcome
	processed  []byte
	children   *childRows
	relations  []relationRow
	resultHash string
}

type relationRow struct {
	source, typ, target string
}

func (s *Service) processClaimed(ctx context.Context, c claimedEntity) processedEntity {
	p := processedEntity{claimedEntity: c}
	var e Entity
	if err := json.Unmarshal([]byte(c.unprocessed), &e); err != nil {
		p.out = &Outcome{Errors: []error{errs.InputErrorf("stored entity %s cannot be read: %v", c.ref, err)}}
	} else {
		// Children become rows (their JSON) as they are read, so a large
		// glob is held as compact rows rather than as entities.
		var childErrs []error
		p.children = &childRows{}
		p.out = s.ingest.process(ctx, &e, func(ch DeferredChild) {
			row, err := newDeferredRow(ch.Entity, ch.LocationKey)
			if err == nil {
				err = p.children.add(row)
			}
			if err != nil {
				childErrs = append(childErrs, err)
			}
		})
		if p.out.Entity == nil {
			p.children = nil
		} else {
			p.out.Errors = append(p.out.Errors, childErrs...)
		}
	}
	if p.out.Entity != nil {
		data, err := p.out.Entity.MarshalJSON()
		if err != nil {
			p.out = &Outcome{Errors: []error{err}}
			p.children = nil
		} else {
			p.processed = data
		}
	}
	if p.out.Entity != nil {
		for _, ch := range p.out.Children {
			row, err := newDeferredRow(ch.Entity, ch.LocationKey)
			if err != nil {
				p.out.Errors = append(p.out.Errors, err)
				continue
			}
			if err := p.children.add(row); err != nil {
				p.out.Errors = append(p.out.Errors, err)
			}
		}
		// The rows hold what is stored; let the entities go.
		p.out.Children = nil
		for _, r := range p.out.Relations {
			p.relations = append(p.relations, relationRow{r.Source.String(), r.Type, r.Target.String()})
		}
	}
	// The result hash covers everything processing produced; an unchanged
	// hash means there is nothing to write.
	// Parts are written one by one (as hashOf would) rather than built:
	// a glob's 100k children made 15 MB of them at once.
	h := sha1.New()
	part := func(ss ...string) {
		for _, s := range ss {
			io.WriteString(h, s)
		}
		h.Write([]byte{0})
	}
	part(marshalErrors(p.out.Errors, nil))
	h.Write(p.processed)
	h.Write([]byte{0})
	if p.children != nil {
		for _, ch := range p.children.rows {
			part(ch.ref, " ", ch.hash, " ", ch.key.String)
		}
	}
	for _, r := range p.relations {
		part(r.source, " ", r.typ, " ", r.target)
	}
	for _, k := range p.out.RefreshKeys {
		part(k)
	}
	p.resultHash = hex.EncodeToString(h.Sum(nil))
	return p
}

// processOnce claims a batch of due entities, processes them (in parallel)
// and stores the results. It returns how many it claimed.
func (s *Service) processOnce(ctx context.Context) (int, error) {
	b, err := s.processBatch(ctx)
	if err != nil || b == nil {
		return 0, err
	}
	return b.claimed, s.storeBatch(ctx, b)
}

// processedBatch is a claimed batch, processed and ready to store.
type processedBatch struct {
	claimed int
	// settled are the entities that read nothing outside themselves.
	settled []string
	// changed are the results that differ from what is stored.
	changed []processedEntity
}

// processBatch claims a batch of due entities and processes them (in
// parallel). It returns nil when none are due.
func (s *Service) processBatch(ctx context.Context) (*processedBatch, error) {
	claimed, err := s.claim(ctx, processBatch)
	if err != nil || len(claimed) == 0 {
		return nil, err
	}
	results := make([]processedEntity, len(claimed))
	var wg sync.WaitGroup
	next := make(chan int)
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Go(func() {
			for i := range next {
				results[i] = s.processClaimed(ctx, claimed[i])
			}
		})
	}
	for i := range claimed {
		next <- i
	}
	close(next)
	wg.Wait()
	b := &processedBatch{claimed: len(claimed), changed: results[:0]}
	for _, r := range results {
		if r.out.Entity != nil && len(r.out.RefreshKeys) == 0 && r.children.len() == 0 {
			b.settled = append(b.settled, r.id)
		}
		if r.resultHash != r.claimedEntity.resultHash {
			b.changed = append(b.changed, r)
		}
	}
	return b, nil
}

// storeBatch stores a processed batch.
func (s *Service) storeBatch(ctx context.Context, b *processedBatch) error {
	if len(b.settled) == 0 && len(b.changed) == 0 {
		return nil
	}
	return s.storeResults(ctx, b.changed, b.settled)
}

// processPipelined runs processing as two stages until ctx ends: one
// claims and processes batches while the other stores the previous one,
// so the cores work on the next batch while the database writes the last
// (on SQLite the writer is also busy stitching for part of that time).
func (s *Service) processPipelined(ctx context.Context) {
	batches := make(chan *processedBatch, 1)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case b := <-batches:
				if err := s.storeBatch(ctx, b); err != nil && ctx.Err() == nil {
					s.log.ErrorContext(ctx, "catalog processing failed", "err", err)
				}
			}
		}
	})
	for ctx.Err() == nil {
		b, err := s.processBatch(ctx)
		if err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "catalog processing failed", "err", err)
		}
		if b != nil {
			select {
			case batches <- b:
			case <-ctx.Done():
			}
			continue
		}
		select {
		case <-ctx.Done():
		case <-s.wakeProc:
		case <-time.After(pollInterval):
		}
	}
	wg.Wait()
}

// storeResults writes processing results in one transaction.
// Settled entities (see processedBatch) are scheduled in the same
// transaction.
func (s *Service) storeResults(ctx context.Context, results []processedEntity, settled []string) error {
	now := store.Now()
	var allConflicts []conflict
	orphansPossible := false
	err := s.db.Tx(ctx, func(rawTx *sql.Tx) error {
		tx := s.wrap(rawTx)
		// An entity that read nothing outside itself can only change when
		// its source hands over a new version (which schedules it at
		// once), so it need not come round every interval; once a day
		// keeps configuration changes (kinds, rules) from going unseen.
		if err := execIn(ctx, tx, `UPDATE catalog_refresh_state SET next_update_at = $1 WHERE entity_id IN (`, settled,
			now.Add(settledInterval+time.Duration(rand.Int64N(int64(settledInterval/2))))); err != nil {
			return fmt.Errorf("schedule settled entities: %w", err)
		}
		allConflicts = allConflicts[:0]
		orphansPossible = false
		var stitch []string
		var okIDs, okRefs []string
		for i := range results {
			r := &results[i]
			stitch = append(stitch, r.ref)
			if r.out.Entity == nil {
				if _, err := tx.ExecContext(ctx, `UPDATE catalog_refresh_state SET errors = $1, result_hash = $2 WHERE entity_id = $3`,
					marshalErrors(r.out.Errors, nil), r.resultHash, r.id); err != nil {
					return fmt.Errorf("store errors of %s: %w", r.ref, err)
				}
				continue
			}
			okIDs = append(okIDs, r.id)
			okRefs = append(okRefs, r.ref)
			var warnings []error
			if r.children.len() > 0 {
				var accepted []string
				var conflicts []conflict
				err := r.children.each(func(part []deferredRow) error {
					a, c, err := upsertUnprocessed(ctx, tx, part, now)
					accepted, conflicts = append(accepted, a...), append(conflicts, c...)
					return err
				})
				if err != nil {
					return err
				}
				for _, c := range conflicts {
					warnings = append(warnings, errs.Conflictf("entity %s is also defined at %s, which was first; this definition (%s) is ignored", c.Ref, c.ExistingKey, c.NewKey))
				}
				allConflicts = append(allConflicts, conflicts...)
				if len(conflicts) > 0 {
					// Process the losing parent fully next time too, so it
					// takes the entity over once the owner lets go.
					r.resultHash += "-conflict"
				}
				removed, err := setReferences(ctx, tx, "source_entity_ref", r.ref, accepted)
				if err != nil {
					return err
				}
				if len(removed) > 0 {
					orphansPossible = true
					stitch = append(stitch, removed...)
				}
			}
			if _, err := tx.ExecContext(ctx, `UPDATE catalog_refresh_state SET processed_entity = $1, result_hash = $2, errors = $3 WHERE entity_id = $4`,
				string(r.processed), r.resultHash, marshalErrors(nil, warnings), r.id); err != nil {
				return fmt.Errorf("store %s: %w", r.ref, err)
			}
		}
		if len(okIDs) > 0 {
			// Entities that lost all children: one query finds them all.
			parents, err := queryStringsIn(ctx, tx, `SELECT DISTINCT source_entity_ref FROM catalog_refresh_references WHERE source_entity_ref IN (`, okRefs)
			if err != nil {
				return err
			}
			for _, p := range parents {
				if i := slices.IndexFunc(results, func(r processedEntity) bool { return r.ref == p }); i >= 0 && results[i].out.Entity != nil && results[i].children.len() == 0 {
					removed, err := setReferences(ctx, tx, "source_entity_ref", p, nil)
					if err != nil {
						return err
					}
					orphansPossible = true
					stitch = append(stitch, removed...)
				}
			}
			more, err := s.replaceRelations(ctx, tx, results, okIDs)
			if err != nil {
				return err
			}
			stitch = append(stitch, more...)
			if err := execIn(ctx, tx, `DELETE FROM catalog_refresh_keys WHERE entity_id IN (`, okIDs); err != nil {
				return err
			}
			var keyArgs []any
			for _, r := range results {
				if r.out.Entity == nil {
					continue
				}
				for _, k := range unique(r.out.RefreshKeys) {
					keyArgs = append(keyArgs, r.id, k)
				}
			}
			if err := insertRows(ctx, tx, `INSERT INTO catalog_refresh_keys (entity_id, key) VALUES `, 2, keyArgs); err != nil {
				return err
			}
		}
		return queueStitch(ctx, tx, stitch, now)
	})
	if err != nil {
		return fmt.Errorf("store processing results: %w", err)
	}
	for _, c := range allConflicts {
		s.log.WarnContext(ctx, "conflicting entity definitions; the first location keeps the entity", "entity", c.Ref, "existing", c.ExistingKey, "new", c.NewKey)
		s.publish(ctx, "catalog.conflict", c)
	}
	s.wakeStitch()
	if orphansPossible {
		s.wakeOrphans()
	}
	return nil
}

// The bulk inserts of processing and stitching. Their full chunks are
// prepared once (see prepareBulk).
const (
	insertSearch    = `INSERT INTO catalog_search (search_id, key, seq, value, original_value) VALUES `
	insertFinal     = `INSERT INTO catalog_final_entities (entity_id, entity_ref, hash, final_entity, updated_at) VALUES `
	insertRelations = `INSERT INTO catalog_relations (originating_entity_id, source_entity_ref, type, target_entity_ref) VALUES `
)

// prepareBulk prepares the full chunks of the bulk inserts. It must run
// outside transactions: on SQLite the one writing connection is busy inside
// them.
func (s *Service) prepareBulk(ctx context.Context) error {
	t := dbtx{sqlite: s.db.Dialect() == store.SQLite}
	return s.db.Prepare(ctx,
		t.rewrite(insertSearch+tuples(chunkSize, 5)),
		t.rewrite(insertFinal+tuples(chunkSize, 5)+upsertFinal),
		t.rewrite(insertRelations+tuples(chunkSize, 4)))
}

// insertRows inserts rows of width values each (args flattened), chunked.
func insertRows(ctx context.Context, tx dbtx, prefix string, width int, args []any, suffix ...string) error {
	for len(args) > 0 {
		n := min(len(args)/width, chunkSize)
		exec := tx.ExecContext
		if n == chunkSize {
			exec = tx.execPrepared
		}
		if _, err := exec(ctx, prefix+tuples(n, width)+strings.Join(suffix, ""), args[:n*width]...); err != nil {
			return err
		}
		args = args[n*width:]
	}
	return nil
}

// replaceRelations stores the relations of the processed entities and
// returns the entities whose stitched form changes: the sources of every
// relation added or removed.
func (s *Service) replaceRelations(ctx context.Context, tx dbtx, results []processedEntity, ids []string) ([]string, error) {
	old := map[string]map[relationRow]bool{}
	err := queryIn(ctx, tx, `SELECT originating_entity_id, source_entity_ref, type, target_entity_ref FROM catalog_relations WHERE originating_entity_id IN (`, ids, "", func(rows *sql.Rows) error {
		var id string
		var r relationRow
		if err := rows.Scan(&id, &r.source, &r.typ, &r.target); err != nil {
			return err
		}
		if old[id] == nil {
			old[id] = map[relationRow]bool{}
		}
		old[id][r] = true
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load relations: %w", err)
	}
	var stitch, changedIDs []string
	var args []any
	for _, r := range results {
		if r.out.Entity == nil {
			continue
		}
		prev := old[r.id]
		next := make(map[relationRow]bool, len(r.relations))
		for _, rel := range r.relations {
			next[rel] = true
		}
		changed := false
		for rel := range next {
			if !prev[rel] {
				stitch, changed = append(stitch, rel.source), true
			}
		}
		for rel := range prev {
			if !next[rel] {
				stitch, changed = append(stitch, rel.source), true
			}
		}
		if !changed {
			continue
		}
		changedIDs = append(changedIDs, r.id)
		for rel := range next {
			args = append(args, r.id, rel.source, rel.typ, rel.target)
		}
	}
	if err := execIn(ctx, tx, `DELETE FROM catalog_relations WHERE originating_entity_id IN (`, changedIDs); err != nil {
		return nil, fmt.Errorf("delete relations: %w", err)
	}
	if err := insertRows(ctx, tx, insertRelations, 4, args); err != nil {
		return nil, fmt.Errorf("insert relations: %w", err)
	}
	return stitch, nil
}

// deleteOrphans removes entities nothing references any more, round by
// round so that their children (now unreferenced too) follow. With the
// keep strategy it only re-stitches them, which marks them as orphans.
func (s *Service) deleteOrphans(ctx context.Context) (int, error) {
	if s.orphans == OrphansKeep {
		return 0, nil
	}
	total := 0
	for round := 0; round < 100; round++ {
		var n int
		err := s.db.Tx(ctx, func(rawTx *sql.Tx) error {
			tx := s.wrap(rawTx)
			rows, err := tx.QueryContext(ctx, `SELECT entity_id, entity_ref FROM catalog_refresh_state r
				WHERE NOT EXISTS (SELECT 1 FROM catalog_refresh_references x WHERE x.target_entity_ref = r.entity_ref) LIMIT 1000`)
			if err != nil {
				return err
			}
			var ids, refs []string
			for rows.Next() {
				var id, ref string
				if err := rows.Scan(&id, &ref); err != nil {
					rows.Close()
					return err
				}
				ids, refs = append(ids, id), append(refs, ref)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			n = len(ids)
			return deleteEntities(ctx, tx, ids, refs)
		})
		if err != nil {
			return total, fmt.Errorf("delete orphans: %w", err)
		}
		if n == 0 {
			break
		}
		total += n
	}
	if total > 0 {
		s.log.InfoContext(ctx, "deleted orphaned entities", "count", total)
		s.wakeStitch()
	}
	return total, nil
}

// deleteEntities deletes entities with everything that hangs off them,
// leaves their children unreferenced, and re-stitches the entities their
// relations touched.
func deleteEntities(ctx context.Context, tx dbtx, ids, refs []string) error {
	if len(ids) == 0 {
		return nil
	}
	touched, err := queryStringsIn(ctx, tx, `SELECT DISTINCT source_entity_ref FROM catalog_relations WHERE originating_entity_id IN (`, ids)
	if err != nil {
		return err
	}
	if err := execIn(ctx, tx, `DELETE FROM catalog_refresh_references WHERE source_entity_ref IN (`, refs); err != nil {
		return err
	}
	// Relations have no foreign key (see migration 0008): they go here.
	if err := execIn(ctx, tx, `DELETE FROM catalog_relations WHERE originating_entity_id IN (`, ids); err != nil {
		return err
	}
	if err := execIn(ctx, tx, `DELETE FROM catalog_refresh_state WHERE entity_id IN (`, ids); err != nil {
		return err
	}
	// The deleted entities are queued too: stitching removes their final
	// form if the cascade has not, and a stitch of them already under way
	// outside the writer sees that they changed.
	return queueStitch(ctx, tx, append(touched, refs...), store.Now())
}
