package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/scaffolder"
)

func catalogRegister(cat Catalog) scaffolder.Action {
	return scaffolder.Action{
		ID:          "catalog:register",
		Description: "Registers a catalog-info file with the catalog.",
		Examples: []scaffolder.ActionExample{{
			Description: "Register the published repository's catalog-info.yaml",
			Example: lines("steps:", "  - id: register", "    action: catalog:register", "    input:",
				"      repoContentsUrl: ${{ steps.publish.output.repoContentsUrl }}", "      catalogInfoPath: /catalog-info.yaml"),
		}},
		Schema: scaffolder.ActionSchema{
			Input: map[string]any{"oneOf": []any{
				schema("Catalog Info URL", []string{"catalogInfoUrl"}, map[string]any{
					"catalogInfoUrl": prop("string", "An absolute URL pointing to the catalog info file location."),
					"optional":       prop("boolean", "Permit the registered location to optionally exist (default false)."),
				}),
				schema("Repository Contents URL", []string{"repoContentsUrl"}, map[string]any{
					"repoContentsUrl": prop("string", "An absolute URL pointing to the root of a repository directory tree."),
					"catalogInfoPath": prop("string", "A relative path from the repo root pointing to the catalog info file (default /catalog-info.yaml)."),
					"optional":        prop("boolean", "Permit the registered location to optionally exist (default false)."),
				}),
			}},
			Output: schema("", []string{"catalogInfoUrl"}, map[string]any{
				"entityRef":      prop("string", "The reference of the registered entity."),
				"catalogInfoUrl": prop("string", "The URL of the registered catalog info file."),
			}),
		},
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				CatalogInfoURL  string `json:"catalogInfoUrl"`
				RepoContentsURL string `json:"repoContentsUrl"`
				CatalogInfoPath string `json:"catalogInfoPath"`
				Optional        bool   `json:"optional"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			target := in.CatalogInfoURL
			if target == "" {
				if in.RepoContentsURL == "" {
					return errors.New("input.catalogInfoUrl: required; give catalogInfoUrl, or repoContentsUrl (and catalogInfoPath)")
				}
				p := in.CatalogInfoPath
				if p == "" {
					p = "/catalog-info.yaml"
				}
				target = strings.TrimRight(in.RepoContentsURL, "/") + "/" + strings.TrimLeft(p, "/")
			}
			spec, err := locationSpec(target)
			if err != nil {
				return err
			}
			spec.Presence = "required"
			if in.Optional {
				spec.Presence = "optional"
			}
			ac.Logger.Info("Registering " + target + " in the catalog")
			raw, err := ac.Checkpoint(ctx, "catalog.register."+target, func(ctx context.Context) (json.RawMessage, error) {
				_, err := cat.AddLocation(ctx, spec, catalog.AddLocationOptions{})
				switch {
				case errs.Is(err, errs.Conflict):
					// Registered already, by an earlier run of this task
					// that did not record it, or by someone else: the
					// location is there either way.
					ac.Logger.Info("The location is registered already")
				case err != nil && !in.Optional:
					return nil, fmt.Errorf("register %s: %w", target, err)
				case err != nil:
					ac.Logger.Warn(fmt.Sprintf("Could not register %s (optional): %v", target, err))
				}
				ref := ""
				res, err := cat.AddLocation(ctx, spec, catalog.AddLocationOptions{DryRun: true})
				switch {
				case err != nil && !in.Optional:
					return nil, fmt.Errorf("read the entities of %s: %w", target, err)
				case err == nil:
					ref = mainEntityRef(res.Entities)
				}
				return json.Marshal(map[string]string{"entityRef": ref})
			})
			if err != nil {
				return err
			}
			var out struct {
				EntityRef string `json:"entityRef"`
			}
			if err := json.Unmarshal(raw, &out); err != nil {
				return fmt.Errorf("catalog:register checkpoint: %w", err)
			}
			if out.EntityRef != "" {
				ac.Output("entityRef", out.EntityRef)
			}
			ac.Output("catalogInfoUrl", target)
			return nil
		},
	}
}

// locationSpec turns a catalogInfoUrl into a location: http(s) URLs are
// url locations; "type:target" names another location type the catalog
// reads (such as local-git: for repositories publish:git made locally).
func locationSpec(target string) (catalog.LocationSpec, error) {
	u, err := url.Parse(target)
	if err != nil || u.Scheme == "" {
		return catalog.LocationSpec{}, fmt.Errorf("input.catalogInfoUrl: %q is not an absolute URL", target)
	}
	switch u.Scheme {
	case "http", "https":
		return catalog.LocationSpec{Type: "url", Target: target}, nil
	case "file":
		return catalog.LocationSpec{}, fmt.Errorf("input.catalogInfoUrl: %q: file:// locations cannot be registered; publish the repository and register its URL", target)
	}
	typ, rest, _ := strings.Cut(target, ":")
	return catalog.LocationSpec{Type: typ, Target: rest}, nil
}

// mainEntityRef picks the entity a registered file is about, as Backstage
// does: a Component first, else any entity that is not a generated
// Location, else the first.
func mainEntityRef(entities []*catalog.Entity) string {
	if len(entities) == 0 {
		return ""
	}
	pick := func(ok func(*catalog.Entity) bool) *catalog.Entity {
		for _, e := range entities {
			if !strings.HasPrefix(e.Metadata.Name, "generated-") && ok(e) {
				return e
			}
		}
		return nil
	}
	e := pick(func(e *catalog.Entity) bool { return e.Kind == "Component" })
	if e == nil {
		e = pick(func(*catalog.Entity) bool { return true })
	}
	if e == nil {
		e = entities[0]
	}
	ns := e.Metadata.Namespace
	if ns == "" {
		ns = catalog.DefaultNamespace
	}
	return strings.ToLower(e.Kind) + ":" + strings.ToLower(ns) + "/" + e.Metadata.Name
}

func catalogWrite() scaffolder.Action {
	return scaffolder.Action{
		ID:          "catalog:write",
		Description: "Writes the catalog-info.yaml for your template.",
		Examples: []scaffolder.ActionExample{{
			Description: "Write a catalog-info.yaml",
			Example: lines("steps:", "  - id: write", "    action: catalog:write", "    input:", "      entity:",
				"        apiVersion: backstage.io/v1alpha1", "        kind: Component", "        metadata:", "          name: ${{ parameters.name }}",
				"        spec:", "          type: service", "          lifecycle: experimental", "          owner: ${{ parameters.owner }}"),
		}},
		Schema: scaffolder.ActionSchema{Input: schema("", []string{"entity"}, map[string]any{
			"filePath": prop("string", "Where to write, relative to the workspace (default catalog-info.yaml)."),
			"entity":   map[string]any{"title": "Entity info to write catalog-info.yaml", "type": "object", "description": "The entity's YAML document."},
		})},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				FilePath string         `json:"filePath"`
				Entity   map[string]any `json:"entity"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			if in.Entity == nil {
				return errors.New("input.entity: required; give the entity to write")
			}
			if in.FilePath == "" {
				in.FilePath = "catalog-info.yaml"
			}
			name, err := targetDir("filePath", in.FilePath)
			if err != nil {
				return err
			}
			if name == "." {
				return fmt.Errorf("input.filePath: %q names the workspace itself; name a file", in.FilePath)
			}
			data, err := entityYAML(in.Entity)
			if err != nil {
				return fmt.Errorf("input.entity: %w", err)
			}
			ac.Logger.Info("Writing " + name)
			if err := writeFile(ac.Workspace, name, bytes.NewReader(data), 0o644); err != nil {
				return fmt.Errorf("write %s: %w", name, err)
			}
			return nil
		},
	}
}

