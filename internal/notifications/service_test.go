package notifications

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

func newTestService(t *testing.T, db *store.DB, cat *fakeCatalog, opts Options) (*Service, *fakeSignals) {
	t.Helper()
	sig := &fakeSignals{}
	opts.DB = db
	opts.Resolver = CatalogResolver{Catalog: cat}
	opts.Signals = sig
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opts.AppBaseURL == "" {
		opts.AppBaseURL = "http://portal.example.com"
	}
	return New(opts), sig
}

func TestSendAndRead(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		cat := newFakeCatalog()
		cat.add("Group", "team", "", "hasMember user:default/alice", "hasMember user:default/bob")
		svc, sig := newTestService(t, db, cat, Options{})

		sent := mustSend(t, svc, Request{Recipients: toUsers("group:default/team"), Payload: Payload{Title: "Deploy done", Topic: "deploys", Severity: SeverityHigh}})
		if len(sent) != 2 || sent[0].User != "user:default/alice" || sent[1].User != "user:default/bob" || sent[0].Origin != "plugin:test" {
			t.Fatalf("sent %+v", sent)
		}
		b := mustSend(t, svc, Request{Recipients: &Recipients{Type: RecipientsBroadcast}, Payload: Payload{Title: "Maintenance tonight", Description: "The portal restarts"}})
		if len(b) != 1 || !b[0].IsBroadcast() || b[0].Payload.Severity != SeverityNormal {
			t.Fatalf("broadcast %+v", b)
		}
		// One signal names the send's notification for both users.
		signals := sig.all()
		if len(signals) != 2 || !strings.Contains(signals[0].message, `"action":"new_notification"`) || sent[0].ID != sent[1].ID ||
			!strings.Contains(signals[0].message, sent[0].ID) || !slices.Equal(signals[0].refs, []string{"user:default/alice", "user:default/bob"}) || !signals[1].broadcast {
			t.Fatalf("signals %+v", signals)
		}

		res, err := svc.List(ctx, ListOptions{User: "user:default/alice"})
		if err != nil {
			t.Fatal(err)
		}
		if res.TotalCount != 2 || len(res.Notifications) != 2 || res.Notifications[0].ID != b[0].ID {
			t.Fatalf("alice sees %+v", res)
		}
		// Someone who got nothing sees the broadcast only.
		res, _ = svc.List(ctx, ListOptions{User: "user:default/carol"})
		if res.TotalCount != 1 || res.Notifications[0].ID != b[0].ID {
			t.Fatalf("carol sees %+v", res)
		}
		if _, err := svc.Get(ctx, "user:default/carol", sent[0].ID); errs.KindOf(err) != errs.NotFound {
			t.Fatalf("carol reads alice's notification: %v", err)
		}
		got, err := svc.Get(ctx, "user:default/alice", sent[0].ID)
		if err != nil || got.Payload.Title != "Deploy done" || got.Read != nil {
			t.Fatalf("get: %+v %v", got, err)
		}

		st, _ := svc.Status(ctx, "user:default/alice")
		if st != (Status{Unread: 2}) {
			t.Fatalf("status %+v", st)
		}
		updated, err := svc.Update(ctx, "user:default/alice", []string{sent[0].ID, b[0].ID}, ptr(true), ptr(true))
		if err != nil || len(updated) != 2 || updated[0].Read == nil || updated[1].Saved == nil {
			t.Fatalf("update: %+v %v", updated, err)
		}
		if last := sig.all()[2]; !strings.Contains(last.message, `"notification_read"`) || last.refs[0] != "user:default/alice" {
			t.Fatalf("read signal %+v", last)
		}
		st, _ = svc.Status(ctx, "user:default/alice")
		if st != (Status{Read: 2}) {
			t.Fatalf("status after read %+v", st)
		}
		// Reading a broadcast is per user.
		if st, _ := svc.Status(ctx, "user:default/bob"); st != (Status{Unread: 2}) {
			t.Fatalf("bob's status %+v", st)
		}
		// Bob's copy shares the id; marking it leaves Alice's alone.
		if ns, _ := svc.Update(ctx, "user:default/bob", []string{sent[0].ID}, ptr(true), nil); len(ns) != 1 || ns[0].User != "user:default/bob" {
			t.Fatalf("bob updated %+v", ns)
		}
		if _, err := svc.Update(ctx, "user:default/bob", []string{sent[0].ID}, ptr(false), nil); err != nil {
			t.Fatal(err)
		}
		if n, _ := svc.Get(ctx, "user:default/alice", sent[0].ID); n.Read == nil {
			t.Fatal("bob's update changed alice's notification")
		}
		// Carol, who got neither, cannot mark them.
		if ns, _ := svc.Update(ctx, "user:default/carol", []string{sent[0].ID}, ptr(true), nil); len(ns) != 0 {
			t.Fatalf("carol updated %+v", ns)
		}
		if _, err := svc.Update(ctx, "user:default/alice", []string{b[0].ID}, ptr(false), nil); err != nil {
			t.Fatal(err)
		}
		if st, _ := svc.Status(ctx, "user:default/alice"); st != (Status{Read: 1, Unread: 1}) {
			t.Fatalf("status after unread %+v", st)
		}
	})
}

