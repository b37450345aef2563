package catalog

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

// OrderField orders entity lists by the value of a search key.
type OrderField struct {
	Field string `json:"field"`
	Order string `json:"order"` // "asc" or "desc"
}

func (o OrderField) desc() bool { return strings.EqualFold(o.Order, "desc") }

// ListRequest selects entities for GET /entities: a filter, an order and
// an offset window (Limit 0: no limit).
type ListRequest struct {
	Filter *Filter
	Order  []OrderField
	Offset int
	Limit  int
}

// ListEntities calls fn with the stored JSON of each entity that matches,
// in order, reading row by row so that large lists stream.
func (s *Service) ListEntities(ctx context.Context, req ListRequest, fn func(entity []byte) error) error {
	a := &sqlArgs{}
	var sel, order strings.Builder
	for i, o := range req.Order {
		col := fmt.Sprintf("o%d", i)
		fmt.Fprintf(&sel, ", (SELECT MIN(value) FROM catalog_search WHERE search_id = f.search_id AND key = %s) AS %s", a.add(strings.ToLower(o.Field)), col)
		dir := "ASC"
		if o.desc() {
			dir = "DESC"
		}
		// Entities without the field go last either way.
		fmt.Fprintf(&order, "(%s IS NULL), %s %s, ", col, col, dir)
	}
	var q string
	if len(req.Order) == 0 {
		// Without an order field the entity_ref index gives the order, so a
		// page stops after limit matches.
		// Refs are ordered by bytes on both databases (PostgreSQL has an
		// index for that), which also lets a kind filter narrow the walk.
		ref := "f.entity_ref"
		if s.db.Dialect() == store.Postgres {
			ref = `(f.entity_ref COLLATE "C")`
		}
		q = "SELECT f.final_entity FROM catalog_final_entities f"
		if req.Filter != nil {
			q += " WHERE " + req.Filter.sqlOn(a, "f.search_id", req.Limit > 0)
			if r := req.Filter.refRange(a, ref); r != "" {
				q += " AND " + r
			}
		}
		q += " ORDER BY " + ref
	} else {
		// The order values are computed in a subquery because PostgreSQL
		// does not allow expressions over output columns in ORDER BY.
		q = "SELECT final_entity FROM (SELECT f.final_entity, f.entity_ref" + sel.String() + " FROM catalog_final_entities f"
		if req.Filter != nil {
			q += " WHERE " + req.Filter.sqlOn(a, "f.search_id", false)
		}
		q += ") q ORDER BY " + order.String() + "entity_ref"
	}
	if req.Limit > 0 {
		q += " LIMIT " + a.add(req.Limit)
	} else if req.Offset > 0 && s.db.Dialect() == store.SQLite {
		q += " LIMIT -1" // SQLite takes OFFSET only after a LIMIT
	}
	if req.Offset > 0 {
		q += " OFFSET " + a.add(req.Offset)
	}
	s.trace(ctx, q, a.args)
	rows, err := s.db.QueryContext(ctx, q, a.args...)
	if err != nil {
		return fmt.Errorf("list entities: %w", err)
	}
	defer rows.Close()
	var body []byte
	for rows.Next() {
		if err := rows.Scan(&body); err != nil {
			return err
		}
		if err := fn(body); err != nil {
			return err
		}
	}
	return rows.Err()
}

// QueryRequest is a request of /entities/by-query: a filter, one order
// field, full-text search, and a page size. Cursor, when set, continues an
// earlier query and replaces the other fields.
type QueryRequest struct {
	Filter         *Filter
	OrderFields    []OrderField
	FullTextTerm   string
	FullTextFields []string
	Limit          int
	Offset         int
	// ExcludeTotal skips counting (totalItems is then 0).
	ExcludeTotal bool
	// CountOnly returns no items, only totalItems.
	CountOnly bool
	Cursor    string
	// Readable limits the answer to the entities the caller may read
	// (nil: all). Cursors do not carry it: each page is decided anew.
	Readable *Filter
}

