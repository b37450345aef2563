package notifications

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations are the notifications plugin's tables.
var Migrations = store.EmbeddedMigrations("notifications", migrationFS, "migrations")

// insertChunk bounds the rows of one multi-row INSERT, well below
// PostgreSQL's 65535 parameters and SQLite's 32766 variables.
const insertChunk = 500

// Store keeps notifications, broadcasts, read states and settings.
type Store struct {
	db *store.DB
}

// NewStore returns the store on db (migrated with Migrations).
func NewStore(db *store.DB) *Store { return &Store{db: db} }

// sqlArgs numbers placeholders as they are added. Positional ones ("?")
// are for SQLite statements with thousands of values, each used once in
// order: SQLite treats "$n" as a name and looks each up in a list, which
// made a 10,000-row insert spend seconds binding.
type sqlArgs struct {
	args       []any
	positional bool
}

func bulkArgs(db *store.DB) *sqlArgs { return &sqlArgs{positional: db.Dialect() == store.SQLite} }

func (a *sqlArgs) add(v any) string {
	a.args = append(a.args, v)
	if a.positional {
		return "?"
	}
	return "$" + strconv.Itoa(len(a.args))
}

func (a *sqlArgs) list(vs []string) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = a.add(v)
	}
	return strings.Join(ps, ", ")
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dbTime scans a timestamp whichever way the driver hands it over: SQLite
// loses the declared type of UNION columns and returns text.
type dbTime struct {
	t     time.Time
	valid bool
}

// Scan implements sql.Scanner.
func (d *dbTime) Scan(v any) error {
	switch x := v.(type) {
	case nil:
		d.valid = false
		return nil
	case time.Time:
		d.t, d.valid = x.UTC(), true
		return nil
	case string:
		return d.parse(x)
	case []byte:
		return d.parse(string(x))
	}
	return fmt.Errorf("cannot read %T as a time", v)
}

func (d *dbTime) parse(s string) error {
	for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", time.RFC3339Nano, "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			d.t, d.valid = t.UTC(), true
			return nil
		}
	}
	return fmt.Errorf("cannot read %q as a time", s)
}

func (d dbTime) ptr() *time.Time {
	if !d.valid {
		return nil
	}
	t := d.t
	return &t
}

// insertUserNotifications stores one notification per user in batches. A
// notification whose scope and origin the user already has replaces that
// one's content, makes it unread again and keeps its id, created and saved
// times. It returns what is stored, in the order given.
func (s *Store) insertUserNotifications(ctx context.Context, tx *sql.Tx, ns []Notification) ([]Notification, error) {
	out := make([]Notification, len(ns))
	now := store.Now()
	for start := 0; start < len(ns); start += insertChunk {
		part := ns[start:min(start+insertChunk, len(ns))]
		a := bulkArgs(s.db)
		var values strings.Builder
		byUser := make(map[string]int, len(part))
		for i, n := range part {
			if i > 0 {
				values.WriteString(", ")
			}
			p := n.Payload
			fmt.Fprintf(&values, "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
				a.add(n.ID), a.add(n.User), a.add(p.Title), a.add(nullString(p.Description)), a.add(string(p.Severity)),
				a.add(nullString(p.Link)), a.add(n.Origin), a.add(nullString(p.Scope)), a.add(nullString(p.Topic)),
				a.add(nullString(p.Icon)), a.add(n.Created))
			byUser[n.User] = start + i
		}
		q := `INSERT INTO notifications_notification (id, user_ref, title, description, severity, link, origin, scope, topic, icon, created)
VALUES ` + values.String() + `
ON CONFLICT (user_ref, origin, scope) WHERE scope IS NOT NULL DO UPDATE SET
  title = excluded.title, description = excluded.description, link = excluded.link, topic = excluded.topic,
  severity = excluded.severity, icon = excluded.icon, updated = ` + a.add(now) + `, read = NULL
RETURNING id, user_ref, created, updated, saved`
		rows, err := tx.QueryContext(ctx, q, a.args...)
		if err != nil {
			return nil, fmt.Errorf("store notifications: %w", err)
		}
		for rows.Next() {
			var id, user string
			var created, updated, saved dbTime
			if err := rows.Scan(&id, &user, &created, &updated, &saved); err != nil {
				rows.Close()
				return nil, fmt.Errorf("store notifications: %w", err)
			}
			i, ok := byUser[user]
			if !ok {
				continue
			}
			n := ns[i]
			n.ID, n.Created, n.Updated, n.Saved, n.Read = id, created.t, updated.ptr(), saved.ptr(), nil
			out[i] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("store notifications: %w", err)
		}
	}
	return out, nil
}

