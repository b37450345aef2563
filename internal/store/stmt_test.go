package store_test

import (
	"database/sql"
	"testing"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// Prepared statements run inside transactions on both engines (on SQLite
// through the single writer connection the transaction holds), and text
// that was not prepared still runs.
func TestPreparedStatements(t *testing.T) {
	storetest.Run(t, func(t *testing.T, db *store.DB) {
		ctx := t.Context()
		if _, err := db.ExecContext(ctx, `CREATE TABLE prep (k TEXT PRIMARY KEY, v INTEGER NOT NULL)`); err != nil {
			t.Fatal(err)
		}
		const insert = `INSERT INTO prep (k, v) VALUES ($1, $2)`
		if err := db.Prepare(ctx, insert); err != nil {
			t.Fatal(err)
		}
		if err := db.Prepare(ctx, `INSERT INTO no_such_table VALUES ($1)`); err == nil {
			t.Error("preparing a statement on a missing table succeeded")
		}
		for round := range 3 {
			err := db.Tx(ctx, func(tx *sql.Tx) error {
				for i := range 10 {
					if _, err := db.TxExec(ctx, tx, insert, string(rune('a'+round))+string(rune('a'+i)), i); err != nil {
						return err
					}
				}
				_, err := db.TxExec(ctx, tx, `UPDATE prep SET v = v + 100 WHERE k = $1`, string(rune('a'+round))+"a")
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// A failed transaction leaves nothing behind.
		err := db.Tx(ctx, func(tx *sql.Tx) error {
			if _, err := db.TxExec(ctx, tx, insert, "zz", 1); err != nil {
				return err
			}
			_, err := db.TxExec(ctx, tx, insert, "aa", 1) // duplicate key
			return err
		})
		if !store.IsUniqueViolation(err) {
			t.Fatalf("duplicate insert: %v", err)
		}
		var n, sum int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*), SUM(v) FROM prep`).Scan(&n, &sum); err != nil {
			t.Fatal(err)
		}
		if n != 30 || sum != 3*45+300 {
			t.Errorf("rows %d sum %d", n, sum)
		}

		// A kept read statement sees later writes, from any reader.
		const count = `SELECT COUNT(*) FROM prep WHERE v >= $1`
		for i, want := range []int{3, 3, 4} {
			if i == 2 {
				if _, err := db.ExecContext(ctx, `INSERT INTO prep (k, v) VALUES ('new', 500)`); err != nil {
					t.Fatal(err)
				}
			}
			rows, err := db.QueryPrepared(ctx, count, 100)
			if err != nil {
				t.Fatal(err)
			}
			var got int
			for rows.Next() {
				if err := rows.Scan(&got); err != nil {
					t.Fatal(err)
				}
			}
			if err := rows.Close(); err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("round %d: count %d, want %d", i, got, want)
			}
		}
		if _, err := db.QueryPrepared(ctx, `SELECT v FROM no_such_table`); err == nil {
			t.Error("a read statement on a missing table was prepared")
		}
	})
}
