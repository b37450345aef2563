package workspaces

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"gocloud.dev/blob"
	// Local directories (file://) are always available; the cloud
	// drivers are linked in by build tags (see drivers_*.go).
	_ "gocloud.dev/blob/fileblob"
	"gocloud.dev/gcerrors"
)

// Bucket stores workspaces as objects named after the task (with an
// optional prefix) in bucket storage.
type Bucket struct {
	bucket *blob.Bucket
}

// OpenBucket opens bucket storage by URL: file:///dir (always available),
// gs://bucket, s3://bucket?region=… and azblob://container when the binary
// was built with the matching driver. Credentials come from the
// environment, as each cloud's SDK finds them. The URL's prefix parameter
// names a folder inside the bucket.
func OpenBucket(ctx context.Context, bucketURL string) (*Bucket, error) {
	u, err := url.Parse(bucketURL)
	if err != nil || u.Scheme == "" {
		return nil, fmt.Errorf("workspace bucket %q is not a URL such as file:///var/lib/portico/workspaces or gs://bucket", bucketURL)
	}
	if u.Scheme == "file" {
		q := u.Query()
		if !q.Has("create_dir") {
			// A fresh local directory should just work.
			q.Set("create_dir", "true")
			u.RawQuery = q.Encode()
		}
	}
	if !blob.DefaultURLMux().ValidBucketScheme(u.Scheme) {
		tag := map[string]string{"gs": "portico_gcs", "s3": "portico_s3", "azblob": "portico_azure"}[u.Scheme]
		if tag == "" {
			return nil, fmt.Errorf("workspace bucket %s: unknown scheme %s; use file://, gs://, s3:// or azblob://", u.Redacted(), u.Scheme)
		}
		return nil, fmt.Errorf("workspace bucket %s: this Portico binary was built without the %s driver; build it with -tags %s (or portico_cloud for all clouds)", u.Redacted(), u.Scheme, tag)
	}
	b, err := blob.OpenBucket(ctx, u.String())
	if err != nil {
		return nil, fmt.Errorf("open workspace bucket %s: %w", u.Redacted(), err)
	}
	return &Bucket{bucket: b}, nil
}

// OpenGCSBucket opens a Google Cloud Storage bucket by name, as Backstage's
// scaffolder.EXPERIMENTAL_workspaceSerializationGcpBucketName names it.
func OpenGCSBucket(ctx context.Context, name string) (*Bucket, error) {
	if name == "" || strings.ContainsAny(name, "/:") {
		return nil, fmt.Errorf("GCS bucket name %q: expected a bare bucket name such as my-workspaces", name)
	}
	return OpenBucket(ctx, "gs://"+name)
}

// Close releases the bucket.
func (b *Bucket) Close() error { return b.bucket.Close() }

// key is the object name of a task's workspace: the task id, as
// Backstage's GCS provider names it (a prefix=… URL parameter adds a
// folder).
func (b *Bucket) key(taskID string) string { return taskID }

// Serialize streams dir as a tar into the object of taskID.
func (b *Bucket) Serialize(ctx context.Context, taskID, dir string) error {
	// Cancelling the writer's context discards a half-written object, so
	// a failed archive never replaces a good one.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := b.bucket.NewWriter(wctx, b.key(taskID), &blob.WriterOptions{ContentType: "application/x-tar"})
	if err != nil {
		return fmt.Errorf("store workspace of task %s: %w", taskID, err)
	}
	if err := WriteTar(w, dir); err != nil {
		cancel()
		_ = w.Close()
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("store workspace of task %s: %w", taskID, err)
	}
	return nil
}

// Rehydrate extracts the object of taskID into dir; it reports false when
// there is none.
func (b *Bucket) Rehydrate(ctx context.Context, taskID, dir string) (bool, error) {
	r, err := b.bucket.NewReader(ctx, b.key(taskID), nil)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read workspace of task %s: %w", taskID, err)
	}
	defer r.Close()
	if err := ExtractTar(r, dir); err != nil {
		return false, fmt.Errorf("restore workspace of task %s: %w", taskID, err)
	}
	return true, nil
}

// Clean deletes the object of taskID; a missing one is fine.
func (b *Bucket) Clean(ctx context.Context, taskID string) error {
	err := b.bucket.Delete(ctx, b.key(taskID))
	if err != nil && gcerrors.Code(err) != gcerrors.NotFound {
		return fmt.Errorf("remove workspace of task %s: %w", taskID, err)
	}
	return nil
}