// upsertBroadcast stores a broadcast, or updates the one with the same
// scope and origin (whose users' read states stay as they were).
func (s *Store) upsertBroadcast(ctx context.Context, tx *sql.Tx, n Notification) (Notification, error) {
	p := n.Payload
	var id string
	var created, updated dbTime
	err := tx.QueryRowContext(ctx, `INSERT INTO notifications_broadcast (id, title, description, severity, link, origin, scope, topic, icon, created)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
ON CONFLICT (origin, scope) WHERE scope IS NOT NULL DO UPDATE SET
  title = excluded.title, description = excluded.description, link = excluded.link, topic = excluded.topic,
  severity = excluded.severity, icon = excluded.icon, updated = $11
RETURNING id, created, updated`,
		n.ID, p.Title, nullString(p.Description), string(p.Severity), nullString(p.Link), n.Origin, nullString(p.Scope),
		nullString(p.Topic), nullString(p.Icon), n.Created, store.Now()).Scan(&id, &created, &updated)
	if err != nil {
		return n, fmt.Errorf("store broadcast: %w", err)
	}
	n.ID, n.Created, n.Updated = id, created.t, updated.ptr()
	return n, nil
}

// orderColumns are the fields lists may be ordered by.
var orderColumns = map[string]string{
	"created": "created", "updated": "updated", "read": "read", "saved": "saved",
	"topic": "topic", "origin": "origin", "title": "title", "severity": "severity",
	"description": "description", "link": "link", "scope": "scope", "icon": "icon",
}

