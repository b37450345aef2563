package notifications

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/store"
)

// dispatchLease is how long a send's own process has to run its
// processors before a recovery worker takes the send over.
const dispatchLease = time.Minute

// dispatchGiveUp is how long a send whose processors keep failing is
// retried before it is dropped (with an error in the log).
const dispatchGiveUp = 24 * time.Hour

// dispatch is a send whose processors have not all finished.
type dispatch struct {
	ID     string
	Origin string
	// Request is the send, Metadata included.
	Request Request
	// Stored are the notifications the send stored (User "" for a
	// broadcast); a notification is its id and user.
	Stored []notificationKey
	// Skipped are the notifications not stored because the user turned
	// the web channel off; processors still get them.
	Skipped []notificationKey
	Created time.Time
}

type notificationKey struct {
	ID   string `json:"id"`
	User string `json:"user"`
}

func keys(ns []Notification) []notificationKey {
	out := make([]notificationKey, 0, len(ns))
	for _, n := range ns {
		out = append(out, notificationKey{ID: n.ID, User: n.User})
	}
	return out
}

func newDispatch(origin string, req Request, created time.Time, stored, skipped []Notification) dispatch {
	return dispatch{ID: uuid.NewString(), Origin: origin, Request: req, Created: created, Stored: keys(stored), Skipped: keys(skipped)}
}

func (s *Store) insertDispatch(ctx context.Context, tx *sql.Tx, d dispatch) error {
	req, err := json.Marshal(d.Request)
	if err != nil {
		return err
	}
	ids, _ := json.Marshal(d.Stored)
	skipped, _ := json.Marshal(d.Skipped)
	_, err = tx.ExecContext(ctx, `INSERT INTO notifications_dispatch (id, origin, request, stored_ids, skipped, created, retry_at) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		d.ID, d.Origin, string(req), string(ids), string(skipped), d.Created, store.Now().Add(dispatchLease))
	if err != nil {
		return fmt.Errorf("record dispatch: %w", err)
	}
	return nil
}

func (s *Store) deleteDispatch(ctx context.Context, id string) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM notifications_dispatch WHERE id = $1`, id); err != nil {
		return fmt.Errorf("finish dispatch: %w", err)
	}
	return nil
}

// claimDispatches takes up to n sends whose lease has run out, extending
// it so that no other worker takes them meanwhile.
func (s *Store) claimDispatches(ctx context.Context, n int) ([]dispatch, error) {
	var out []dispatch
	now := store.Now()
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `SELECT id, origin, request, stored_ids, skipped, created FROM notifications_dispatch
WHERE retry_at <= $1 ORDER BY retry_at LIMIT $2 `+s.db.SkipLocked(), now, n)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d dispatch
			var req, ids, skipped string
			var created dbTime
			if err := rows.Scan(&d.ID, &d.Origin, &req, &ids, &skipped, &created); err != nil {
				rows.Close()
				return err
			}
			if err := json.Unmarshal([]byte(req), &d.Request); err != nil {
				rows.Close()
				return err
			}
			_ = json.Unmarshal([]byte(ids), &d.Stored)
			_ = json.Unmarshal([]byte(skipped), &d.Skipped)
			d.Created = created.t
			out = append(out, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, d := range out {
			if _, err := tx.ExecContext(ctx, `UPDATE notifications_dispatch SET retry_at = $1 WHERE id = $2`, now.Add(dispatchLease), d.ID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("claim dispatches: %w", err)
	}
	return out, nil
}

// byKeys returns stored notifications and broadcasts by id and user,
// whoever they belong to (for processors, never for users).
func (s *Store) byKeys(ctx context.Context, keys []notificationKey) ([]Notification, error) {
	want := map[notificationKey]bool{}
	seen := map[string]bool{}
	var ids []string
	for _, k := range keys {
		want[k] = true
		if !seen[k.ID] {
			seen[k.ID] = true
			ids = append(ids, k.ID)
		}
	}
	var out []Notification
	for start := 0; start < len(ids); start += insertChunk {
		part := ids[start:min(start+insertChunk, len(ids))]
		a := bulkArgs(s.db)
		q := "SELECT " + userColumns + " FROM notifications_notification WHERE id IN (" + a.list(part) + ")" +
			" UNION ALL SELECT id, NULL, title, description, severity, link, origin, scope, topic, icon, created, updated, NULL, NULL FROM notifications_broadcast WHERE id IN (" + a.list(part) + ")"
		rows, err := s.db.QueryContext(ctx, q, a.args...)
		if err != nil {
			return nil, fmt.Errorf("read notifications: %w", err)
		}
		for rows.Next() {
			n, err := scanNotification(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			// Other users' rows share the id of a scope-updated one.
			if want[notificationKey{ID: n.ID, User: n.User}] {
				out = append(out, n)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// RecoveryInterval is how often Run looks for sends whose processors did
// not finish.
const RecoveryInterval = 30 * time.Second

// Run finishes, until ctx ends, the processing of sends whose process
// stopped before its processors were done (a crash or a restart between
// storing notifications and queueing their mail). Processors must accept
// the same notifications twice; the email outbox ignores a repeat.
func (s *Service) Run(ctx context.Context) error {
	if len(s.processors) == 0 {
		return nil
	}
	interval := s.recoveryInterval
	if interval <= 0 {
		interval = RecoveryInterval
	}
	for {
		if err := s.Recover(ctx); err != nil && ctx.Err() == nil {
			s.log.ErrorContext(ctx, "notification recovery", "err", err)
		}
		if !sleep(ctx, interval) {
			return nil
		}
	}
}

// Recover runs the processors of every send whose lease has run out.
func (s *Service) Recover(ctx context.Context) error {
	for {
		ds, err := s.store.claimDispatches(ctx, 10)
		if err != nil || len(ds) == 0 {
			return err
		}
		for _, d := range ds {
			if err := s.redispatch(ctx, d); err != nil {
				return err
			}
		}
	}
}

func (s *Service) redispatch(ctx context.Context, d dispatch) error {
	sent, err := s.store.byKeys(ctx, d.Stored)
	if err != nil {
		return err
	}
	for i := range sent {
		sent[i].Payload.Metadata = d.Request.Payload.Metadata // never stored with the notification
	}
	var users []string
	for _, n := range sent {
		if !n.IsBroadcast() {
			users = append(users, n.User)
		}
	}
	for _, sk := range d.Skipped {
		users = append(users, sk.User)
	}
	stored, err := s.store.userSettings(ctx, users)
	if err != nil {
		return err
	}
	for _, sk := range d.Skipped {
		n := Notification{ID: sk.ID, User: sk.User, Origin: d.Origin, Created: d.Created, Payload: d.Request.Payload}
		sent = append(sent, s.preProcess(ctx, n, d.Request, s.effective(stored, sk.User)))
	}
	s.log.InfoContext(ctx, "finishing an interrupted notification send", "dispatch", d.ID, "notifications", len(sent))
	if !s.postProcess(ctx, d.Request, sent, stored) && time.Since(d.Created) < dispatchGiveUp {
		return nil // the lease brings it back
	}
	return s.store.deleteDispatch(ctx, d.ID)
}
