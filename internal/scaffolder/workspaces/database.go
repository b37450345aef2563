package workspaces

import (
	"bytes"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"

	"github.com/portico-dev/portico/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations create the table of the database provider.
var Migrations = store.EmbeddedMigrations("scaffolder_workspaces", migrationFS, "migrations")

// MaxDatabaseSize is the largest workspace the database provider stores
// (Backstage's limit), so one task cannot bloat the database.
const MaxDatabaseSize = 50 << 20

// Database stores workspaces in the table scaffolder_task_workspaces.
type Database struct {
	DB *store.DB
	// MaxSize overrides MaxDatabaseSize when positive.
	MaxSize int64
}

// Serialize stores dir as the workspace of taskID, replacing an earlier
// copy; a workspace larger than the limit is an error wrapping
// ErrTooLarge, and the earlier copy stays.
func (d *Database) Serialize(ctx context.Context, taskID, dir string) error {
	limit := d.MaxSize
	if limit <= 0 {
		limit = MaxDatabaseSize
	}
	var buf bytes.Buffer
	if err := WriteTar(&capWriter{w: &buf, max: limit}, dir); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return fmt.Errorf("workspace of task %s is larger than %d MiB, the limit of the database workspace provider; use bucket storage (scaffolder.taskRecovery.workspaceProvider): %w", taskID, limit>>20, ErrTooLarge)
		}
		return err
	}
	_, err := d.DB.ExecContext(ctx, `INSERT INTO scaffolder_task_workspaces (task_id, workspace, created_at) VALUES ($1, $2, $3)
		ON CONFLICT (task_id) DO UPDATE SET workspace = excluded.workspace, created_at = excluded.created_at`,
		taskID, buf.Bytes(), store.Now())
	if err != nil {
		return fmt.Errorf("store workspace of task %s: %w", taskID, err)
	}
	return nil
}

// Rehydrate writes the stored workspace of taskID into dir; it reports
// false when none is stored.
func (d *Database) Rehydrate(ctx context.Context, taskID, dir string) (bool, error) {
	var data []byte
	err := d.DB.QueryRowContext(ctx, `SELECT workspace FROM scaffolder_task_workspaces WHERE task_id = $1`, taskID).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read workspace of task %s: %w", taskID, err)
	}
	if err := ExtractTar(bytes.NewReader(data), dir); err != nil {
		return false, fmt.Errorf("restore workspace of task %s: %w", taskID, err)
	}
	return true, nil
}

// Clean removes the stored workspace of taskID.
func (d *Database) Clean(ctx context.Context, taskID string) error {
	if _, err := d.DB.ExecContext(ctx, `DELETE FROM scaffolder_task_workspaces WHERE task_id = $1`, taskID); err != nil {
		return fmt.Errorf("remove workspace of task %s: %w", taskID, err)
	}
	return nil
}
