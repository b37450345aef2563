package orchestrator

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/internal/workflow/engine"
)

// RetriggerWithHeaders is Retrigger with new request headers, as the RHDH
// plugin sends them (X-Authorization-<Provider> tokens): they replace the
// same-named headers the instance started with, and the others stay. A
// run in error is often one whose token expired, so the new ones hold for
// the retriggered state and every later one ($WORKFLOW.headers, token
// propagation). The journal's start entry is rewritten (sealed as before)
// rather than a new entry added, because the engine reads the headers
// from that entry only.
func (rt *Runtime) RetriggerWithHeaders(ctx context.Context, processID, id, actor string, headers map[string]string) (*Result, error) {
	if err := rt.checkProcess(ctx, processID, id); err != nil {
		return nil, err
	}
	if err := rt.claimWait(ctx, id, "ERROR"); err != nil {
		return nil, err
	}
	if len(headers) > 0 {
		if err := rt.db.Tx(ctx, func(tx *sql.Tx) error { return rt.replaceStartHeaders(ctx, tx, id, headers) }); err != nil {
			rt.unlease(ctx, id)
			return nil, fmt.Errorf("retrigger: %w", err)
		}
	}
	if err := rt.setAsideFailure(ctx, id); err != nil {
		rt.unlease(ctx, id)
		return nil, fmt.Errorf("retrigger: %w", err)
	}
	return rt.operate(ctx, id, func(in *engine.Instance) (*engine.Outcome, error) {
		detail := map[string]any(nil)
		if len(headers) > 0 {
			names := make([]string, 0, len(headers))
			for k := range headers {
				names = append(names, strings.ToLower(k))
			}
			detail = map[string]any{"newHeaders": names} // names only: the values are tokens
		}
		rt.audit(ctx, actor, "retrigger", processID, id, detail)
		return in.Run(ctx)
	})
}

// replaceStartHeaders merges headers into those of the instance's start
// entry, in the journal row that holds it.
func (rt *Runtime) replaceStartHeaders(ctx context.Context, tx *sql.Tx, id string, headers map[string]string) error {
	var pos int64
	var data []byte
	err := tx.QueryRowContext(ctx, `SELECT pos, entry FROM orchestrator_journal WHERE instance_id = $1 AND void = 0 ORDER BY pos LIMIT 1`, id).Scan(&pos, &data)
	if err != nil {
		return fmt.Errorf("read the start of %s: %w", id, err)
	}
	stored, err := rt.codec.decode(data)
	if err != nil {
		return fmt.Errorf("decode journal row %d of %s: %w", pos, id, err)
	}
	for i, se := range stored {
		if se.Void || se.Kind != engine.EntryStarted || se.Start == nil {
			continue
		}
		e, err := rt.codec.open(se)
		if err != nil {
			return fmt.Errorf("journal entry %d of %s: %w", se.Seq, id, err)
		}
		start := *e.Start
		merged := make(map[string]string, len(start.Headers)+len(headers))
		for k, v := range start.Headers {
			merged[k] = v
		}
		for k, v := range headers {
			merged[strings.ToLower(k)] = v
		}
		start.Headers = merged
		e.Start = &start
		if stored[i], err = rt.codec.seal(&e); err != nil {
			return err
		}
		row, err := rt.codec.encodeStored(stored)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE orchestrator_journal SET entry = $1 WHERE instance_id = $2 AND pos = $3`, row, id, pos)
		return err
	}
	return fmt.Errorf("journal row %d of %s holds no start entry", pos, id)
}