// filters returns the WHERE conditions shared by both halves of a list;
// state prefixes the read and saved columns.
func (o ListOptions) filters(a *sqlArgs, state string) []string {
	var where []string
	if len(o.IDs) > 0 {
		where = append(where, "id IN ("+a.list(o.IDs)+")")
	}
	if o.Topic != "" {
		where = append(where, "topic = "+a.add(o.Topic))
	}
	if o.Search != "" {
		pattern := "%" + strings.NewReplacer(`\`, `\\`, "%", `\%`, "_", `\_`).Replace(strings.ToLower(o.Search)) + "%"
		p := a.add(pattern)
		where = append(where, "(LOWER(title) LIKE "+p+" ESCAPE '\\' OR LOWER(description) LIKE "+p+" ESCAPE '\\')")
	}
	if o.Read != nil {
		where = append(where, state+"read IS "+map[bool]string{true: "NOT NULL", false: "NULL"}[*o.Read])
	}
	if o.Saved != nil {
		where = append(where, state+"saved IS "+map[bool]string{true: "NOT NULL", false: "NULL"}[*o.Saved])
	}
	if o.CreatedAfter != nil {
		where = append(where, "created >= "+a.add(o.CreatedAfter.UTC()))
	}
	if o.MinimumSeverity != "" {
		sev := atLeast(o.MinimumSeverity)
		names := make([]string, len(sev))
		for i, s := range sev {
			names[i] = string(s)
		}
		where = append(where, "severity IN ("+a.list(names)+")")
	}
	return where
}

const userColumns = "id, user_ref, title, description, severity, link, origin, scope, topic, icon, created, updated, read, saved"
const broadcastColumns = "b.id, NULL AS user_ref, b.title, b.description, b.severity, b.link, b.origin, b.scope, b.topic, b.icon, b.created, b.updated, s.read, s.saved"

// halves returns the user's own rows and the broadcasts with the user's
// state, each filtered, as two SELECTs.
func (o ListOptions) halves(a *sqlArgs, cols string) (own, broadcast string) {
	user := a.add(o.User)
	ownWhere := append([]string{"user_ref = " + user}, o.filters(a, "")...)
	own = "SELECT " + cols + " FROM notifications_notification WHERE " + strings.Join(ownWhere, " AND ")
	bcols := cols
	if cols == userColumns {
		bcols = broadcastColumns
	}
	broadcast = "SELECT " + bcols + " FROM notifications_broadcast b LEFT JOIN notifications_broadcast_user_status s ON s.broadcast_id = b.id AND s.user_ref = " + user
	// The status table has no column named like the broadcast's, so only
	// the read and saved states need their table named.
	if bw := o.filters(a, "s."); len(bw) > 0 {
		broadcast += " WHERE " + strings.Join(bw, " AND ")
	}
	return own, broadcast
}

func (o ListOptions) orderBy() (string, error) {
	order := o.Order
	if len(order) == 0 {
		order = []OrderField{{Field: "created", Desc: true}}
	}
	var parts []string
	for _, f := range order {
		col, ok := orderColumns[f.Field]
		if !ok {
			return "", errs.InputErrorf("Invalid order field '%s'", f.Field)
		}
		dir := "ASC"
		if f.Desc {
			dir = "DESC"
		}
		parts = append(parts, col+" "+dir)
	}
	return strings.Join(append(parts, "id ASC"), ", "), nil
}

// List returns the user's notifications and broadcasts that match, and how
// many match in all.
func (s *Store) List(ctx context.Context, o ListOptions) ([]Notification, error) {
	order, err := o.orderBy()
	if err != nil {
		return nil, err
	}
	a := &sqlArgs{}
	own, broadcast := o.halves(a, userColumns)
	// Each half is ordered and cut to offset+limit on its own, so a page
	// of the newest notifications reads a few index entries per half
	// rather than sorting everything the user has.
	window := ""
	if o.Limit > 0 {
		window = " ORDER BY " + order + " LIMIT " + strconv.Itoa(o.Offset+o.Limit)
	}
	q := "SELECT * FROM (" + own + window + ") AS own_rows UNION ALL SELECT * FROM (" + broadcast + window + ") AS broadcast_rows ORDER BY " + order
	if o.Limit > 0 {
		q += " LIMIT " + strconv.Itoa(o.Limit)
	} else if o.Offset > 0 && s.db.Dialect() == store.SQLite {
		q += " LIMIT -1"
	}
	if o.Offset > 0 {
		q += " OFFSET " + strconv.Itoa(o.Offset)
	}
	rows, err := s.db.QueryContext(ctx, q, a.args...)
	if err != nil {
		return nil, fmt.Errorf("list notifications: %w", err)
	}
	defer rows.Close()
	out := []Notification{}
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, fmt.Errorf("list notifications: %w", err)
		}
		out = append(out, n)
	}
	return out, rows.Err()
}

func scanNotification(rows *sql.Rows) (Notification, error) {
	var n Notification
	var user, description, link, scope, topic, icon sql.NullString
	var severity string
	var created, updated, read, saved dbTime
	if err := rows.Scan(&n.ID, &user, &n.Payload.Title, &description, &severity, &link, &n.Origin, &scope, &topic, &icon,
		&created, &updated, &read, &saved); err != nil {
		return n, err
	}
	n.User = user.String
	n.Payload.Description, n.Payload.Link, n.Payload.Scope = description.String, link.String, scope.String
	n.Payload.Topic, n.Payload.Icon, n.Payload.Severity = topic.String, icon.String, Severity(severity)
	n.Created, n.Updated, n.Read, n.Saved = created.t, updated.ptr(), read.ptr(), saved.ptr()
	return n, nil
}

// Count returns how many of the user's notifications and broadcasts match.
func (s *Store) Count(ctx context.Context, o ListOptions) (int, error) {
	a := &sqlArgs{}
	own, broadcast := o.halves(a, "COUNT(*)")
	var total int
	if err := s.db.QueryRowContext(ctx, "SELECT ("+own+") + ("+broadcast+")", a.args...).Scan(&total); err != nil {
		return 0, fmt.Errorf("count notifications: %w", err)
	}
	return total, nil
}

// Get returns one of the user's notifications (or a broadcast) by id.
func (s *Store) Get(ctx context.Context, user, id string) (Notification, error) {
	ns, err := s.List(ctx, ListOptions{User: user, IDs: []string{id}, Limit: 1})
	if err != nil {
		return Notification{}, err
	}
	if len(ns) != 1 {
		return Notification{}, errs.NotFoundf("Not found")
	}
	return ns[0], nil
}

// Status counts the user's unread and read notifications and broadcasts.
func (s *Store) Status(ctx context.Context, user string) (Status, error) {
	var st Status
	var bTotal, bRead int
	// Four counts that each read one range of an index: the user's unread
	// and read rows of (user_ref, read), all broadcasts, and the user's
	// read broadcasts.
	err := s.db.QueryRowContext(ctx, `SELECT
  (SELECT COUNT(*) FROM notifications_notification WHERE user_ref = $1 AND read IS NULL),
  (SELECT COUNT(*) FROM notifications_notification WHERE user_ref = $1 AND read IS NOT NULL),
  (SELECT COUNT(*) FROM notifications_broadcast),
  (SELECT COUNT(*) FROM notifications_broadcast_user_status WHERE user_ref = $1 AND read IS NOT NULL)`, user).
		Scan(&st.Unread, &st.Read, &bTotal, &bRead)
	if err != nil {
		return st, fmt.Errorf("notification status: %w", err)
	}
	st.Read += bRead
	st.Unread += bTotal - bRead
	return st, nil
}

// setState sets (or clears) the read or saved time of the user's
// notifications and broadcasts among ids.
func (s *Store) setState(ctx context.Context, user string, ids []string, column string, on bool) error {
	if len(ids) == 0 {
		return nil
	}
	var value any
	if on {
		value = store.Now()
	}
	return s.db.Tx(ctx, func(tx *sql.Tx) error {
		a := &sqlArgs{}
		q := "UPDATE notifications_notification SET " + column + " = " + a.add(value) + " WHERE user_ref = " + a.add(user) + " AND id IN (" + a.list(ids) + ")"
		if _, err := tx.ExecContext(ctx, q, a.args...); err != nil {
			return fmt.Errorf("update notifications: %w", err)
		}
		a = &sqlArgs{}
		q = "INSERT INTO notifications_broadcast_user_status (broadcast_id, user_ref, " + column + ") SELECT id, " + a.add(user) + ", " + a.add(value) +
			" FROM notifications_broadcast WHERE id IN (" + a.list(ids) + ") ON CONFLICT (broadcast_id, user_ref) DO UPDATE SET " + column + " = excluded." + column
		if _, err := tx.ExecContext(ctx, q, a.args...); err != nil {
			return fmt.Errorf("update broadcast state: %w", err)
		}
		return nil
	})
}

// Topics returns the distinct topics of the user's notifications that
// match.
func (s *Store) Topics(ctx context.Context, o ListOptions) ([]string, error) {
	a := &sqlArgs{}
	own, broadcast := o.halves(a, "DISTINCT topic")
	rows, err := s.db.QueryContext(ctx, "SELECT topic FROM ("+own+" UNION "+broadcast+") AS t WHERE topic IS NOT NULL ORDER BY topic", a.args...)
	if err != nil {
		return nil, fmt.Errorf("list topics: %w", err)
	}
	defer rows.Close()
	topics := []string{}
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		topics = append(topics, t)
	}
	return topics, rows.Err()
}

// originTopic is an origin a user has heard from and one of its topics ("" for none).
type originTopic struct{ origin, topic string }

// received returns the origins and topics of everything the user has.
func (s *Store) received(ctx context.Context, user string) ([]originTopic, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT DISTINCT origin, topic FROM notifications_notification WHERE user_ref = $1
UNION SELECT DISTINCT origin, topic FROM notifications_broadcast ORDER BY 1, 2`, user)
	if err != nil {
		return nil, fmt.Errorf("list origins: %w", err)
	}
	defer rows.Close()
	var out []originTopic
	for rows.Next() {
		var ot originTopic
		var topic sql.NullString
		if err := rows.Scan(&ot.origin, &topic); err != nil {
			return nil, err
		}
		ot.topic = topic.String
		out = append(out, ot)
	}
	return out, rows.Err()
}

// userSettings returns the stored settings of the given users (users
// without any are absent).
func (s *Store) userSettings(ctx context.Context, users []string) (map[string]Settings, error) {
	out := map[string]Settings{}
	for start := 0; start < len(users); start += insertChunk {
		part := users[start:min(start+insertChunk, len(users))]
		a := bulkArgs(s.db)
		rows, err := s.db.QueryContext(ctx, "SELECT user_ref, settings FROM notifications_user_settings WHERE user_ref IN ("+a.list(part)+")", a.args...)
		if err != nil {
			return nil, fmt.Errorf("read settings: %w", err)
		}
		for rows.Next() {
			var user string
			var raw []byte
			if err := rows.Scan(&user, &raw); err != nil {
				rows.Close()
				return nil, err
			}
			var st Settings
			if err := json.Unmarshal(raw, &st); err != nil {
				rows.Close()
				return nil, fmt.Errorf("settings of %s: %w", user, err)
			}
			out[user] = st
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// saveSettings replaces the user's settings.
func (s *Store) saveSettings(ctx context.Context, user string, st Settings) error {
	raw, err := json.Marshal(st)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT INTO notifications_user_settings (user_ref, settings, updated) VALUES ($1, $2, $3)
ON CONFLICT (user_ref) DO UPDATE SET settings = excluded.settings, updated = excluded.updated`, user, string(raw), store.Now())
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	return nil
}

// DeleteOlderThan removes notifications and broadcasts last changed before
// cutoff (created then and never updated, or updated then), and returns how
// many went.
func (s *Store) DeleteOlderThan(ctx context.Context, cutoff time.Time) (int64, error) {
	var total int64
	err := s.db.Tx(ctx, func(tx *sql.Tx) error {
		total = 0
		res, err := tx.ExecContext(ctx, `DELETE FROM notifications_notification WHERE (updated IS NULL AND created <= $1) OR updated <= $1`, cutoff)
		if err != nil {
			return err
		}
		n, _ := res.RowsAffected()
		total += n
		cond := `(updated IS NULL AND created <= $1) OR updated <= $1`
		if _, err := tx.ExecContext(ctx, `DELETE FROM notifications_broadcast_user_status WHERE broadcast_id IN (SELECT id FROM notifications_broadcast WHERE `+cond+`)`, cutoff); err != nil {
			return err
		}
		res, err = tx.ExecContext(ctx, `DELETE FROM notifications_broadcast WHERE `+cond, cutoff)
		if err != nil {
			return err
		}
		n, _ = res.RowsAffected()
		total += n
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("delete old notifications: %w", err)
	}
	return total, nil
}