// QueryResult is a page of entities.
type QueryResult struct {
	Items      []json.RawMessage
	TotalItems int
	NextCursor string
	PrevCursor string
}

// queryCursor is the state a cursor carries: the query itself and where
// the page it continues from ended.
type queryCursor struct {
	OrderFields    []OrderField `json:"orderFields"`
	FullTextTerm   string       `json:"fullTextTerm,omitempty"`
	FullTextFields []string     `json:"fullTextFields,omitempty"`
	Filter         *Filter      `json:"filter,omitempty"`
	// Value and ID are the sort value and entity id of the item the page
	// starts after (or, going back, before).
	Value        *string `json:"value,omitempty"`
	ID           string  `json:"id"`
	IsPrevious   bool    `json:"isPrevious"`
	TotalItems   int     `json:"totalItems"`
	ExcludeTotal bool    `json:"excludeTotal,omitempty"`
}

// DefaultQueryLimit is the page size of /entities/by-query without limit.
const DefaultQueryLimit = 200

func encodeCursor(c queryCursor) string {
	data, _ := json.Marshal(c)
	return base64.StdEncoding.EncodeToString(data)
}

func decodeCursor(s string) (queryCursor, error) {
	var c queryCursor
	data, err := base64.StdEncoding.DecodeString(s)
	if err == nil {
		err = json.Unmarshal(data, &c)
	}
	if err != nil {
		return c, errs.InputErrorf("malformed cursor: %v", err)
	}
	return c, nil
}

