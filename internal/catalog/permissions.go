package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/internal/auth"
)

// ResourceTypeEntity is the resource type of the catalog's entity
// permissions, which conditional decisions name.
const ResourceTypeEntity = "catalog-entity"

// PermissionRules are the catalog's conditional rules, as Backstage's
// catalog names them, with the parameters each requires.
var PermissionRules = map[string][]string{
	"HAS_ANNOTATION":  {"annotation"},
	"HAS_LABEL":       {"label"},
	"HAS_METADATA":    {"key"},
	"HAS_SPEC":        {"key"},
	"IS_ENTITY_KIND":  {"kinds"},
	"IS_ENTITY_OWNER": {"claims"},
}

// ConditionRules is what the catalog registers with the permission hook:
// its rules, and how one entity is checked against a condition (the
// condition becomes a filter, and the entity is looked up with it).
func (s *Service) ConditionRules() auth.ConditionRules {
	return auth.ConditionRules{
		PluginID: "catalog",
		Rules:    PermissionRules,
		Apply: func(ctx context.Context, ref string, c *auth.Condition) (bool, error) {
			f, err := ConditionFilter(c)
			if err != nil {
				return false, err
			}
			found, err := s.EntitiesByRefs(ctx, []string{ref}, &f)
			if err != nil {
				return false, err
			}
			return found[0] != nil, nil
		},
	}
}

// ConditionFilter turns the criteria of a conditional decision into the
// filter of the entities that meet them.
func ConditionFilter(c *auth.Condition) (Filter, error) {
	switch {
	case c.Not != nil:
		inner, err := ConditionFilter(c.Not)
		if err != nil {
			return Filter{}, err
		}
		return Filter{Op: opNot, Not: &inner}, nil
	case c.AllOf != nil || c.AnyOf != nil:
		list, combine := c.AllOf, AllOf
		if c.AnyOf != nil {
			list, combine = c.AnyOf, AnyOf
		}
		fs := make([]Filter, len(list))
		for i := range list {
			f, err := ConditionFilter(&list[i])
			if err != nil {
				return Filter{}, err
			}
			fs[i] = f
		}
		return combine(fs...), nil
	}
	if c.ResourceType != "" && c.ResourceType != ResourceTypeEntity {
		return Filter{}, fmt.Errorf("rule %s of resource type %s does not apply to catalog entities", c.Rule, c.ResourceType)
	}
	switch c.Rule {
	case "HAS_ANNOTATION":
		return keyParam(c, "metadata.annotations.", "annotation")
	case "HAS_LABEL":
		return keyParam(c, "metadata.labels.", "label")
	case "HAS_METADATA":
		return keyParam(c, "metadata.", "key")
	case "HAS_SPEC":
		return keyParam(c, "spec.", "key")
	case "IS_ENTITY_KIND":
		return oneOf(c, "kinds", "kind")
	case "IS_ENTITY_OWNER":
		return oneOf(c, "claims", "relations."+strings.ToLower(RelationOwnedBy))
	}
	return Filter{}, fmt.Errorf("%q is not a catalog permission rule", c.Rule)
}

// keyParam is the filter of the rules that test one key (named by param)
// below prefix, and its value when the condition gives one.
func keyParam(c *auth.Condition, prefix, param string) (Filter, error) {
	key, ok := c.Params[param].(string)
	if !ok || key == "" {
		return Filter{}, fmt.Errorf("rule %s: params.%s must be a non-empty string", c.Rule, param)
	}
	switch v := c.Params["value"].(type) {
	case nil:
		return KeyFilter(prefix + key), nil
	case string:
		return KeyFilter(prefix+key, v), nil
	default:
		return Filter{}, fmt.Errorf("rule %s: params.value must be a string", c.Rule)
	}
}

// oneOf is the filter of the rules that list the values key may have in
// param. An empty list matches nothing (a key filter without values would
// match every entity that has the key).
func oneOf(c *auth.Condition, param, key string) (Filter, error) {
	var values []string
	switch list := c.Params[param].(type) {
	case []string:
		values = list
	case []any:
		for i, v := range list {
			s, ok := v.(string)
			if !ok {
				return Filter{}, fmt.Errorf("rule %s: params.%s[%d] must be a string", c.Rule, param, i)
			}
			values = append(values, s)
		}
	default:
		return Filter{}, fmt.Errorf("rule %s: params.%s must be a list of strings", c.Rule, param)
	}
	if len(values) == 0 {
		return AnyOf(), nil
	}
	return KeyFilter(key, values...), nil
}

// andFilter is a AND b, where either may be nil (no condition).
func andFilter(a, b *Filter) *Filter {
	switch {
	case a == nil:
		return b
	case b == nil:
		return a
	}
	f := AllOf(*a, *b)
	return &f
}
