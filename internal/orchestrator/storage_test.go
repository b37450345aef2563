package orchestrator

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/seal"
	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
	"github.com/portico-dev/portico/internal/workflow/engine"
)

// Journal rows written before batching (one entry per row, a JSON object,
// voided through the void column) and batch rows (compressed on SQLite,
// JSON text on PostgreSQL, voided per entry) read back as one journal.
func TestJournalReadsEveryRowFormat(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		rt := newTestRuntime(t, db, nil)
		sealer, err := seal.New(ctx, db, "", "", "a configured key")
		if err != nil {
			t.Fatal(err)
		}
		rt.codec = newJournalCodec(sealer, db.Dialect() == store.SQLite)
		at := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
		started := engine.Entry{Seq: 1, Kind: engine.EntryStarted, Time: at, Start: &engine.StartInfo{
			InstanceID: "i1", WorkflowID: "w", Input: map[string]any{"n": 1.0}, Headers: map[string]string{"Authorization": "Bearer t0k3n"}}}
		entered := engine.Entry{Seq: 2, Kind: engine.EntryStateEntered, Time: at, Step: 1, State: "A"}
		failed := engine.Entry{Seq: 3, Kind: engine.EntryActionFailed, Time: at, Step: 1, State: "A", Key: "k", Error: &engine.ErrorInfo{Message: "boom"}}
		legacy := []struct {
			pos  int64
			kind string
			void int
			json string
		}{
			{1, "started", 0, `{"seq":1,"kind":"started","time":"2026-11-22T03:00:00Z","start":{"instanceId":"i1","workflowId":"w","input":{"n":1}}}`},
			{2, "stateEntered", 0, `{"seq":2,"kind":"stateEntered","time":"2026-11-22T03:00:00Z","step":1,"state":"A"}`},
			{3, "actionFailed", 1, `{"seq":3,"kind":"actionFailed","time":"2026-11-22T03:00:00Z","step":1,"state":"A","key":"k"}`},
		}
		for _, r := range legacy {
			if _, err := db.ExecContext(ctx, `INSERT INTO orchestrator_journal (instance_id, pos, seq, kind, entry, void) VALUES ('old', $1, $1, $2, $3, $4)`,
				r.pos, r.kind, r.json, r.void); err != nil {
				t.Fatal(err)
			}
		}
		row, err := journalRow(rt.codec, "new", 0, []engine.Entry{started, entered, failed})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, row.query, row.args...); err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"old", "new"} {
			entries, last, err := loadJournal(ctx, db, rt.codec, id)
			if err != nil {
				t.Fatalf("%s: %v", id, err)
			}
			if last != 3 {
				t.Errorf("%s: last position %d, want 3", id, last)
			}
			if id == "old" {
				if len(entries) != 2 || entries[1].Kind != engine.EntryStateEntered {
					t.Errorf("old: entries %+v, want started and stateEntered (the voided failure left out)", entries)
				}
				continue
			}
			if len(entries) != 3 || entries[2].Error == nil || entries[2].Error.Message != "boom" {
				t.Fatalf("new: entries %+v", entries)
			}
			if got := entries[0].Start.Headers["Authorization"]; got != "Bearer t0k3n" {
				t.Errorf("new: start headers %v, want the sealed token back", entries[0].Start.Headers)
			}
		}
		// Setting the failure aside marks it void inside its batch row.
		if err := db.Tx(ctx, func(tx *sql.Tx) error { return rt.voidFailures(ctx, tx, "new") }); err != nil {
			t.Fatal(err)
		}
		entries, _, err := loadJournal(ctx, db, rt.codec, "new")
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 2 || entries[1].Kind != engine.EntryStateEntered {
			t.Errorf("after voiding: entries %+v, want started and stateEntered", entries)
		}
		var stored []byte
		if err := db.QueryRowContext(ctx, `SELECT entry FROM orchestrator_journal WHERE instance_id = 'new'`).Scan(&stored); err != nil {
			t.Fatal(err)
		}
		text, err := JournalRowJSON(stored)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"void":true`, `"sealedHeaders":"`, `"kind":"actionFailed"`} {
			if !bytes.Contains(text, []byte(want)) {
				t.Errorf("stored row lacks %s: %s", want, text)
			}
		}
		if bytes.Contains(text, []byte("t0k3n")) {
			t.Errorf("stored row holds the token in the clear: %s", text)
		}
	}, Migrations)
}

