package scaffolder

import "context"

// WorkspaceProvider keeps a task's workspace outside the process so that a
// recovered task (on this or another replica) finds the files its earlier
// steps wrote. The runner serializes after every step and checkpoint,
// rehydrates before a task runs, and cleans when a task completes.
type WorkspaceProvider interface {
	// Serialize stores the contents of dir as the workspace of taskID,
	// replacing any earlier copy.
	Serialize(ctx context.Context, taskID, dir string) error
	// Rehydrate writes the stored workspace of taskID into dir (which
	// exists and is empty). It reports false when nothing is stored.
	Rehydrate(ctx context.Context, taskID, dir string) (bool, error)
	// Clean removes the stored workspace of taskID; a missing one is not
	// an error.
	Clean(ctx context.Context, taskID string) error
}