func TestScopeDeduplication(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, sig := newTestService(t, db, newFakeCatalog(), Options{})
		first := mustSend(t, svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "Build 1 running", Scope: "build-42"}})
		if _, err := svc.Update(ctx, "user:default/alice", []string{first[0].ID}, ptr(true), ptr(true)); err != nil {
			t.Fatal(err)
		}
		second := mustSend(t, svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "Build 1 failed", Scope: "build-42", Severity: SeverityCritical}})
		if second[0].ID != first[0].ID || second[0].Updated == nil || !second[0].Created.Equal(first[0].Created) {
			t.Fatalf("scope update gave %+v, first %+v", second[0], first[0])
		}
		n, _ := svc.Get(ctx, "user:default/alice", first[0].ID)
		if n.Payload.Title != "Build 1 failed" || n.Read != nil || n.Saved == nil || n.Payload.Severity != SeverityCritical {
			t.Fatalf("after scope update %+v", n)
		}
		if last := sig.all()[len(sig.all())-1]; !strings.Contains(last.message, first[0].ID) {
			t.Fatalf("signal names %s", last.message)
		}
		// Another origin, or no scope, adds a notification.
		mustSend(t, svc, Request{Origin: "external:ci", Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "x", Scope: "build-42"}})
		mustSend(t, svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "y"}})
		mustSend(t, svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "y"}})
		if res, _ := svc.List(ctx, ListOptions{User: "user:default/alice"}); res.TotalCount != 4 {
			t.Fatalf("total %d", res.TotalCount)
		}

		// Broadcasts: the same row is updated, users' read state is kept.
		b1 := mustSend(t, svc, Request{Recipients: &Recipients{Type: RecipientsBroadcast}, Payload: Payload{Title: "Outage", Scope: "outage"}})
		if _, err := svc.Update(ctx, "user:default/bob", []string{b1[0].ID}, ptr(true), nil); err != nil {
			t.Fatal(err)
		}
		b2 := mustSend(t, svc, Request{Recipients: &Recipients{Type: RecipientsBroadcast}, Payload: Payload{Title: "Outage over", Scope: "outage"}})
		if b2[0].ID != b1[0].ID {
			t.Fatalf("broadcast scope gave a new id")
		}
		n, _ = svc.Get(ctx, "user:default/bob", b1[0].ID)
		if n.Payload.Title != "Outage over" || n.Read == nil {
			t.Fatalf("broadcast after update %+v", n)
		}
	})
}