func TestJournalRowJSONRejectsGarbage(t *testing.T) {
	for _, row := range [][]byte{[]byte("not json"), []byte{1, 0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2}, []byte{1, 5, 1, 2}, nil} {
		if _, err := JournalRowJSON(row); err == nil {
			t.Errorf("JournalRowJSON(%q): no error", row)
		}
	}
}

// The v2 API's lookups by initiatorEntity and targetEntity use their
// partial indexes (which leave out instances without the variable).
func TestEntityLookupsUsePartialIndexes(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		b := &sqlBuilder{dialect: db.Dialect()}
		queries := map[string]string{
			"orchestrator_instances_api_initiator": `SELECT id FROM orchestrator_instances WHERE ` + b.variableText([]string{"initiatorEntity"}) + ` = $1 ORDER BY started_at DESC, id DESC LIMIT 10`,
			"orchestrator_instances_api_target":    `SELECT process_id FROM orchestrator_instances WHERE ` + b.variableText([]string{"targetEntity"}) + ` IN ($1, $1)`,
		}
		for index, q := range queries {
			var plan strings.Builder
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				explain := `EXPLAIN QUERY PLAN `
				if db.Dialect() == store.Postgres {
					// An empty table is read whole otherwise.
					if _, err := tx.ExecContext(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
						return err
					}
					explain = `EXPLAIN `
				}
				rows, err := tx.QueryContext(ctx, explain+q, "user:default/ana")
				if err != nil {
					return err
				}
				defer rows.Close()
				cols, _ := rows.Columns()
				for rows.Next() {
					vals := make([]any, len(cols))
					ptrs := make([]any, len(cols))
					for i := range vals {
						ptrs[i] = &vals[i]
					}
					if err := rows.Scan(ptrs...); err != nil {
						return err
					}
					fmt.Fprintln(&plan, vals...)
				}
				return rows.Err()
			})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan.String(), index) {
				t.Errorf("%s\ndoes not use %s:\n%s", q, index, plan.String())
			}
		}
	}, Migrations)
}

// Writes that share a group commit are kept apart: a failing one leaves
// nothing behind and the others are committed, each caller getting its
// own result, whether it was alone in its transaction or not.
func TestGroupCommitKeepsWritesApart(t *testing.T) {
	db := storetest.SQLite(t, Migrations)
	ctx := context.Background()
	if _, err := db.ExecContext(ctx, `CREATE TABLE group_test (v INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	if err := db.Prepare(ctx, groupStatements...); err != nil {
		t.Fatal(err)
	}
	g := &groupCommit{db: db}
	errBoom := errors.New("boom")
	write := func(v int, release <-chan struct{}) error {
		return g.tx(ctx, func(tx *sql.Tx) error {
			if _, err := tx.ExecContext(ctx, `INSERT INTO group_test (v) VALUES ($1)`, v); err != nil {
				return err
			}
			if release != nil {
				<-release
			}
			if v%3 == 0 {
				return fmt.Errorf("write %d: %w", v, errBoom)
			}
			return nil
		})
	}
	// Write 0 runs alone and fails; while write 1 holds its transaction
	// open, 2 to 9 queue up and share the next one.
	if err := write(0, nil); !errors.Is(err, errBoom) {
		t.Fatalf("write 0: %v", err)
	}
	release := make(chan struct{})
	results := make(chan error, 10)
	go func() { results <- write(1, release) }()
	waitFor(t, g, func() bool { return g.committing })
	for v := 2; v < 10; v++ {
		go func() { results <- write(v, nil) }()
	}
	waitFor(t, g, func() bool { return len(g.pending) == 8 })
	close(release)
	failed := 0
	for range 9 {
		if err := <-results; errors.Is(err, errBoom) {
			failed++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if failed != 3 { // 3, 6 and 9
		t.Errorf("%d writes failed, want 3", failed)
	}
	rows, err := db.QueryContext(ctx, `SELECT v FROM group_test ORDER BY v`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var got []int
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v)
	}
	if want := []int{1, 2, 4, 5, 7, 8}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("stored %v, want %v", got, want)
	}
}

// waitFor polls cond, under the group's lock, until it holds.
func waitFor(t *testing.T, g *groupCommit, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		g.mu.Lock()
		ok := cond()
		g.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(time.Millisecond)
	}
}
