package orchestrator

import (
	"context"
	"database/sql"
	"sync"

	"github.com/portico-dev/portico/internal/store"
)

// groupCommit shares transactions between concurrent writers on SQLite,
// where there is a single writer anyway: while one transaction commits,
// the writes that arrive queue up, and the next transaction takes them
// all, each inside a savepoint so that one failing write does not undo
// the others. The first writer to find no transaction running becomes the
// leader and commits batches until the queue is empty, so no goroutine
// outlives the calls.
type groupCommit struct {
	db *store.DB

	mu         sync.Mutex
	pending    []*groupReq
	committing bool
}

type groupReq struct {
	ctx  context.Context
	fn   func(*sql.Tx) error
	done chan error
}

// The savepoint statements, prepared when the runtime starts
// (groupStatements) like the writes they wrap.
const (
	sqlSavepoint  = `SAVEPOINT grp`
	sqlRollbackTo = `ROLLBACK TO grp`
	sqlRelease    = `RELEASE grp`
)

var groupStatements = []string{sqlSavepoint, sqlRollbackTo, sqlRelease}

// maxGroup bounds the writes one transaction takes.
const maxGroup = 64

func (g *groupCommit) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	req := &groupReq{ctx: ctx, fn: fn, done: make(chan error, 1)}
	g.mu.Lock()
	g.pending = append(g.pending, req)
	if g.committing {
		g.mu.Unlock()
		return <-req.done
	}
	g.committing = true
	g.mu.Unlock()
	for {
		g.mu.Lock()
		batch := g.pending
		if len(batch) > maxGroup {
			batch = batch[:maxGroup]
		}
		g.pending = g.pending[len(batch):]
		if len(batch) == 0 {
			g.committing = false
			g.mu.Unlock()
			break
		}
		g.mu.Unlock()
		g.run(batch)
	}
	return <-req.done
}

func (g *groupCommit) run(batch []*groupReq) {
	ctx := context.Background()
	if len(batch) == 1 {
		// Alone in its transaction, a write needs no savepoint: its
		// failure rolls the transaction back.
		r := batch[0]
		err := r.ctx.Err()
		if err == nil {
			err = g.db.Tx(ctx, r.fn)
		}
		r.done <- err
		return
	}
	errs := make([]error, len(batch))
	err := g.db.Tx(ctx, func(tx *sql.Tx) error {
		for i, r := range batch {
			errs[i] = nil
			if err := r.ctx.Err(); err != nil {
				errs[i] = err
				continue
			}
			if _, err := g.db.TxExec(ctx, tx, sqlSavepoint); err != nil {
				return err
			}
			if err := r.fn(tx); err != nil {
				errs[i] = err
				if _, err := g.db.TxExec(ctx, tx, sqlRollbackTo); err != nil {
					return err
				}
			}
			if _, err := g.db.TxExec(ctx, tx, sqlRelease); err != nil {
				return err
			}
		}
		return nil
	})
	for i, r := range batch {
		if err != nil {
			r.done <- err
		} else {
			r.done <- errs[i]
		}
	}
}
