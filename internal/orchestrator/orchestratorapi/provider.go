package orchestratorapi

import (
	"context"
	"log/slog"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/orchestrator"
)

// Defaults of the entity provider, as the RHDH orchestrator plugin has
// them (orchestrator.catalog.owner and orchestrator.catalog.environment).
const (
	DefaultCatalogOwner       = "orchestrator"
	DefaultCatalogEnvironment = "development"

	// WorkflowEntityType is spec.type of a workflow's entity.
	WorkflowEntityType = "workflow"
	// ProviderName is the provider's name, which the catalog records as
	// the source of its entities.
	ProviderName = "OrchestratorEntityProvider"
)

// EntityProvider publishes every deployed workflow as a catalog entity, as
// RHDH's orchestrator entity provider does: a Template
// (scaffolder.backstage.io/v1beta3) of spec.type "workflow", named after
// the workflow id, tagged with its category, whose locations point at the
// runtime. It follows the registry: a workflow file added, changed or
// removed shows in the catalog within one poll.
type EntityProvider struct {
	Registry *orchestrator.Registry
	// ServiceURL is where the runtime API is reached.
	ServiceURL  string
	Owner       string
	Environment string
	// Interval is how often the registry is compared with what was
	// published (default 1s; the registry itself reloads files every
	// second).
	Interval time.Duration
	Logger   *slog.Logger
}

// Name implements catalog.EntityProvider.
func (p *EntityProvider) Name() string { return ProviderName }

// Connect implements catalog.EntityProvider: it publishes the workflows
// now and keeps them in sync until ctx ends.
func (p *EntityProvider) Connect(ctx context.Context, conn catalog.ProviderConnection) error {
	last := p.stamp()
	if err := conn.ApplyMutation(ctx, catalog.FullMutation{Entities: p.Entities()}); err != nil {
		return err
	}
	interval := p.Interval
	if interval <= 0 {
		interval = time.Second
	}
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			now := p.stamp()
			if now == last {
				continue
			}
			if err := conn.ApplyMutation(ctx, catalog.FullMutation{Entities: p.Entities()}); err != nil {
				if ctx.Err() == nil && p.Logger != nil {
					p.Logger.Error("publish workflows to the catalog", "err", err)
				}
				continue
			}
			last = now
		}
	}()
	return nil
}

// stamp identifies the set of deployed workflow versions.
func (p *EntityProvider) stamp() string {
	var b strings.Builder
	for _, wf := range p.Registry.List() {
		b.WriteString(wf.ID)
		b.WriteByte(0)
		b.WriteString(wf.Hash)
		b.WriteByte(0)
	}
	return b.String()
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// EntityName turns a workflow id into an entity name: spaces (and any
// other character an entity name cannot hold) become underscores.
func EntityName(workflowID string) string {
	n := unsafeName.ReplaceAllString(workflowID, "_")
	if len(n) > 63 {
		n = n[:63]
	}
	return strings.TrimRight(strings.TrimLeft(n, "._-"), "._-")
}

// Entities returns the entities of the deployed workflows.
func (p *EntityProvider) Entities() []catalog.DeferredEntity {
	owner := p.Owner
	if owner == "" {
		owner = DefaultCatalogOwner
	}
	env := p.Environment
	if env == "" {
		env = DefaultCatalogEnvironment
	}
	base := strings.TrimRight(p.ServiceURL, "/")
	var out []catalog.DeferredEntity
	seen := map[string]bool{}
	for _, wf := range p.Registry.List() {
		name := EntityName(wf.ID)
		if name == "" || seen[name] {
			continue // two ids that sanitize alike: the first one wins
		}
		seen[name] = true
		d := wf.Definition.W
		source := base + "/management/processes/" + name + "/source"
		e := &catalog.Entity{
			APIVersion: "scaffolder.backstage.io/v1beta3",
			Kind:       "Template",
			Metadata: catalog.Metadata{
				Name:        name,
				Namespace:   "default",
				Title:       d.Name,
				Description: d.Description,
				Tags:        []string{Category(d.Annotations)},
				Annotations: map[string]string{
					catalog.AnnotationManagedByLocation:       "url:" + base,
					catalog.AnnotationManagedByOriginLocation: "url:" + base,
					catalog.AnnotationSourceLocation:          "url:" + source,
					catalog.AnnotationViewURL:                 source,
				},
			},
			Spec: map[string]any{"owner": owner, "type": WorkflowEntityType, "steps": []any{}},
		}
		if e.Metadata.Title == "" {
			e.Metadata.Title = wf.ID
		}
		out = append(out, catalog.DeferredEntity{Entity: e, LocationKey: ProviderName + ":" + env})
	}
	slices.SortFunc(out, func(a, b catalog.DeferredEntity) int {
		return strings.Compare(a.Entity.Metadata.Name, b.Entity.Metadata.Name)
	})
	return out
}
