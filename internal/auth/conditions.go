package auth

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Conditional is the decision "allowed for the resources that meet a
// condition": the plugin that owns the resources applies it.
const Conditional Decision = "CONDITIONAL"

// Condition is the criteria of a conditional decision, in Backstage's
// permission criteria form: one rule of a resource type with its
// parameters, or a combination of conditions.
type Condition struct {
	Rule         string         `json:"rule,omitempty" yaml:"rule"`
	ResourceType string         `json:"resourceType,omitempty" yaml:"resourceType"`
	Params       map[string]any `json:"params,omitempty" yaml:"params"`
	AllOf        []Condition    `json:"allOf,omitempty" yaml:"allOf"`
	AnyOf        []Condition    `json:"anyOf,omitempty" yaml:"anyOf"`
	Not          *Condition     `json:"not,omitempty" yaml:"not"`
}

// ConditionalDecider is a Policy that can also answer Conditional, with the
// condition resources must meet.
type ConditionalDecider interface {
	Policy
	DecideConditional(ctx context.Context, p Principal, req Request) (Decision, *Condition, error)
}

// ConditionRules is what the plugin owning a resource type registers: the
// rules its conditions may use, and how to tell whether one resource meets
// a condition.
type ConditionRules struct {
	// PluginID is the plugin that owns the resource type ("catalog").
	PluginID string
	// Rules are the rule names conditions may use, with the parameters
	// each requires.
	Rules map[string][]string
	// Apply reports whether the resource a ref names meets the condition;
	// nil when resources have no refs (template steps), and then a
	// conditional decision on one resource is Deny.
	Apply func(ctx context.Context, resourceRef string, c *Condition) (bool, error)
	// Check, when set, rejects conditions the plugin cannot apply
	// although their rules are known (a task list can only be narrowed
	// to owners, say). It is given whole conditions of policies.
	Check func(c *Condition) error
}

type conditionRegistry struct {
	mu    sync.RWMutex
	rules map[string]ConditionRules
}

// RegisterConditions declares the condition rules of a resource type;
// conditional decisions on resources of that type are applied through it.
func (ps *Permissions) RegisterConditions(resourceType string, rules ConditionRules) {
	ps.conditions.mu.Lock()
	defer ps.conditions.mu.Unlock()
	if ps.conditions.rules == nil {
		ps.conditions.rules = map[string]ConditionRules{}
	}
	ps.conditions.rules[resourceType] = rules
}

// ConditionRules returns what RegisterConditions declared for a resource
// type.
func (ps *Permissions) ConditionRules(resourceType string) (ConditionRules, bool) {
	ps.conditions.mu.RLock()
	defer ps.conditions.mu.RUnlock()
	r, ok := ps.conditions.rules[resourceType]
	return r, ok
}

// DecideConditional answers a request the way lists need it: Allow, Deny,
// or Conditional with the condition the listed resources must meet. A
// service token's access restrictions are applied first.
func (ps *Permissions) DecideConditional(ctx context.Context, p Principal, req Request) (Decision, *Condition, error) {
	if !ps.restrictionsAllow(p, req) {
		return Deny, nil, nil
	}
	policy := *ps.policy.Load()
	cp, ok := policy.(ConditionalDecider)
	if !ok {
		d, err := policy.Decide(ctx, p, req)
		return d, nil, err
	}
	return cp.DecideConditional(ctx, p, req)
}

// resolve turns a conditional decision on one resource into Allow or
// Deny by asking the plugin that owns the resource type. Without a
// resource, or with no plugin to ask, it is Deny.
func (ps *Permissions) resolve(ctx context.Context, req Request, c *Condition) (Decision, error) {
	rules, ok := ps.ConditionRules(req.Permission.ResourceType)
	if req.ResourceRef == "" || !ok || rules.Apply == nil || c == nil {
		return Deny, nil
	}
	met, err := rules.Apply(ctx, req.ResourceRef, c)
	if err != nil {
		return Deny, fmt.Errorf("apply the conditions of %s to %s: %w", req.Permission.Name, req.ResourceRef, err)
	}
	if met {
		return Allow, nil
	}
	return Deny, nil
}

// ValidateCondition checks a condition against the rules registered for
// its resource types: every rule known, every required parameter given.
// at names the condition in errors.
func (ps *Permissions) ValidateCondition(c *Condition, at string) error {
	n := 0
	if c.Rule != "" {
		n++
	}
	if c.AllOf != nil {
		n++
	}
	if c.AnyOf != nil {
		n++
	}
	if c.Not != nil {
		n++
	}
	if n != 1 {
		return fmt.Errorf("%s: a condition is exactly one of rule, allOf, anyOf or not", at)
	}
	switch {
	case c.Not != nil:
		return ps.ValidateCondition(c.Not, at+".not")
	case c.AllOf != nil || c.AnyOf != nil:
		list, name := c.AllOf, "allOf"
		if c.AnyOf != nil {
			list, name = c.AnyOf, "anyOf"
		}
		if len(list) == 0 {
			return fmt.Errorf("%s.%s: empty; give at least one condition", at, name)
		}
		for i := range list {
			if err := ps.ValidateCondition(&list[i], fmt.Sprintf("%s.%s[%d]", at, name, i)); err != nil {
				return err
			}
		}
		return nil
	}
	rules, ok := ps.ConditionRules(c.ResourceType)
	if !ok {
		return fmt.Errorf("%s.resourceType: %q has no conditional rules in Portico", at, c.ResourceType)
	}
	params, ok := rules.Rules[c.Rule]
	if !ok {
		return fmt.Errorf("%s.rule: %q is not a rule of %s; use one of %v", at, c.Rule, c.ResourceType, ruleNames(rules.Rules))
	}
	for _, p := range params {
		if _, ok := c.Params[p]; !ok {
			return fmt.Errorf("%s.params.%s: missing; rule %s needs it", at, p, c.Rule)
		}
	}
	return nil
}

// Eval reports whether a resource meets c: leaf tests one rule with its
// parameters against the resource, and Eval combines the answers.
func (c *Condition) Eval(leaf func(rule string, params map[string]any) (bool, error)) (bool, error) {
	switch {
	case c.Not != nil:
		met, err := c.Not.Eval(leaf)
		return !met, err
	case c.AllOf != nil:
		for i := range c.AllOf {
			if met, err := c.AllOf[i].Eval(leaf); err != nil || !met {
				return false, err
			}
		}
		return true, nil
	case c.AnyOf != nil:
		for i := range c.AnyOf {
			if met, err := c.AnyOf[i].Eval(leaf); err != nil || met {
				return met, err
			}
		}
		return false, nil
	}
	return leaf(c.Rule, c.Params)
}

func ruleNames(rules map[string][]string) []string {
	return slices.Sorted(maps.Keys(rules))
}