func TestListFilters(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newTestService(t, db, newFakeCatalog(), Options{})
		alice := toUsers("user:default/alice")
		a := mustSend(t, svc, Request{Recipients: alice, Payload: Payload{Title: "Alpha 100% done", Topic: "builds", Severity: SeverityLow}})
		time.Sleep(2 * time.Millisecond)
		b := mustSend(t, svc, Request{Recipients: alice, Payload: Payload{Title: "Beta", Description: "about ALPHA_x", Topic: "deploys", Severity: SeverityCritical}})
		time.Sleep(2 * time.Millisecond)
		mid := store.Now()
		time.Sleep(2 * time.Millisecond)
		c := mustSend(t, svc, Request{Recipients: alice, Payload: Payload{Title: "Gamma", Topic: "builds", Severity: SeverityHigh}})
		mustSend(t, svc, Request{Recipients: toUsers("user:default/bob"), Payload: Payload{Title: "Bob only", Topic: "secret"}})
		if _, err := svc.Update(ctx, "user:default/alice", []string{b[0].ID}, ptr(true), ptr(true)); err != nil {
			t.Fatal(err)
		}
		ids := func(o ListOptions) []string {
			t.Helper()
			o.User = "user:default/alice"
			res, err := svc.List(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, n := range res.Notifications {
				out = append(out, n.Payload.Title)
			}
			return out
		}
		for _, tc := range []struct {
			name string
			o    ListOptions
			want []string
		}{
			{"newest first", ListOptions{}, []string{"Gamma", "Beta", "Alpha 100% done"}},
			{"oldest first", ListOptions{Order: []OrderField{{Field: "created"}}}, []string{"Alpha 100% done", "Beta", "Gamma"}},
			{"by title desc", ListOptions{Order: []OrderField{{Field: "title", Desc: true}}}, []string{"Gamma", "Beta", "Alpha 100% done"}},
			{"page", ListOptions{Offset: 1, Limit: 1}, []string{"Beta"}},
			{"offset only", ListOptions{Offset: 2}, []string{"Alpha 100% done"}},
			{"topic", ListOptions{Topic: "builds"}, []string{"Gamma", "Alpha 100% done"}},
			{"search is case-insensitive over title and description", ListOptions{Search: "alpha"}, []string{"Beta", "Alpha 100% done"}},
			{"search treats % literally", ListOptions{Search: "100%"}, []string{"Alpha 100% done"}},
			{"search treats _ literally", ListOptions{Search: "a_x"}, []string{"Beta"}},
			{"read", ListOptions{Read: ptr(true)}, []string{"Beta"}},
			{"unread", ListOptions{Read: ptr(false)}, []string{"Gamma", "Alpha 100% done"}},
			{"saved", ListOptions{Saved: ptr(true)}, []string{"Beta"}},
			{"created after", ListOptions{CreatedAfter: &mid}, []string{"Gamma"}},
			{"minimum severity high", ListOptions{MinimumSeverity: SeverityHigh}, []string{"Gamma", "Beta"}},
			{"ids", ListOptions{IDs: []string{a[0].ID, c[0].ID}}, []string{"Gamma", "Alpha 100% done"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if got := ids(tc.o); !slices.Equal(got, tc.want) {
					t.Fatalf("got %q, want %q", got, tc.want)
				}
			})
		}
		res, _ := svc.List(ctx, ListOptions{User: "user:default/alice", Limit: 1})
		if res.TotalCount != 3 || len(res.Notifications) != 1 {
			t.Fatalf("page of one: %+v", res)
		}
		if _, err := svc.List(ctx, ListOptions{User: "user:default/alice", Order: []OrderField{{Field: "nope"}}}); errs.KindOf(err) != errs.Input {
			t.Fatalf("unknown order field: %v", err)
		}
		topics, err := svc.Topics(ctx, ListOptions{User: "user:default/alice"})
		if err != nil || !slices.Equal(topics, []string{"builds", "deploys"}) {
			t.Fatalf("topics %q %v", topics, err)
		}
		topics, _ = svc.Topics(ctx, ListOptions{User: "user:default/alice", Read: ptr(true)})
		if !slices.Equal(topics, []string{"deploys"}) {
			t.Fatalf("read topics %q", topics)
		}
	})
}

