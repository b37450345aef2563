package catalog

import (
	"context"
	"database/sql"
	"encoding/json"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/portico-dev/portico/internal/store"
	"github.com/portico-dev/portico/internal/store/storetest"
)

// Facets count by the value as written: values that differ only in case
// are separate facets, and values too long to be matched (stored without a
// lower-cased value) are still counted, each on its own. original_value is
// stored only where it differs from value, so these are the cases where
// the two columns disagree.
func TestFacetsByOriginalValue(t *testing.T) {
	long1 := "z" + strings.TrimSpace(strings.Repeat("long description ", 15)) // > 200 characters
	long2 := "z" + strings.TrimSpace(strings.Repeat("other description ", 15))
	component := func(name, typ, description string) string {
		return "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name +
			"\n  description: " + description + "\nspec:\n  type: " + typ + "\n  lifecycle: production\n  owner: team-a\n"
	}
	docs := []string{
		component("a", "Service", long1),
		component("b", "service", long1),
		component("c", "service", long2),
		component("d", "website", "Short"),
		groupA,
	}
	runDB(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[string]string{"catalog.yaml": strings.Join(docs, "---\n")}, fileLocation("catalog.yaml"))
		for _, tc := range []struct {
			filter []string
			want   string
		}{
			{nil, `{"metadata.description":[{"value":"` + long1 + `","count":2},{"value":"Short","count":1},{"value":"` + long2 + `","count":1}],` +
				`"spec.type":[{"value":"service","count":2},{"value":"Service","count":1},{"value":"file","count":1},{"value":"team","count":1},{"value":"website","count":1}]}`},
			{[]string{"spec.type=service"}, `{"metadata.description":[{"value":"` + long1 + `","count":2},{"value":"` + long2 + `","count":1}],` +
				`"spec.type":[{"value":"service","count":2},{"value":"Service","count":1}]}`},
			{[]string{"metadata.name=a"}, `{"metadata.description":[{"value":"` + long1 + `","count":1}],"spec.type":[{"value":"Service","count":1}]}`},
		} {
			fl, err := ParseFilterParams(tc.filter)
			if err != nil {
				t.Fatal(err)
			}
			facets, err := f.s.Facets(f.ctx, []string{"spec.type", "metadata.description"}, fl)
			if err != nil {
				t.Fatal(err)
			}
			if got, _ := json.Marshal(facets); string(got) != tc.want {
				t.Errorf("facets with filter %v =\n%s\nwant\n%s", tc.filter, got, tc.want)
			}
		}
		// A value too long to match cannot be filtered on, only tested for.
		if got := f.refs("metadata.description=" + long1); len(got) != 0 {
			t.Errorf("long value matched: %v", got)
		}
		if got := strings.Join(f.refs("kind=component,metadata.description"), ","); got != "component:default/a,component:default/b,component:default/c,component:default/d" {
			t.Errorf("has description = %s", got)
		}
	})
}

