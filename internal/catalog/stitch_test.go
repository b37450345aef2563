package catalog

import (
	"database/sql"
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// On SQLite a batch is read and built outside the writer; what is written
// to the catalog in between must not be lost, and an entity deleted in
// between must not come back.
func TestStitchKeepsChangesMadeWhileItBuilds(t *testing.T) {
	db := storetest.SQLite(t, Migrations)
	component := func(desc string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: NAME\n  description: " + desc + "\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n"
	}
	// A group without parent or members: an entity with no relations,
	// which nothing but its own deletion queues for stitching.
	group := func(desc string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: b\n  description: " + desc + "\nspec:\n  type: team\n  children: []\n"
	}
	f := newFixture(t, db, map[string]string{
		"a.yaml": strings.ReplaceAll(component("first"), "NAME", "a"),
		"b.yaml": group("first"),
	}, Config{Locations: []ConfigLocation{{Type: "file", Target: "*.yaml",
		Rules: []CatalogRule{{Allow: kinds("Component", "Group", "Location")}}}}})
	description := func(ref string) any {
		e := f.entity(ref)
		if e == nil {
			return nil
		}
		return e["metadata"].(map[string]any)["description"]
	}
	if got := description("component:default/a"); got != "first" {
		t.Fatalf("description before the change: %v", got)
	}

	// The file changes and is processed; while its stitch is being built,
	// the entity changes again (as a second processing would leave it).
	f.write("a.yaml", strings.ReplaceAll(component("second"), "NAME", "a"))
	f.refreshAllWithoutStitching()
	f.s.beforeStitchWrite = func() {
		f.s.beforeStitchWrite = nil
		err := db.Tx(f.ctx, func(rawTx *sql.Tx) error {
			tx := f.s.wrap(rawTx)
			var processed string
			if err := tx.QueryRowContext(f.ctx, `SELECT processed_entity FROM catalog_refresh_state WHERE entity_ref = 'component:default/a'`).Scan(&processed); err != nil {
				return err
			}
			if _, err := tx.ExecContext(f.ctx, `UPDATE catalog_refresh_state SET processed_entity = $1 WHERE entity_ref = 'component:default/a'`,
				strings.Replace(processed, `"second"`, `"third"`, 1)); err != nil {
				return err
			}
			return queueStitch(f.ctx, tx, []string{"component:default/a"}, store.Now())
		})
		if err != nil {
			t.Error(err)
		}
	}
	if _, err := f.s.stitchOnce(f.ctx); err != nil {
		t.Fatal(err)
	}
	if got := description("component:default/a"); got == "third" {
		t.Fatalf("the stitch built before the change wrote the change it never read")
	}
	var queued int
	if err := db.QueryRowContext(f.ctx, `SELECT COUNT(*) FROM catalog_stitch_queue WHERE entity_ref = 'component:default/a'`).Scan(&queued); err != nil || queued != 1 {
		t.Fatalf("the changed entity left the stitch queue (%d rows, %v)", queued, err)
	}
	f.drain()
	if got := description("component:default/a"); got != "third" {
		t.Fatalf("description after the next stitch: %v, want third", got)
	}

	// An entity deleted while its stitch is built stays deleted.
	f.write("b.yaml", group("second"))
	f.refreshAllWithoutStitching()
	f.s.beforeStitchWrite = func() {
		f.s.beforeStitchWrite = nil
		err := db.Tx(f.ctx, func(rawTx *sql.Tx) error {
			tx := f.s.wrap(rawTx)
			var id string
			if err := tx.QueryRowContext(f.ctx, `SELECT entity_id FROM catalog_refresh_state WHERE entity_ref = 'group:default/b'`).Scan(&id); err != nil {
				return err
			}
			return deleteEntities(f.ctx, tx, []string{id}, []string{"group:default/b"})
		})
		if err != nil {
			t.Error(err)
		}
	}
	if _, err := f.s.stitchOnce(f.ctx); err != nil {
		t.Fatalf("stitching an entity deleted meanwhile: %v", err)
	}
	if e := f.entity("group:default/b"); e != nil {
		t.Fatalf("deleted entity came back: %v", e)
	}
}

// refreshAllWithoutStitching makes every entity due and processes them,
// leaving their stitching queued.
func (f *fixture) refreshAllWithoutStitching() {
	f.t.Helper()
	if _, err := f.s.db.ExecContext(f.ctx, `UPDATE catalog_refresh_state SET next_update_at = $1`, store.Now()); err != nil {
		f.t.Fatal(err)
	}
	for range 10 {
		n, err := f.s.processOnce(f.ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		if n == 0 {
			return
		}
	}
}
