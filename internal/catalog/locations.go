package catalog

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

// Location is a registered location, as the API shows it.
type Location struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Target    string `json:"target"`
	EntityRef string `json:"entityRef,omitempty"`
}

func locationOf(id string, spec LocationSpec) Location {
	return Location{ID: id, Type: spec.Type, Target: spec.Target,
		EntityRef: "location:" + DefaultNamespace + "/" + GeneratedLocationName(spec)}
}

// Locations lists the registered locations, oldest first.
func (s *Service) Locations(ctx context.Context) ([]Location, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, type, target FROM catalog_locations ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("list locations: %w", err)
	}
	defer rows.Close()
	out := []Location{}
	for rows.Next() {
		var id string
		var spec LocationSpec
		if err := rows.Scan(&id, &spec.Type, &spec.Target); err != nil {
			return nil, err
		}
		out = append(out, locationOf(id, spec))
	}
	return out, rows.Err()
}

// LocationByID returns a registered location or a NotFound error.
func (s *Service) LocationByID(ctx context.Context, id string) (Location, error) {
	var spec LocationSpec
	err := s.db.QueryRowContext(ctx, `SELECT type, target FROM catalog_locations WHERE id = $1`, id).Scan(&spec.Type, &spec.Target)
	if err == sql.ErrNoRows {
		return Location{}, errs.NotFoundf("found no location with ID %s", id)
	}
	if err != nil {
		return Location{}, fmt.Errorf("read location: %w", err)
	}
	return locationOf(id, spec), nil
}

// LocationByEntity returns the registered location an entity originates
// from, or a NotFound error.
func (s *Service) LocationByEntity(ctx context.Context, ref Ref) (Location, error) {
	var unprocessed string
	err := s.db.QueryRowContext(ctx, `SELECT unprocessed_entity FROM catalog_refresh_state WHERE entity_ref = $1`, ref.String()).Scan(&unprocessed)
	if err == sql.ErrNoRows {
		return Location{}, errs.NotFoundf("found no entity %s", ref)
	}
	if err != nil {
		return Location{}, err
	}
	var e Entity
	if err := json.Unmarshal([]byte(unprocessed), &e); err != nil {
		return Location{}, err
	}
	origin, err := ParseLocationRef(e.Metadata.Annotations[AnnotationManagedByOriginLocation])
	if err != nil {
		return Location{}, errs.NotFoundf("entity %s has no origin location", ref)
	}
	var id string
	err = s.db.QueryRowContext(ctx, `SELECT id FROM catalog_locations WHERE type = $1 AND target = $2`, origin.Type, origin.Target).Scan(&id)
	if err == sql.ErrNoRows {
		return Location{}, errs.NotFoundf("found no location for entity %s (it comes from %s, which is not a registered location)", ref, origin)
	}
	if err != nil {
		return Location{}, err
	}
	return locationOf(id, origin), nil
}

// AddLocationOptions tune AddLocation.
type AddLocationOptions struct {
	// DryRun processes the location without storing anything and returns
	// the entities it yields.
	DryRun bool
	// OnConflict is "reject" (the default: a location that exists is a
	// Conflict error) or "refresh" (the existing one is processed again).
	OnConflict string
}

// AddLocationResult is what registering a location returns.
type AddLocationResult struct {
	Location Location  `json:"location"`
	Entities []*Entity `json:"entities"`
	Exists   *bool     `json:"exists,omitempty"`
}

// checkRegistrable checks a location the API may register.
func (s *Service) checkRegistrable(spec LocationSpec) error {
	if spec.Type == "" || spec.Target == "" {
		return errs.InputErrorf("a location needs a type and a target")
	}
	if !slices.Contains(s.apiLocationTypes, spec.Type) {
		return errs.InputErrorf("registered locations must be of an allowed type [%s], got %s", strings.Join(s.apiLocationTypes, ", "), spec.Type)
	}
	if spec.Presence != "" && spec.Presence != "required" && spec.Presence != "optional" {
		return errs.InputErrorf("presence must be required or optional, got %q", spec.Presence)
	}
	if spec.Type == "url" {
		u, err := url.Parse(spec.Target)
		if err != nil || u.Host == "" {
			return errs.InputErrorf("location target %q is not an absolute URL", spec.Target)
		}
		if err := s.sources.checkAllowed(u); err != nil {
			return errs.InputErrorf("%v", err)
		}
	}
	return nil
}