// A catalog stitched before search rows had integer keys keeps its
// entities and search rows through the migration, and stitching goes on
// from there.
func TestSearchMigrationKeepsData(t *testing.T) {
	older := fstest.MapFS{}
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() >= "0005" {
			continue
		}
		data, err := fs.ReadFile(migrationFS, "migrations/"+e.Name())
		if err != nil {
			t.Fatal(err)
		}
		older[e.Name()] = &fstest.MapFile{Data: data}
	}
	check := func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		if _, err := db.Migrate(ctx, store.Migrations{Plugin: "catalog", FS: older}); err != nil {
			t.Fatal(err)
		}
		now := store.Now()
		for _, e := range []struct{ id, ref, typ string }{
			{"00000000-0000-0000-0000-00000000000b", "component:default/b", "Service"},
			{"00000000-0000-0000-0000-00000000000a", "component:default/a", "service"},
		} {
			body := `{"apiVersion":"backstage.io/v1alpha1","kind":"Component","metadata":{"name":"` + strings.TrimPrefix(e.ref, "component:default/") + `","uid":"` + e.id + `"},"spec":{"type":"` + e.typ + `"}}`
			if _, err := db.ExecContext(ctx, `INSERT INTO catalog_refresh_state (entity_id, entity_ref, unprocessed_entity, unprocessed_hash, processed_entity, next_update_at, last_discovery_at) VALUES ($1, $2, $3, '', $3, $4, $4)`, e.id, e.ref, body, now); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(ctx, `INSERT INTO catalog_final_entities (entity_id, entity_ref, hash, final_entity, updated_at) VALUES ($1, $2, 'h', $3, $4)`, e.id, e.ref, body, now); err != nil {
				t.Fatal(err)
			}
			for _, r := range [][3]string{{"kind", "component", "Component"}, {"metadata.name", e.ref[len("component:default/"):], e.ref[len("component:default/"):]}, {"spec.type", strings.ToLower(e.typ), e.typ}} {
				if _, err := db.ExecContext(ctx, `INSERT INTO catalog_search (entity_id, key, value, original_value) VALUES ($1, $2, $3, $4)`, e.id, r[0], r[1], r[2]); err != nil {
					t.Fatal(err)
				}
			}
		}
		// A relation survives the rebuild of the relations table (0008).
		if _, err := db.ExecContext(ctx, `INSERT INTO catalog_relations (originating_entity_id, source_entity_ref, type, target_entity_ref) VALUES ('00000000-0000-0000-0000-00000000000a', 'component:default/a', 'ownedBy', 'group:default/team')`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Migrate(ctx, Migrations); err != nil {
			t.Fatal(err)
		}
		var relations int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM catalog_relations WHERE source_entity_ref = 'component:default/a' AND type = 'ownedBy'`).Scan(&relations); err != nil || relations != 1 {
			t.Errorf("relations after migration: %d (%v)", relations, err)
		}
		// No foreign key is left to check (deleting an entity deletes its
		// relations itself).
		if _, err := db.ExecContext(ctx, `INSERT INTO catalog_relations (originating_entity_id, source_entity_ref, type, target_entity_ref) VALUES ('no-such-entity', 'component:default/x', 'ownedBy', 'group:default/team')`); err != nil {
			t.Errorf("relations still have a foreign key: %v", err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM catalog_relations WHERE originating_entity_id = 'no-such-entity'`); err != nil {
			t.Fatal(err)
		}
		s, err := New(Options{DB: db, WatchInterval: -1})
		if err != nil {
			t.Fatal(err)
		}
		facets, err := s.Facets(ctx, []string{"spec.type", "kind"}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, _ := json.Marshal(facets); string(got) != `{"kind":[{"value":"Component","count":2}],"spec.type":[{"value":"Service","count":1},{"value":"service","count":1}]}` {
			t.Errorf("facets after migration = %s", got)
		}
		fl, _ := ParseFilterParams([]string{"spec.type=service"})
		res, err := s.QueryEntities(ctx, QueryRequest{Filter: fl, OrderFields: []OrderField{{Field: "metadata.name", Order: "asc"}}, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		if res.TotalItems != 2 || len(res.Items) != 1 || refOfBody(res.Items[0]) != "component:default/a" || res.NextCursor == "" {
			t.Fatalf("first page after migration: %+v", res)
		}
		res, err = s.QueryEntities(ctx, QueryRequest{Cursor: res.NextCursor, Limit: 1})
		if err != nil || len(res.Items) != 1 || refOfBody(res.Items[0]) != "component:default/b" {
			t.Fatalf("second page after migration: %+v %v", res, err)
		}
		// Stitching replaces a migrated entity's rows, and deleting it
		// removes them.
		err = db.Tx(ctx, func(tx *sql.Tx) error {
			_, err := stitch(ctx, s.wrap(tx), []string{"component:default/a"})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM catalog_search s JOIN catalog_final_entities f ON f.search_id = s.search_id WHERE f.entity_ref = 'component:default/a' AND s.key = 'metadata.uid'`).Scan(&n); err != nil || n != 1 {
			t.Errorf("restitched entity has %d uid rows (%v)", n, err)
		}
		if _, err := db.ExecContext(ctx, `DELETE FROM catalog_refresh_state WHERE entity_ref = 'component:default/a'`); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM catalog_search`).Scan(&n); err != nil || n != 3 {
			t.Errorf("%d search rows left after deleting an entity, want 3 (%v)", n, err)
		}
	}
	t.Run("sqlite", func(t *testing.T) { check(t, storetest.SQLite(t)) })
	t.Run("postgres", func(t *testing.T) { check(t, storetest.Postgres(t)) })
}