// entityYAML writes an entity with its envelope keys first (apiVersion,
// kind, metadata, spec), as people write them, and other keys sorted.
func entityYAML(entity map[string]any) ([]byte, error) {
	var doc yaml.Node
	if err := doc.Encode(entity); err != nil {
		return nil, err
	}
	rank := map[string]int{"apiVersion": 0, "kind": 1, "metadata": 2, "spec": 3}
	type pair struct{ k, v *yaml.Node }
	var pairs []pair
	for i := 0; i+1 < len(doc.Content); i += 2 {
		pairs = append(pairs, pair{doc.Content[i], doc.Content[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int {
		ra, oka := rank[a.k.Value]
		rb, okb := rank[b.k.Value]
		switch {
		case oka && okb:
			return ra - rb
		case oka:
			return -1
		case okb:
			return 1
		}
		return strings.Compare(a.k.Value, b.k.Value)
	})
	doc.Content = doc.Content[:0]
	for _, p := range pairs {
		doc.Content = append(doc.Content, p.k, p.v)
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func catalogFetch(cat Catalog) scaffolder.Action {
	return scaffolder.Action{
		ID:          "catalog:fetch",
		Description: "Returns entities from the catalog by entity reference(s).",
		Examples: []scaffolder.ActionExample{{
			Description: "Fetch the owner group",
			Example: lines("steps:", "  - id: owner", "    action: catalog:fetch", "    input:",
				"      entityRef: ${{ parameters.owner }}", "      defaultKind: Group"),
		}},
		Schema: scaffolder.ActionSchema{
			Input: schema("", nil, map[string]any{
				"entityRef":        prop("string", "Entity reference of the entity to get."),
				"entityRefs":       stringList("Entity references of the entities to get."),
				"optional":         prop("boolean", "Allow the entity or entities to be missing (default false)."),
				"defaultKind":      prop("string", "The kind a reference without one has."),
				"defaultNamespace": prop("string", "The namespace a reference without one has (default: default)."),
			}),
			Output: schema("", nil, map[string]any{
				"entity":   map[string]any{"title": "The entity", "type": "object"},
				"entities": map[string]any{"title": "The entities (null for a missing optional one)", "type": "array"},
			}),
		},
		SupportsDryRun: true,
		Handler: func(ctx context.Context, ac *scaffolder.ActionContext) error {
			var in struct {
				EntityRef        string   `json:"entityRef"`
				EntityRefs       []string `json:"entityRefs"`
				Optional         bool     `json:"optional"`
				DefaultKind      string   `json:"defaultKind"`
				DefaultNamespace string   `json:"defaultNamespace"`
			}
			if err := decodeInput(ac.Input, &in); err != nil {
				return err
			}
			if in.EntityRef == "" && in.EntityRefs == nil {
				return errors.New("input.entityRef: required; give entityRef or entityRefs")
			}
			if in.DefaultNamespace == "" {
				in.DefaultNamespace = catalog.DefaultNamespace
			}
			get := func(field, s string) (any, error) {
				ref, err := catalog.ParseRef(s, catalog.RefDefaults{Kind: in.DefaultKind, Namespace: in.DefaultNamespace})
				if err != nil {
					return nil, fmt.Errorf("input.%s: %w", field, err)
				}
				if ref.Kind == "" {
					return nil, fmt.Errorf("input.%s: %q has no kind; write kind:namespace/name or set defaultKind", field, s)
				}
				data, err := cat.EntityJSON(ctx, ref)
				if errs.Is(err, errs.NotFound) {
					if in.Optional {
						return nil, nil
					}
					return nil, fmt.Errorf("input.%s: entity %s not found", field, s)
				}
				if err != nil {
					return nil, err
				}
				var v any
				if err := json.Unmarshal(data, &v); err != nil {
					return nil, fmt.Errorf("entity %s: %w", s, err)
				}
				return v, nil
			}
			if in.EntityRef != "" {
				e, err := get("entityRef", in.EntityRef)
				if err != nil {
					return err
				}
				if e != nil {
					ac.Output("entity", e)
				}
			}
			if in.EntityRefs != nil {
				list := make([]any, 0, len(in.EntityRefs))
				for i, s := range in.EntityRefs {
					e, err := get(fmt.Sprintf("entityRefs[%d]", i), s)
					if err != nil {
						return err
					}
					list = append(list, e)
				}
				ac.Output("entities", list)
			}
			return nil
		},
	}
}
