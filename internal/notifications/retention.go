package notifications

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/portico-dev/portico/internal/config"
)

// DefaultRetention is how long notifications are kept without
// notifications.retention: one year, as in Backstage.
const DefaultRetention = 365 * 24 * time.Hour

// Retention is notifications.retention: a duration, or false to keep
// everything.
type Retention struct {
	Duration time.Duration
	Disabled bool
}

// UnmarshalConfig reads a duration or false.
func (r *Retention) UnmarshalConfig(v config.Value) error {
	if b, ok := v.Plain().(bool); ok {
		if b {
			return v.Errorf("expected a duration or false")
		}
		r.Disabled = true
		return nil
	}
	d, err := config.ParseDuration(v)
	if err != nil {
		return err
	}
	if d <= 0 {
		return v.Errorf("must be a positive duration")
	}
	r.Duration = d
	return nil
}

// Cleaner deletes notifications older than the retention period, and sent
// or abandoned mail with them.
type Cleaner struct {
	Store     *Store
	Retention time.Duration
	// Interval between runs (default a day) and FirstRun delay after
	// start (default an hour, as Backstage: a restart loop does not turn
	// into a delete loop).
	Interval time.Duration
	FirstRun time.Duration
	Logger   *slog.Logger
	Now      func() time.Time
}

// Clean deletes what has expired now and returns how many notifications
// went.
func (c *Cleaner) Clean(ctx context.Context) (int64, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	cutoff := now().UTC().Add(-c.Retention)
	n, err := c.Store.DeleteOlderThan(ctx, cutoff)
	if err != nil {
		return 0, err
	}
	if _, err := c.Store.db.ExecContext(ctx, `DELETE FROM notifications_email_outbox WHERE status <> 'pending' AND created_at <= $1`, cutoff); err != nil {
		return n, fmt.Errorf("delete old mail: %w", err)
	}
	return n, nil
}

// Run cleans on schedule until ctx ends.
func (c *Cleaner) Run(ctx context.Context) error {
	interval, first := c.Interval, c.FirstRun
	if interval <= 0 {
		interval = 24 * time.Hour
	}
	if first <= 0 {
		first = time.Hour
	}
	log := c.Logger
	if log == nil {
		log = slog.Default()
	}
	wait := first
	for {
		if !sleep(ctx, wait) {
			return nil
		}
		wait = interval
		n, err := c.Clean(ctx)
		if err != nil {
			log.ErrorContext(ctx, "notification retention", "err", err)
			continue
		}
		if n > 0 {
			log.InfoContext(ctx, "deleted expired notifications", "count", n, "retention", c.Retention)
		}
	}
}
