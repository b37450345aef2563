package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"path"
	"strings"

	"github.com/portico-dev/portico/internal/errs"
)

// ValidateEntity runs the catalog's processing over an entity as if it had
// been read from location (a url: location reference) and returns what is
// wrong with it; nothing is stored.
func (s *Service) ValidateEntity(ctx context.Context, raw json.RawMessage, location string) []error {
	loc, err := ParseLocationRef(location)
	if err != nil {
		return []error{err}
	}
	if loc.Type != "url" {
		return []error{errs.InputErrorf("invalid location reference %q: only url: locations can be validated against", location)}
	}
	if len(raw) == 0 || string(raw) == "null" {
		return []error{errs.InputErrorf("entity is required")}
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return []error{errs.InputErrorf("entity is not valid JSON: %v", err)}
	}
	e, err := DecodeEntity(v)
	if err != nil {
		return []error{err}
	}
	if e.Metadata.Annotations == nil {
		e.Metadata.Annotations = map[string]string{}
	}
	for _, a := range []string{AnnotationManagedByLocation, AnnotationManagedByOriginLocation} {
		if e.Metadata.Annotations[a] == "" {
			e.Metadata.Annotations[a] = loc.String()
		}
	}
	res := s.ingest.Pipeline.Process(ctx, e, loc)
	out := make([]error, len(res.Errors))
	for i, ee := range res.Errors {
		out[i] = ee.Err
	}
	return out
}

// AnalyzeResult is the answer of POST /analyze-location.
type AnalyzeResult struct {
	ExistingEntityFiles []ExistingEntityFile `json:"existingEntityFiles"`
	GenerateEntities    []GeneratedEntity    `json:"generateEntities"`
}

// ExistingEntityFile is an entity found at the analyzed location.
type ExistingEntityFile struct {
	Entity       *Entity      `json:"entity"`
	IsRegistered bool         `json:"isRegistered"`
	Location     LocationSpec `json:"location"`
}

// GeneratedEntity is an entity suggested for a location without a catalog
// file, with the fields the user should fill in.
type GeneratedEntity struct {
	Entity map[string]any  `json:"entity"`
	Fields []AnalyzedField `json:"fields"`
}

// AnalyzedField describes one suggested field.
type AnalyzedField struct {
	Field       string  `json:"field"`
	State       string  `json:"state"`
	Value       *string `json:"value"`
	Description string  `json:"description"`
}

// AnalyzeLocation looks at a URL (a catalog file, or a repository that may
// hold one) and reports the entities found there, or suggests one.
func (s *Service) AnalyzeLocation(ctx context.Context, spec LocationSpec, catalogFile string) (*AnalyzeResult, error) {
	if err := s.checkRegistrable(spec); err != nil {
		return nil, err
	}
	if catalogFile == "" {
		catalogFile = "catalog-info.yaml"
	}
	target := spec
	if ext := path.Ext(strings.ToLower(spec.Target)); ext != ".yaml" && ext != ".yml" && spec.Type == "url" {
		u, err := url.Parse(spec.Target)
		if err != nil {
			return nil, errs.InputErrorf("invalid URL %q", spec.Target)
		}
		base := strings.TrimSuffix(u.Path, "/")
		if u.Host == "github.com" && strings.Count(base, "/") == 2 {
			u.Path = base + "/blob/HEAD/" + catalogFile
		} else {
			u.Path = base + "/" + catalogFile
		}
		target.Target = u.String()
	}
	res := &AnalyzeResult{ExistingEntityFiles: []ExistingEntityFile{}, GenerateEntities: []GeneratedEntity{}}
	data, err := s.sources.Read(ctx, target)
	if err != nil && errs.KindOf(err) != errs.NotFound {
		return nil, err
	}
	if err == nil {
		docs, err := ParseYAML(data)
		if err != nil {
			return nil, err
		}
		registered := false
		if _, err := s.locationID(ctx, target); err == nil {
			registered = true
		}
		for _, d := range docs {
			e, err := d.Entity()
			if err != nil {
				return nil, err
			}
			res.ExistingEntityFiles = append(res.ExistingEntityFiles, ExistingEntityFile{Entity: e, IsRegistered: registered, Location: target})
		}
		return res, nil
	}
	name := path.Base(strings.TrimSuffix(strings.TrimSuffix(spec.Target, "/"), ".git"))
	res.GenerateEntities = append(res.GenerateEntities, GeneratedEntity{
		Entity: map[string]any{
			"apiVersion": APIVersionV1alpha1,
			"kind":       "Component",
			"metadata":   map[string]any{"name": name},
			"spec":       map[string]any{"type": "other", "lifecycle": "unknown"},
		},
		Fields: []AnalyzedField{{Field: "spec.owner", State: "needsUserInput", Description: "Entity owner is recommended"}},
	})
	return res, nil
}

func (s *Service) locationID(ctx context.Context, spec LocationSpec) (string, error) {
	var id string
	err := s.db.QueryRowContext(ctx, `SELECT id FROM catalog_locations WHERE type = $1 AND target = $2`, spec.Type, spec.Target).Scan(&id)
	return id, err
}
