package catalog

import (
	"strings"
	"testing"

	"github.com/portico-dev/portico/internal/store"
)

const orgChart = `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: org}
spec: {type: org, children: [dept]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: dept}
spec: {type: department, parent: org, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: team-a}
spec: {type: team, parent: dept, children: [], members: [carol]}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: guild}
spec: {type: guild, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [team-a, guild]}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: carol}
spec: {memberOf: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: bob}
spec: {memberOf: []}
`

func TestGroupsOf(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[string]string{"org.yaml": orgChart}, fileLocation("org.yaml"))
		tests := []struct {
			user  string
			depth int
			want  string
		}{
			{"user:default/alice", 0, "group:default/guild group:default/team-a"},
			{"user:default/alice", 1, "group:default/guild group:default/team-a group:default/dept"},
			{"user:default/alice", -1, "group:default/guild group:default/team-a group:default/dept group:default/org"},
			{"alice", -1, "group:default/guild group:default/team-a group:default/dept group:default/org"},
			// Membership stated by the group only.
			{"user:default/carol", 0, "group:default/team-a"},
			{"user:default/bob", -1, ""},
			{"user:default/nobody", -1, ""},
		}
		for _, tt := range tests {
			got, err := f.s.GroupsOf(f.ctx, tt.user, tt.depth)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, " ") != tt.want {
				t.Errorf("GroupsOf(%s, %d) = %v, want %s", tt.user, tt.depth, got, tt.want)
			}
		}
		if _, err := f.s.GroupsOf(f.ctx, "user:", -1); err == nil {
			t.Error("a malformed ref must be an error")
		}
	})
}

func TestGroupsOfEndsOnCycles(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		f := newFixture(t, db, map[string]string{"org.yaml": `apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: a}
spec: {type: team, parent: b, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata: {name: b}
spec: {type: team, parent: a, children: []}
---
apiVersion: backstage.io/v1alpha1
kind: User
metadata: {name: alice}
spec: {memberOf: [a]}
`}, fileLocation("org.yaml"))
		got, err := f.s.GroupsOf(f.ctx, "user:default/alice", -1)
		if err != nil || strings.Join(got, " ") != "group:default/a group:default/b" {
			t.Fatalf("GroupsOf = %v, %v", got, err)
		}
	})
}