// QueryEntities returns a page of entities, with cursors for the pages
// around it. The order is by the first order field (entities without it
// are left out, as in Backstage) and then by uid.
func (s *Service) QueryEntities(ctx context.Context, req QueryRequest) (*QueryResult, error) {
	limit := req.Limit
	if limit < 0 {
		return nil, errs.InputErrorf("limit must not be negative")
	}
	if limit == 0 {
		limit = DefaultQueryLimit
	}
	if req.CountOnly {
		limit = 0
	}
	c := queryCursor{OrderFields: req.OrderFields, FullTextTerm: strings.TrimSpace(req.FullTextTerm), FullTextFields: req.FullTextFields, Filter: req.Filter, ExcludeTotal: req.ExcludeTotal}
	first := true
	if req.Cursor != "" {
		var err error
		if c, err = decodeCursor(req.Cursor); err != nil {
			return nil, err
		}
		first = false
	}
	var order *OrderField
	if len(c.OrderFields) > 0 {
		order = &c.OrderFields[0]
	}

	readable, err := s.smallSet(ctx, req.Readable)
	if err != nil {
		return nil, err
	}

	// The count works on sets; the page walks the order and probes. Each
	// query gets its own arguments.
	build := func(probe bool) (a *sqlArgs, from string, where []string) {
		a = &sqlArgs{}
		from = " FROM catalog_final_entities f"
		if order != nil {
			from += " JOIN catalog_search o ON o.search_id = f.search_id AND o.key = " + a.add(strings.ToLower(order.Field)) + " AND o.value IS NOT NULL"
		}
		if filter := andFilter(c.Filter, readable); filter != nil {
			where = append(where, filter.sqlOn(a, "f.search_id", probe))
		}
		if c.FullTextTerm != "" {
			fields := c.FullTextFields
			if len(fields) == 0 {
				fields = []string{"metadata.uid"}
				if order != nil {
					fields = []string{order.Field}
				}
			}
			ps := make([]string, len(fields))
			for i, f := range fields {
				ps[i] = a.add(strings.ToLower(strings.TrimSpace(f)))
			}
			// One scan of the fields' rows beats a LIKE per entity.
			where = append(where, "f.search_id IN (SELECT s.search_id FROM catalog_search s WHERE s.key IN ("+strings.Join(ps, ", ")+") AND s.value LIKE "+
				a.add("%"+escapeLike(strings.ToLower(c.FullTextTerm))+"%")+` ESCAPE '\')`)
		}
		return a, from, where
	}
	// With an order field the page walks the search index's (key, value,
	// search_id) entries, so ties are broken by the search row's own
	// search_id (the cursor's ID is then that number): the planners do not
	// carry the join's equality over into the order, and f.entity_id made
	// both sort every match. Without one, entities are ordered by uid.
	sortCol, idCol := "f.entity_id", "f.entity_id"
	if order != nil {
		sortCol, idCol = "o.value", "o.search_id"
	}

	res := &QueryResult{Items: []json.RawMessage{}}
	if first && !c.ExcludeTotal {
		// Counting a small set of readable ids probes each for the other
		// filters, rather than building their (large) sets.
		ca, from, where := build(readable != nil && readable.Op == opIDs)
		q := "SELECT COUNT(*)" + from
		if len(where) > 0 {
			q += " WHERE " + strings.Join(where, " AND ")
		}
		s.trace(ctx, q, ca.args)
		if err := s.db.QueryRowContext(ctx, q, ca.args...).Scan(&c.TotalItems); err != nil {
			return nil, fmt.Errorf("count entities: %w", err)
		}
	}
	res.TotalItems = c.TotalItems
	if limit == 0 {
		return res, nil
	}
	a, from, where := build(true)

	desc := order != nil && order.desc()
	backwards := c.IsPrevious != desc // walk the index in descending order
	cmp, dir := ">", "ASC"
	if backwards {
		cmp, dir = "<", "DESC"
	}
	pageWhere := where
	if !first {
		if order != nil && c.Value != nil {
			v := a.add(*c.Value)
			// A row-value comparison is one index range on both engines.
			id, err := strconv.ParseInt(c.ID, 10, 64)
			if err != nil {
				return nil, errs.InputErrorf("malformed cursor: id %q is not a number", c.ID)
			}
			pageWhere = append(slices.Clone(where), fmt.Sprintf("(o.value, o.search_id) %s (%s, %s)", cmp, v, a.add(id)))
		} else {
			pageWhere = append(slices.Clone(where), fmt.Sprintf("f.entity_id %s %s", cmp, a.add(c.ID)))
		}
	}
	q := "SELECT f.final_entity, " + idCol + ", " + sortCol + from
	if len(pageWhere) > 0 {
		q += " WHERE " + strings.Join(pageWhere, " AND ")
	}
	q += fmt.Sprintf(" ORDER BY %s %s, %s %s LIMIT %s", sortCol, dir, idCol, dir, a.add(limit+1))
	if first && req.Offset > 0 {
		q += " OFFSET " + a.add(req.Offset)
	}
	s.trace(ctx, q, a.args)
	rows, err := s.db.QueryContext(ctx, q, a.args...)
	if err != nil {
		return nil, fmt.Errorf("query entities: %w", err)
	}
	defer rows.Close()
	type item struct {
		body  []byte
		id    string
		value string
	}
	var items []item
	for rows.Next() {
		var it item
		if err := rows.Scan(&it.body, &it.id, &it.value); err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	more := len(items) > limit
	if more {
		items = items[:limit]
	}
	if c.IsPrevious {
		slices.Reverse(items)
	}
	for _, it := range items {
		res.Items = append(res.Items, it.body)
	}
	if len(items) == 0 {
		return res, nil
	}
	at := func(it item, previous bool) string {
		n := c
		n.IsPrevious = previous
		n.ID = it.id
		n.Value = nil
		if order != nil {
			v := it.value
			n.Value = &v
		}
		return encodeCursor(n)
	}
	hasNext := more
	hasPrev := !first || req.Offset > 0
	if c.IsPrevious {
		hasNext, hasPrev = true, more
	}
	if hasNext {
		res.NextCursor = at(items[len(items)-1], false)
	}
	if hasPrev {
		res.PrevCursor = at(items[0], true)
	}
	return res, nil
}

// defaultSmallSetLimit is the most entities a readable filter may match
// for queries to start from its ids.
const defaultSmallSetLimit = 2000

// smallSet turns a readable filter (an RBAC condition) that matches few
// entities, as conditions on ownership do, into the list of their ids.
// Pages and counts then start from those ids and sort a few rows, instead
// of walking the order of every entity and probing each against the
// condition (a second per page at 100k entities). A filter that matches
// more is returned marked, so that a second call (the HTTP layer's, then
// QueryEntities') does not count it again; finding out costs at most
// s.smallSetLimit rows.
func (s *Service) smallSet(ctx context.Context, f *Filter) (*Filter, error) {
	if f == nil || f.Op == opIDs || f.large {
		return f, nil
	}
	a := &sqlArgs{}
	q := "SELECT f.search_id FROM catalog_final_entities f WHERE " + f.sqlOn(a, "f.search_id", false) + " LIMIT " + a.add(s.smallSetLimit+1)
	rows, err := s.db.QueryContext(ctx, q, a.args...)
	if err != nil {
		return nil, fmt.Errorf("readable entities: %w", err)
	}
	defer rows.Close()
	ids := []int64{}
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(ids) > s.smallSetLimit {
		large := *f
		large.large = true
		return &large, nil
	}
	return &Filter{Op: opIDs, ids: ids}, nil
}

// EntitiesByRefs returns the stored JSON of each ref (nil where there is
// none or the filter excludes it), in the order of refs.
func (s *Service) EntitiesByRefs(ctx context.Context, refs []string, filter *Filter) ([]json.RawMessage, error) {
	keys := make([]string, len(refs))
	for i, r := range refs {
		if ref, err := ParseRef(r, RefDefaults{}); err == nil {
			keys[i] = ref.String()
		}
	}
	found := map[string]json.RawMessage{}
	err := chunks(unique(slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "" })), func(part []string) error {
		a := &sqlArgs{}
		ps := make([]string, len(part))
		for i, p := range part {
			ps[i] = a.add(p)
		}
		q := "SELECT f.entity_ref, f.final_entity FROM catalog_final_entities f WHERE f.entity_ref IN (" + strings.Join(ps, ", ") + ")"
		if filter != nil {
			q += " AND " + filter.sql(a)
		}
		rows, err := s.db.QueryContext(ctx, q, a.args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var ref string
			var body []byte
			if err := rows.Scan(&ref, &body); err != nil {
				return err
			}
			found[ref] = body
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("entities by refs: %w", err)
	}
	out := make([]json.RawMessage, len(refs))
	for i, k := range keys {
		out[i] = found[k]
	}
	return out, nil
}

// EntityJSON returns the stored JSON of an entity, or a NotFound error.
func (s *Service) EntityJSON(ctx context.Context, ref Ref) ([]byte, error) {
	var body []byte
	err := s.db.QueryRowContext(ctx, `SELECT final_entity FROM catalog_final_entities WHERE entity_ref = $1`, ref.String()).Scan(&body)
	if err == sql.ErrNoRows {
		return nil, errs.NotFoundf("no entity named '%s' found, with kind '%s' in namespace '%s'", ref.Name, ref.Kind, ref.Namespace)
	}
	if err != nil {
		return nil, fmt.Errorf("read entity %s: %w", ref, err)
	}
	return body, nil
}

// EntityByRef returns an entity by reference ("component:default/x"; kind
// and namespace default to none and "default"), or a NotFound error.
func (s *Service) EntityByRef(ctx context.Context, entityRef string) (*Entity, error) {
	ref, err := ParseRef(entityRef, RefDefaults{})
	if err != nil {
		return nil, err
	}
	body, err := s.EntityJSON(ctx, ref)
	if err != nil {
		return nil, err
	}
	var e Entity
	if err := json.Unmarshal(body, &e); err != nil {
		return nil, fmt.Errorf("stored entity %s: %w", ref, err)
	}
	return &e, nil
}

// EntityByUID returns the stored JSON of an entity by uid.
func (s *Service) EntityByUID(ctx context.Context, uid string) ([]byte, error) {
	var body []byte
	err := s.db.QueryRowContext(ctx, `SELECT final_entity FROM catalog_final_entities WHERE entity_id = $1`, uid).Scan(&body)
	if err == sql.ErrNoRows {
		return nil, errs.NotFoundf("no entity with uid %s", uid)
	}
	if err != nil {
		return nil, fmt.Errorf("read entity %s: %w", uid, err)
	}
	return body, nil
}

// Facet is one value of a facet and how many entities have it.
type Facet struct {
	Value string `json:"value"`
	Count int    `json:"count"`
}

// Facets counts, for each facet key, the entities (matching filter) per
// value, most common first.
func (s *Service) Facets(ctx context.Context, facets []string, filter *Filter) (map[string][]Facet, error) {
	out := make(map[string][]Facet, len(facets))
	a := &sqlArgs{}
	byKey := map[string][]string{}
	ps := make([]string, 0, len(facets))
	for _, f := range facets {
		out[f] = []Facet{}
		k := strings.ToLower(f)
		if _, seen := byKey[k]; !seen {
			ps = append(ps, a.add(k))
		}
		byKey[k] = append(byKey[k], f)
	}
	if len(ps) == 0 {
		return out, nil
	}
	if s.db.Dialect() == store.SQLite && filter == nil {
		// With a filter the rows come from the filter's entities, not in
		// index order, so there is a sort either way and one grouping
		// (below) is cheaper than two.
		if err := s.sqliteFacets(ctx, a, ps, byKey, out); err != nil {
			return nil, fmt.Errorf("facets: %w", err)
		}
		return out, nil
	}
	cond := "v.key IN (" + strings.Join(ps, ", ") + ")"
	if filter != nil {
		cond += " AND " + filter.sqlOn(a, "v.search_id", false)
	}
	// original_value is NULL where it equals value, and value is a
	// function of it, so (key, value, original_value) groups the rows as
	// (key, original value) would.
	q := "SELECT v.key, COALESCE(v.original_value, v.value) AS fv, COUNT(*) FROM catalog_search v WHERE " + cond +
		" AND (v.value IS NOT NULL OR v.original_value IS NOT NULL) GROUP BY v.key, v.value, v.original_value ORDER BY COUNT(*) DESC, fv"
	if s.db.Dialect() == store.Postgres {
		// PostgreSQL estimated tens of thousands of (value,
		// original_value) groups for spec.type and sorted its 90k rows on
		// disk (84 ms at 100k entities). Counting per value (few groups,
		// hashed) and the rows with an original value of their own
		// separately (few rows), as on SQLite, takes half that; the
		// database still orders the result in its collation.
		q = "WITH g AS (SELECT v.key, v.value, COUNT(*) AS n FROM catalog_search v WHERE " + cond + " GROUP BY v.key, v.value)," +
			" o AS (SELECT v.key, v.value, v.original_value, COUNT(*) AS n FROM catalog_search v WHERE " + cond + " AND v.original_value IS NOT NULL GROUP BY v.key, v.value, v.original_value)" +
			" SELECT key, fv, n FROM (" +
			"SELECT g.key, g.value AS fv, g.n - COALESCE(x.n, 0) AS n FROM g LEFT JOIN (SELECT key, value, SUM(n) AS n FROM o GROUP BY key, value) x ON x.key = g.key AND x.value = g.value WHERE g.value IS NOT NULL" +
			" UNION ALL SELECT key, original_value, n FROM o) r WHERE n > 0 ORDER BY n DESC, fv"
	}
	s.trace(ctx, q, a.args)
	rows, err := s.db.QueryContext(ctx, q, a.args...)
	if err != nil {
		return nil, fmt.Errorf("facets: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key string
		var f Facet
		if err := rows.Scan(&key, &f.Value, &f.Count); err != nil {
			return nil, err
		}
		for _, name := range byKey[key] {
			out[name] = append(out[name], f)
		}
	}
	return out, rows.Err()
}

// sqliteFacets counts facets of all entities on SQLite, where grouping by
// original_value (which the index holds after search_id) sorted every row
// in a temporary b-tree (132 ms for spec.type at 100k entities). Rows are counted per
// (key, value), which follows the index order and streams; the rows whose
// original value differs from value (capitals, values too long to match)
// are counted per original value from their own partial index, and the
// rest of each group is the lower-cased value itself. The result is
// sorted here as SQLite's BINARY collation would: by count, then by bytes.
func (s *Service) sqliteFacets(ctx context.Context, a *sqlArgs, keys []string, byKey map[string][]string, out map[string][]Facet) error {
	from := " FROM catalog_search v WHERE v.key IN (" + strings.Join(keys, ", ") + ")"
	type group struct {
		key   string
		value sql.NullString
	}
	counts := map[group]int{}
	var groups []group
	q := "SELECT v.key, v.value, COUNT(*)" + from + " GROUP BY v.key, v.value"
	s.trace(ctx, q, a.args)
	rows, err := s.db.QueryContext(ctx, q, a.args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var g group
		var n int
		if err := rows.Scan(&g.key, &g.value, &n); err != nil {
			rows.Close()
			return err
		}
		counts[g] = n
		groups = append(groups, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	found := map[string][]Facet{}
	q = "SELECT v.key, v.value, v.original_value, COUNT(*)" + from + " AND v.original_value IS NOT NULL GROUP BY v.key, v.value, v.original_value"
	s.trace(ctx, q, a.args)
	rows, err = s.db.QueryContext(ctx, q, a.args...)
	if err != nil {
		return err
	}
	for rows.Next() {
		var g group
		var f Facet
		if err := rows.Scan(&g.key, &g.value, &f.Value, &f.Count); err != nil {
			rows.Close()
			return err
		}
		counts[g] -= f.Count
		found[g.key] = append(found[g.key], f)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, g := range groups {
		// Rows without a value and without an original one are null
		// scalars, which are no facet.
		if n := counts[g]; n > 0 && g.value.Valid {
			found[g.key] = append(found[g.key], Facet{Value: g.value.String, Count: n})
		}
	}
	for key, fs := range found {
		slices.SortFunc(fs, func(x, y Facet) int {
			if x.Count != y.Count {
				return y.Count - x.Count
			}
			return strings.Compare(x.Value, y.Value)
		})
		for _, name := range byKey[key] {
			out[name] = fs
		}
	}
	return nil
}

// AncestryItem is an entity with the refs of the entities that emitted it.
type AncestryItem struct {
	Entity           json.RawMessage `json:"entity"`
	ParentEntityRefs []string        `json:"parentEntityRefs"`
}

// Ancestry returns an entity and the chain of entities that led to it,
// the entity first.
func (s *Service) Ancestry(ctx context.Context, ref Ref) ([]AncestryItem, error) {
	if _, err := s.EntityJSON(ctx, ref); err != nil {
		return nil, err
	}
	var items []AncestryItem
	seen := map[string]bool{}
	todo := []string{ref.String()}
	for len(todo) > 0 && len(items) < 1000 {
		current := todo
		todo = nil
		bodies, err := s.EntitiesByRefs(ctx, current, nil)
		if err != nil {
			return nil, err
		}
		parents := map[string][]string{}
		err = queryIn(ctx, s.db, `SELECT target_entity_ref, source_entity_ref FROM catalog_refresh_references WHERE source_entity_ref IS NOT NULL AND target_entity_ref IN (`, current, "", func(rows *sql.Rows) error {
			var t, p string
			err := rows.Scan(&t, &p)
			parents[t] = append(parents[t], p)
			return err
		})
		if err != nil {
			return nil, err
		}
		for i, r := range current {
			if seen[r] || bodies[i] == nil {
				continue
			}
			seen[r] = true
			ps := parents[r]
			if ps == nil {
				ps = []string{}
			}
			items = append(items, AncestryItem{Entity: bodies[i], ParentEntityRefs: ps})
			todo = append(todo, ps...)
		}
	}
	return items, nil
}

// trace hands a read query to the tracer, if one is set (the scale
// benchmark prints the plans of the queries it times).
func (s *Service) trace(ctx context.Context, query string, args []any) {
	if s.tracer != nil {
		s.tracer(ctx, query, args)
	}
}