func TestSendValidation(t *testing.T) {
	db := storeSQLite(t)
	svc, _ := newTestService(t, db, newFakeCatalog(), Options{AppBaseURL: "https://portal.example.com/base"})
	for _, tc := range []struct {
		name string
		req  Request
		want string
	}{
		{"missing both", Request{}, "Invalid notification request received: missing title, recipients"},
		{"missing title", Request{Recipients: toUsers("user:default/a")}, "Invalid notification request received: missing title"},
		{"missing recipients", Request{Payload: Payload{Title: "x"}}, "Invalid notification request received: missing recipients"},
		{"unknown severity", Request{Recipients: toUsers("user:default/a"), Payload: Payload{Title: "x", Severity: "urgent"}}, "Invalid severity 'urgent'"},
		{"javascript link", Request{Recipients: toUsers("user:default/a"), Payload: Payload{Title: "x", Link: "javascript:alert(1)"}}, "Invalid link provided"},
		{"unknown recipients type", Request{Recipients: &Recipients{Type: "team"}, Payload: Payload{Title: "x"}}, "Invalid recipients type"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.req.Origin = "plugin:test"
			_, err := svc.Send(context.Background(), tc.req)
			if errs.KindOf(err) != errs.Input || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want an InputError with %q", err, tc.want)
			}
		})
	}
	for _, link := range []string{"/catalog/default/component/x", "docs/x", "http://foo.com/bar", "https://foo.com"} {
		if _, err := svc.Send(context.Background(), Request{Origin: "plugin:test", Recipients: toUsers("user:default/a"), Payload: Payload{Title: "x", Link: link}}); err != nil {
			t.Errorf("link %s: %v", link, err)
		}
	}
}

func TestRecipientResolution(t *testing.T) {
	ctx := context.Background()
	cat := newFakeCatalog()
	cat.add("Group", "org", "", "parentOf group:default/eng", "hasMember user:default/ceo")
	cat.add("Group", "eng", "", "parentOf group:default/web", "parentOf group:default/ops", "hasMember user:default/cto", "childOf group:default/org")
	cat.add("Group", "web", "", "hasMember user:default/wendy", "hasMember user:default/walt")
	// ops and loop are each other's child: a cycle.
	cat.add("Group", "ops", "", "hasMember user:default/olga", "parentOf group:default/loop")
	cat.add("Group", "loop", "", "hasMember user:default/lou", "parentOf group:default/ops", "parentOf group:default/org")
	cat.add("Component", "api", "", "ownedBy group:default/web")
	cat.add("Component", "orphan", "")
	r := CatalogResolver{Catalog: cat}
	for _, tc := range []struct {
		name          string
		refs, exclude []string
		want          []string
	}{
		{"user directly, known or not", []string{"user:default/nobody", "User:Default/Wendy"}, nil, []string{"user:default/nobody", "user:default/wendy"}},
		{"user without namespace", []string{"user:zed"}, nil, []string{"user:default/zed"}},
		{"group recursively through a cycle", []string{"group:default/org"}, nil,
			[]string{"user:default/ceo", "user:default/cto", "user:default/wendy", "user:default/walt", "user:default/olga", "user:default/lou"}},
		{"exclusions at every level", []string{"group:default/org"}, []string{"group:default/ops", "user:default/walt"},
			[]string{"user:default/ceo", "user:default/cto", "user:default/wendy"}},
		{"owner of another entity", []string{"component:default/api"}, nil, []string{"user:default/wendy", "user:default/walt"}},
		{"unknown and ownerless refs are dropped", []string{"group:default/ghost", "component:default/orphan", "no-kind"}, nil, nil},
		{"duplicates once", []string{"user:default/wendy", "group:default/web"}, nil, []string{"user:default/wendy", "user:default/walt"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Resolve(ctx, tc.refs, tc.exclude)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %q, want %q", got, tc.want)
			}
		})
	}
	// One catalog query per level of the walk, not one per entity.
	cat.queries = 0
	if _, err := r.Resolve(ctx, []string{"group:default/org"}, nil); err != nil {
		t.Fatal(err)
	}
	if cat.queries > 4 {
		t.Fatalf("%d catalog queries for a 4-level walk", cat.queries)
	}
}