// AddLocation registers a location; its entities appear as soon as the
// background processing (woken at once) has read them.
func (s *Service) AddLocation(ctx context.Context, spec LocationSpec, opts AddLocationOptions) (*AddLocationResult, error) {
	if err := s.checkRegistrable(spec); err != nil {
		return nil, err
	}
	if opts.OnConflict == "" && s.refreshOnConflict {
		opts.OnConflict = "refresh"
	}
	var existing *Location
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM catalog_locations WHERE type = $1 AND target = $2`, spec.Type, spec.Target).Scan(&id)
	switch {
	case err == nil:
		l := locationOf(id, spec)
		existing = &l
	case err != sql.ErrNoRows:
		return nil, err
	}
	if opts.DryRun {
		entities, err := s.dryRun(ctx, spec)
		if err != nil {
			return nil, err
		}
		exists := existing != nil
		loc := locationOf(uuid.NewString(), spec)
		if existing != nil {
			loc = *existing
		}
		return &AddLocationResult{Location: loc, Entities: entities, Exists: &exists}, nil
	}
	if existing != nil {
		if opts.OnConflict != "refresh" {
			return nil, errs.Conflictf("location %s already exists", spec)
		}
		if _, err := s.db.ExecContext(ctx, `UPDATE catalog_refresh_state SET result_hash = '', next_update_at = $1 WHERE entity_ref = $2`, store.Now(), strings.ToLower(existing.EntityRef)); err != nil {
			return nil, err
		}
		s.wakeProcessing()
		return &AddLocationResult{Location: *existing, Entities: []*Entity{}}, nil
	}
	id = uuid.NewString()
	if _, err := s.db.ExecContext(ctx, `INSERT INTO catalog_locations (id, type, target, created_at) VALUES ($1, $2, $3, $4)`, id, spec.Type, spec.Target, store.Now()); err != nil {
		if store.IsUniqueViolation(err) {
			return nil, errs.Conflictf("location %s already exists", spec)
		}
		return nil, fmt.Errorf("add location: %w", err)
	}
	err = s.applyMutation(ctx, locationProviderName, DeltaMutation{Added: []DeferredEntity{{Entity: LocationEntity(spec), LocationKey: spec.String()}}})
	if err != nil {
		return nil, err
	}
	return &AddLocationResult{Location: locationOf(id, spec), Entities: []*Entity{}}, nil
}

// dryRun processes a location and everything it leads to in memory.
func (s *Service) dryRun(ctx context.Context, spec LocationSpec) ([]*Entity, error) {
	queue := []*Entity{LocationEntity(spec)}
	seen := map[string]bool{}
	var out []*Entity
	for len(queue) > 0 {
		if len(out) >= 10000 {
			return nil, errs.InputErrorf("location %s yields more than 10000 entities; register it without dryRun", spec)
		}
		e := queue[0]
		queue = queue[1:]
		o := s.ingest.Process(ctx, e)
		if len(o.Errors) > 0 {
			msgs := make([]string, len(o.Errors))
			for i, err := range o.Errors {
				msgs[i] = err.Error()
			}
			return nil, errs.InputErrorf("%s: %s", e.Ref(), strings.Join(msgs, "; "))
		}
		out = append(out, o.Entity)
		for _, c := range o.Children {
			ref := c.Entity.Ref().String()
			if seen[ref] {
				return nil, errs.InputErrorf("duplicate nested entity: %s", ref)
			}
			seen[ref] = true
			queue = append(queue, c.Entity)
		}
	}
	return out, nil
}

// DeleteLocation removes a registered location; the entities it led to
// are removed with it.
func (s *Service) DeleteLocation(ctx context.Context, id string) error {
	loc, err := s.LocationByID(ctx, id)
	if err != nil {
		return err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM catalog_locations WHERE id = $1`, id); err != nil {
		return fmt.Errorf("delete location: %w", err)
	}
	return s.applyMutation(ctx, locationProviderName, DeltaMutation{Removed: []RemovedEntity{{EntityRef: loc.EntityRef}}})
}

// UpdateLocation points a registered location at another target.
func (s *Service) UpdateLocation(ctx context.Context, id string, spec LocationSpec) (Location, error) {
	old, err := s.LocationByID(ctx, id)
	if err != nil {
		return Location{}, err
	}
	if err := s.checkRegistrable(spec); err != nil {
		return Location{}, err
	}
	if _, err := s.db.ExecContext(ctx, `UPDATE catalog_locations SET type = $1, target = $2 WHERE id = $3`, spec.Type, spec.Target, id); err != nil {
		if store.IsUniqueViolation(err) {
			return Location{}, errs.Conflictf("location %s already exists", spec)
		}
		return Location{}, err
	}
	err = s.applyMutation(ctx, locationProviderName, DeltaMutation{
		Added:   []DeferredEntity{{Entity: LocationEntity(spec), LocationKey: spec.String()}},
		Removed: []RemovedEntity{{EntityRef: old.EntityRef}},
	})
	if err != nil {
		return Location{}, err
	}
	return locationOf(id, spec), nil
}

// QueryLocations returns a page of registered locations matching a
// predicate on their fields (id, type, target).
func (s *Service) QueryLocations(ctx context.Context, query *Filter, limit int, cursor string) (items []Location, total int, next string, err error) {
	all, err := s.Locations(ctx)
	if err != nil {
		return nil, 0, "", err
	}
	var matched []Location
	for _, l := range all {
		if query == nil || query.matchLocation(l) {
			matched = append(matched, l)
		}
	}
	offset := 0
	if cursor != "" {
		data, err := base64.StdEncoding.DecodeString(cursor)
		if err == nil {
			offset, err = strconv.Atoi(string(data))
		}
		if err != nil || offset < 0 {
			return nil, 0, "", errs.InputErrorf("malformed cursor")
		}
	}
	if limit <= 0 {
		limit = DefaultQueryLimit
	}
	end := min(len(matched), offset+limit)
	if offset > end {
		offset = end
	}
	if end < len(matched) {
		next = base64.StdEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	items = matched[offset:end]
	if items == nil {
		items = []Location{}
	}
	return items, len(matched), next, nil
}

// matchLocation evaluates the filter against a location's fields.
func (f *Filter) matchLocation(l Location) bool {
	switch f.Op {
	case opAll:
		for i := range f.All {
			if !f.All[i].matchLocation(l) {
				return false
			}
		}
		return true
	case opAny:
		for i := range f.Any {
			if f.Any[i].matchLocation(l) {
				return true
			}
		}
		return false
	case opNot:
		return !f.Not.matchLocation(l)
	}
	var v string
	switch strings.ToLower(f.Key) {
	case "id":
		v = l.ID
	case "type":
		v = l.Type
	case "target":
		v = l.Target
	default:
		return false
	}
	v = strings.ToLower(v)
	if f.Prefix != "" {
		return strings.HasPrefix(v, strings.ToLower(f.Prefix))
	}
	if len(f.Values) == 0 {
		return true
	}
	for _, x := range f.Values {
		if strings.ToLower(x) == v {
			return true
		}
	}
	return false
}
