package notifications

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Catalog is what notifications read from the catalog: entities by ref (for
// recipients and email addresses) and all users (for broadcast mail).
type Catalog interface {
	// EntitiesByRefs returns the JSON of each ref, nil where the catalog
	// has none, in the order of refs.
	EntitiesByRefs(ctx context.Context, refs []string) ([]json.RawMessage, error)
	// ListUsers calls fn with the JSON of every User entity.
	ListUsers(ctx context.Context, fn func(entity []byte) error) error
}

// RecipientResolver turns entity refs into the user refs that receive a
// notification. The catalog resolver is the default; another (a directory,
// an on-call schedule) can replace it.
type RecipientResolver interface {
	Resolve(ctx context.Context, refs, exclude []string) ([]string, error)
}

// entityView is the part of an entity recipients and mail need.
type entityView struct {
	Kind     string `json:"kind"`
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Spec struct {
		Profile struct {
			Email string `json:"email"`
		} `json:"profile"`
	} `json:"spec"`
	Relations []struct {
		Type      string `json:"type"`
		TargetRef string `json:"targetRef"`
	} `json:"relations"`
}

// normalizeRef returns ref as the catalog stores it (lower case, with the
// default namespace), or false when it names no kind.
func normalizeRef(ref string) (string, bool) {
	ref = strings.ToLower(strings.TrimSpace(ref))
	kind, rest, ok := strings.Cut(ref, ":")
	if !ok || kind == "" || rest == "" {
		return "", false
	}
	if !strings.Contains(rest, "/") {
		rest = "default/" + rest
	}
	return kind + ":" + rest, true
}

func isUserRef(ref string) bool { return strings.HasPrefix(ref, "user:") }

// CatalogResolver resolves recipients as Backstage does: a user ref is a
// recipient (whether or not the catalog knows it), a group stands for its
// members and, recursively, its child groups, any other entity for its
// owner; excluded refs are skipped at every level and refs the catalog does
// not know are dropped. Each level of the walk is one catalog query, and a
// ref is visited once, so membership cycles end.
type CatalogResolver struct {
	Catalog Catalog
}

// Resolve implements RecipientResolver.
func (r CatalogResolver) Resolve(ctx context.Context, refs, exclude []string) ([]string, error) {
	excluded := map[string]bool{}
	for _, ref := range exclude {
		if n, ok := normalizeRef(ref); ok {
			excluded[n] = true
		}
	}
	seen := map[string]bool{}
	var users []string
	var queue []string
	visit := func(ref string) {
		n, ok := normalizeRef(ref)
		if !ok || excluded[n] || seen[n] {
			return
		}
		seen[n] = true
		if isUserRef(n) {
			users = append(users, n)
			return
		}
		queue = append(queue, n)
	}
	for _, ref := range refs {
		visit(ref)
	}
	for len(queue) > 0 {
		level := queue
		queue = nil
		entities, err := r.Catalog.EntitiesByRefs(ctx, level)
		if err != nil {
			return nil, fmt.Errorf("resolve recipients: %w", err)
		}
		for _, raw := range entities {
			if raw == nil {
				continue // unknown refs are dropped
			}
			var e entityView
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, fmt.Errorf("resolve recipients: %w", err)
			}
			if strings.EqualFold(e.Kind, "group") {
				for _, rel := range e.Relations {
					switch {
					case rel.Type == "hasMember" && isUserRef(strings.ToLower(rel.TargetRef)):
						visit(rel.TargetRef)
					case rel.Type == "parentOf":
						visit(rel.TargetRef)
					}
				}
				continue
			}
			for _, rel := range e.Relations {
				if rel.Type == "ownedBy" {
					visit(rel.TargetRef)
					break
				}
			}
		}
	}
	return users, nil
}