func TestSettings(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		defaults := Settings{Channels: []ChannelSetting{{ID: WebChannel, Origins: []OriginSetting{{ID: "plugin:noisy", Enabled: false}}}}}
		svc, _ := newTestService(t, db, newFakeCatalog(), Options{DefaultSettings: defaults})
		alice := toUsers("user:default/alice")
		// The defaults silence plugin:noisy on the web.
		if sent := mustSend(t, svc, Request{Origin: "plugin:noisy", Recipients: alice, Payload: Payload{Title: "x"}}); len(sent) != 0 {
			t.Fatalf("stored despite defaults: %+v", sent)
		}
		mustSend(t, svc, Request{Origin: "plugin:ci", Recipients: alice, Payload: Payload{Title: "x", Topic: "builds"}})
		st, err := svc.Settings(ctx, "user:default/alice")
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Channels) != 1 || st.Channels[0].ID != WebChannel || len(st.Channels[0].Origins) != 2 {
			t.Fatalf("settings %+v", st)
		}
		ci := st.Channels[0].Origins[0]
		if ci.ID != "plugin:ci" || !ci.Enabled || len(ci.Topics) != 1 || ci.Topics[0] != (TopicSetting{ID: "builds", Enabled: true}) {
			t.Fatalf("ci origin %+v", ci)
		}
		if noisy := st.Channels[0].Origins[1]; noisy.ID != "plugin:noisy" || noisy.Enabled {
			t.Fatalf("noisy origin %+v", noisy)
		}
		// Alice turns the builds topic off and noisy back on.
		_, err = svc.SaveSettings(ctx, "user:default/alice", Settings{Channels: []ChannelSetting{{ID: WebChannel, Origins: []OriginSetting{
			{ID: "plugin:ci", Enabled: true, Topics: []TopicSetting{{ID: "builds", Enabled: false}}},
			{ID: "plugin:noisy", Enabled: true},
		}}}})
		if err != nil {
			t.Fatal(err)
		}
		if sent := mustSend(t, svc, Request{Origin: "plugin:ci", Recipients: alice, Payload: Payload{Title: "x", Topic: "builds"}}); len(sent) != 0 {
			t.Fatal("stored a disabled topic")
		}
		if sent := mustSend(t, svc, Request{Origin: "plugin:ci", Recipients: alice, Payload: Payload{Title: "x", Topic: "deploys"}}); len(sent) != 1 {
			t.Fatal("dropped an enabled topic")
		}
		if sent := mustSend(t, svc, Request{Origin: "plugin:noisy", Recipients: alice, Payload: Payload{Title: "x"}}); len(sent) != 1 {
			t.Fatal("user settings did not override the defaults")
		}
		// Bob still has the defaults.
		if sent := mustSend(t, svc, Request{Origin: "plugin:noisy", Recipients: toUsers("user:default/bob"), Payload: Payload{Title: "x"}}); len(sent) != 0 {
			t.Fatal("alice's settings applied to bob")
		}
		if _, err := svc.SaveSettings(ctx, "user:default/alice", Settings{Channels: []ChannelSetting{{ID: "Pigeon"}}}); errs.KindOf(err) != errs.Input || err.Error() != "Invalid channel" {
			t.Fatalf("unknown channel: %v", err)
		}
	})
}

func TestRetention(t *testing.T) {
	runDB(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		svc, _ := newTestService(t, db, newFakeCatalog(), Options{})
		old := mustSend(t, svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "old"}})
		oldScoped := mustSend(t, svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "old", Scope: "s"}})
		mustSend(t, svc, Request{Recipients: &Recipients{Type: RecipientsBroadcast}, Payload: Payload{Title: "old broadcast"}})
		if _, err := svc.Update(ctx, "user:default/alice", []string{old[0].ID}, ptr(true), nil); err != nil {
			t.Fatal(err)
		}
		// Two days later the scoped one is updated, a new one arrives.
		later := time.Now().Add(48 * time.Hour)
		mustSend(t, svc, Request{Recipients: toUsers("user:default/alice"), Payload: Payload{Title: "new"}})
		c := &Cleaner{Store: svc.Store(), Retention: 24 * time.Hour, Now: func() time.Time { return later }}
		// Make the scoped notification's update land after the cutoff.
		if _, err := db.ExecContext(ctx, `UPDATE notifications_notification SET updated = $1 WHERE id = $2`, later.Add(-time.Hour).UTC(), oldScoped[0].ID); err != nil {
			t.Fatal(err)
		}
		if _, err := db.ExecContext(ctx, `UPDATE notifications_notification SET created = $1 WHERE title = 'new'`, later.UTC()); err != nil {
			t.Fatal(err)
		}
		n, err := c.Clean(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n != 2 {
			t.Fatalf("deleted %d, want the old notification and the old broadcast", n)
		}
		res, _ := svc.List(ctx, ListOptions{User: "user:default/alice"})
		if res.TotalCount != 2 {
			t.Fatalf("left %+v", res)
		}
	})
}
