package catalog

import (
	"context"
	"crypto/sha1"
	"database/sql"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations are the catalog's tables.
var Migrations = store.EmbeddedMigrations("catalog", migrationFS, "migrations")

// chunkSize bounds the rows of one multi-row statement, well below both
// databases' limits on bound parameters.
const chunkSize = 400

// params returns "$start, $start+1, …" for n parameters.
func params(start, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('$')
		b.WriteString(strconv.Itoa(start + i))
	}
	return b.String()
}

// tuples returns "($1, $2), ($3, $4), …" for rows of width columns.
func tuples(rows, width int) string {
	var b strings.Builder
	for r := range rows {
		if r > 0 {
			b.WriteString(", ")
		}
		b.WriteByte('(')
		b.WriteString(params(r*width+1, width))
		b.WriteByte(')')
	}
	return b.String()
}

func anys[T any](xs []T) []any {
	out := make([]any, len(xs))
	for i, x := range xs {
		out[i] = x
	}
	return out
}

// chunks calls fn with consecutive parts of xs of at most chunkSize items.
func chunks[T any](xs []T, fn func(part []T) error) error {
	for len(xs) > 0 {
		n := min(len(xs), chunkSize)
		if err := fn(xs[:n]); err != nil {
			return err
		}
		xs = xs[n:]
	}
	return nil
}

func hashOf(parts ...[]byte) string {
	h := sha1.New()
	for _, p := range parts {
		h.Write(p)
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// storedError is a processing error as kept in catalog_refresh_state.errors
// and shown in status.items.
type storedError struct {
	Name    string `json:"name"`
	Message string `json:"message"`
	Level   string `json:"level,omitempty"`
}

// deferredRow is an unprocessed entity to store.
type deferredRow struct {
	ref  string
	json []byte
	hash string
	key  sql.NullString
}

func newDeferredRow(e *Entity, key *string) (deferredRow, error) {
	data, err := e.MarshalJSON()
	if err != nil {
		return deferredRow{}, err
	}
	r := deferredRow{ref: e.Ref().String(), json: data, hash: hashOf(data)}
	if key != nil {
		r.key = sql.NullString{String: *key, Valid: true}
	}
	return r, nil
}

// conflict is an entity another source already owns.
type conflict struct {
	Ref         string `json:"entityRef"`
	NewKey      string `json:"newLocationKey"`
	ExistingKey string `json:"existingLocationKey"`
}

// upsertUnprocessed stores entities handed over by a provider or emitted by
// a parent. An entity is new, changed (stored again and scheduled now),
// unchanged, or owned under another location key (a conflict: the first
// owner keeps it). It returns the refs this source now holds.
func upsertUnprocessed(ctx context.Context, tx dbtx, rows []deferredRow, now time.Time) (accepted []string, conflicts []conflict, err error) {
	type existing struct {
		hash string
		key  sql.NullString
	}
	err = chunks(rows, func(part []deferredRow) error {
		refs := make([]any, len(part))
		for i, r := range part {
			refs[i] = r.ref
		}
		found := make(map[string]existing, len(part))
		q, err := tx.QueryContext(ctx, `SELECT entity_ref, unprocessed_hash, location_key FROM catalog_refresh_state WHERE entity_ref IN (`+params(1, len(refs))+`)`, refs...)
		if err != nil {
			return fmt.Errorf("load refresh state: %w", err)
		}
		for q.Next() {
			var ref string
			var ex existing
			if err := q.Scan(&ref, &ex.hash, &ex.key); err != nil {
				q.Close()
				return err
			}
			found[ref] = ex
		}
		q.Close()
		if err := q.Err(); err != nil {
			return err
		}
		var inserts []deferredRow
		for _, r := range part {
			ex, ok := found[r.ref]
			switch {
			case !ok:
				inserts = append(inserts, r)
			case ex.key.Valid && (!r.key.Valid || ex.key.String != r.key.String):
				conflicts = append(conflicts, conflict{Ref: r.ref, NewKey: r.key.String, ExistingKey: ex.key.String})
			case ex.hash != r.hash || ex.key != r.key:
				if _, err := tx.ExecContext(ctx, `UPDATE catalog_refresh_state SET unprocessed_entity = $1, unprocessed_hash = $2, location_key = $3, next_update_at = $4, last_discovery_at = $4 WHERE entity_ref = $5`,
					string(r.json), r.hash, r.key, now, r.ref); err != nil {
					return fmt.Errorf("update %s: %w", r.ref, err)
				}
				accepted = append(accepted, r.ref)
			default:
				accepted = append(accepted, r.ref)
			}
		}
		if len(inserts) == 0 {
			return nil
		}
		args := make([]any, 0, len(inserts)*7)
		for _, r := range inserts {
			args = append(args, newEntityID(), r.ref, string(r.json), r.hash, r.key, now, now)
		}
		res, err := tx.QueryContext(ctx, `INSERT INTO catalog_refresh_state (entity_id, entity_ref, unprocessed_entity, unprocessed_hash, location_key, next_update_at, last_discovery_at) VALUES `+
			tuples(len(inserts), 7)+` ON CONFLICT (entity_ref) DO NOTHING RETURNING entity_ref`, args...)
		if err != nil {
			return fmt.Errorf("insert entities: %w", err)
		}
		defer res.Close()
		for res.Next() {
			var ref string
			if err := res.Scan(&ref); err != nil {
				return err
			}
			accepted = append(accepted, ref)
		}
		return res.Err()
	})
	return accepted, conflicts, err
}

// queueStitch schedules entities for stitching.
func queueStitch(ctx context.Context, tx dbtx, refs []string, now time.Time) error {
	// In one order everywhere, so that transactions queueing the same
	// entities (a team that many batches add relations to) take their
	// row locks in the same order instead of deadlocking on PostgreSQL.
	refs = unique(refs)
	slices.Sort(refs)
	return chunks(refs, func(part []string) error {
		args := make([]any, 0, 2*len(part))
		for _, r := range part {
			args = append(args, r, now)
		}
		// DO UPDATE rather than DO NOTHING: it locks a row that is already
		// queued, so a stitcher on PostgreSQL skips it until this
		// transaction's changes are committed (with DO NOTHING a stitcher
		// could take the row, read the entity before the changes and never
		// see them: three entities of 10k stayed unstitched), and the new
		// generation tells SQLite's stitcher, which reads outside the
		// writer, that what it read may be out of date.
		_, err := tx.ExecContext(ctx, `INSERT INTO catalog_stitch_queue (entity_ref, queued_at) VALUES `+tuples(len(part), 2)+
			` ON CONFLICT (entity_ref) DO UPDATE SET generation = catalog_stitch_queue.generation + 1`, args...)
		if err != nil {
			return fmt.Errorf("queue stitching: %w", err)
		}
		return nil
	})
}

func unique(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// queryStrings runs a query returning one string column.
func queryStrings(ctx context.Context, q store.Querier, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// queryStringsIn runs query (which ends in "IN (") once per chunk of
// values, with args before the list.
func queryStringsIn(ctx context.Context, q store.Querier, query string, values []string, args ...any) ([]string, error) {
	var out []string
	err := chunks(values, func(part []string) error {
		all := append(append([]any{}, args...), anys(part)...)
		got, err := queryStrings(ctx, q, query+params(len(args)+1, len(part))+")", all...)
		out = append(out, got...)
		return err
	})
	return out, err
}

// queryIn runs query (which ends in "IN (") once per chunk of values,
// with suffix after the list, and calls scan for each row.
func queryIn(ctx context.Context, q store.Querier, query string, values []string, suffix string, scan func(*sql.Rows) error) error {
	return chunks(values, func(part []string) error {
		rows, err := q.QueryContext(ctx, query+params(1, len(part))+")"+suffix, anys(part)...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// execIn runs statement (which ends in "IN (") once per chunk of values.
func execIn(ctx context.Context, tx dbtx, statement string, values []string, args ...any) error {
	return chunks(values, func(part []string) error {
		all := append(append([]any{}, args...), anys(part)...)
		_, err := tx.ExecContext(ctx, statement+params(len(args)+1, len(part))+")", all...)
		return err
	})
}

// replaceReferences makes the given source hold exactly targets and
// returns the targets it no longer holds. A source is a provider
// (sourceKey) or a parent entity (sourceRef).
func setReferences(ctx context.Context, tx dbtx, column, source string, targets []string) (removed []string, err error) {
	old, err := queryStrings(ctx, tx, `SELECT target_entity_ref FROM catalog_refresh_references WHERE `+column+` = $1`, source)
	if err != nil {
		return nil, fmt.Errorf("load references: %w", err)
	}
	keep := make(map[string]bool, len(targets))
	for _, t := range targets {
		keep[t] = true
	}
	have := make(map[string]bool, len(old))
	for _, o := range old {
		have[o] = true
		if !keep[o] {
			removed = append(removed, o)
		}
	}
	if err := execIn(ctx, tx, `DELETE FROM catalog_refresh_references WHERE `+column+` = $1 AND target_entity_ref IN (`, removed, source); err != nil {
		return nil, fmt.Errorf("delete references: %w", err)
	}
	var added []string
	for _, t := range unique(targets) {
		if !have[t] {
			added = append(added, t)
		}
	}
	err = chunks(added, func(part []string) error {
		args := make([]any, 0, 2*len(part))
		for _, t := range part {
			args = append(args, source, t)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO catalog_refresh_references (`+column+`, target_entity_ref) VALUES `+tuples(len(part), 2), args...)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("insert references: %w", err)
	}
	return removed, nil
}

// marshalErrors stores errors in the errors column form.
func marshalErrors(errList []error, warnings []error) string {
	if len(errList) == 0 && len(warnings) == 0 {
		return ""
	}
	out := make([]storedError, 0, len(errList)+len(warnings))
	for _, e := range errList {
		out = append(out, storedError{Name: errorName(e), Message: e.Error(), Level: LevelError})
	}
	for _, e := range warnings {
		out = append(out, storedError{Name: errorName(e), Message: e.Error(), Level: LevelWarning})
	}
	data, _ := json.Marshal(out)
	return string(data)
}

// dbtx is a transaction whose statements use positional placeholders on
// SQLite where they can: SQLite looks "$N" parameters up by name in a
// list, which makes long multi-row statements quadratic to prepare and
// bind.
type dbtx struct {
	tx     *sql.Tx
	db     *store.DB
	sqlite bool
}

func (s *Service) wrap(tx *sql.Tx) dbtx {
	return dbtx{tx: tx, db: s.db, sqlite: s.db.Dialect() == store.SQLite}
}

// execPrepared runs a statement whose text recurs (full chunks of bulk
// inserts) as the statement prepareBulk prepared, if it did: preparing a
// 1,600-parameter insert took about a tenth of stitching's time.
func (t dbtx) execPrepared(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.db == nil {
		return t.ExecContext(ctx, query, args...)
	}
	return t.db.TxExec(ctx, t.tx, t.rewrite(query), args...)
}

// ExecContext implements store.Querier.
func (t dbtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.rewrite(query), args...)
}

// QueryContext implements store.Querier.
func (t dbtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.rewrite(query), args...)
}

// QueryRowContext implements store.Querier.
func (t dbtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.rewrite(query), args...)
}

func (t dbtx) rewrite(query string) string {
	if !t.sqlite {
		return query
	}
	return positional(query)
}

// positional replaces $1, $2, … by ? when each appears once, in order (so
// that binding by position means the same); otherwise it returns query.
func positional(query string) string {
	var b strings.Builder
	b.Grow(len(query))
	next := 1
	for i := 0; i < len(query); i++ {
		c := query[i]
		if c != '$' || i+1 >= len(query) || query[i+1] < '0' || query[i+1] > '9' {
			b.WriteByte(c)
			continue
		}
		j := i + 1
		n := 0
		for j < len(query) && query[j] >= '0' && query[j] <= '9' {
			n = n*10 + int(query[j]-'0')
			j++
		}
		if n != next {
			return query
		}
		next++
		b.WriteByte('?')
		i = j - 1
	}
	return b.String()
}

// newEntityID returns a new entity id (the entity's uid): a time-ordered
// UUID (version 7), so that the many indexes keyed by entity id grow at
// their end during a bulk load instead of taking inserts at random pages.
func newEntityID() string {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return id.String()
}
