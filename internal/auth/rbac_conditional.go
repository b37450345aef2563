package auth

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"
)

// ConditionalPolicy is one document of the conditional policies file, in
// Developer Hub's form: the role may do the mapped actions on resources
// of the type that meet the conditions.
type ConditionalPolicy struct {
	// ID numbers the policies made through the REST API (0 for those of
	// the file).
	ID                int64     `yaml:"-" json:"id,omitempty"`
	Result            string    `yaml:"result" json:"result"`
	RoleEntityRef     string    `yaml:"roleEntityRef" json:"roleEntityRef"`
	PluginID          string    `yaml:"pluginId" json:"pluginId"`
	ResourceType      string    `yaml:"resourceType" json:"resourceType"`
	PermissionMapping []string  `yaml:"permissionMapping" json:"permissionMapping"`
	Conditions        Condition `yaml:"conditions" json:"conditions"`
}

// ConditionalPolicies returns the conditional policies, by role (file
// ones first within a role).
func (r *RBAC) ConditionalPolicies() []ConditionalPolicy {
	rules := r.rules.Load()
	var out []ConditionalPolicy
	for _, role := range slices.Sorted(maps.Keys(rules.conditional)) {
		out = append(out, rules.conditional[role]...)
	}
	return out
}

// Aliases a conditional policy's parameters may use for the caller.
const (
	aliasCurrentUser = "$currentUser"
	aliasOwnerRefs   = "$ownerRefs"
)

// CheckConditions checks every conditional policy against the rules the
// plugins registered with ps (call it once they have started), and keeps
// ps to check the policies of later reloads.
func (r *RBAC) CheckConditions(ps *Permissions) error {
	r.perms = ps
	for _, cps := range r.rules.Load().conditional {
		for _, cp := range cps {
			where := ""
			if cp.ID == 0 {
				where = "permission.rbac.conditionalPoliciesFile " + r.conditionalFile
			}
			if err := r.checkConditional(cp, where); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkConditional checks a policy's conditions against the registered
// rules; where names it in errors (the file, or nothing for the API).
func (r *RBAC) checkConditional(cp ConditionalPolicy, where string) error {
	if r.perms == nil {
		return nil
	}
	at := fmt.Sprintf("the conditional policy of %s on %s", cp.RoleEntityRef, cp.ResourceType)
	if where != "" {
		at = where + ": " + at
	}
	rules, ok := r.perms.ConditionRules(cp.ResourceType)
	if !ok {
		return fmt.Errorf("%s: resourceType: %q has no conditional rules in Portico", at, cp.ResourceType)
	}
	if err := r.perms.ValidateCondition(&cp.Conditions, at+": conditions"); err != nil {
		return err
	}
	if rules.Check != nil {
		if err := rules.Check(&cp.Conditions); err != nil {
			return fmt.Errorf("%s: conditions: %w", at, err)
		}
	}
	return nil
}

// readConditional reads the conditional policies file: one policy per
// YAML document.
func (r *RBAC) readConditional() ([]ConditionalPolicy, time.Time, error) {
	at := "permission.rbac.conditionalPoliciesFile"
	f, err := os.Open(r.conditionalFile)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("%s: %w", at, err)
	}
	defer f.Close()
	var modTime time.Time
	if st, err := f.Stat(); err == nil {
		modTime = st.ModTime()
	}
	at += " " + r.conditionalFile
	var out []ConditionalPolicy
	dec := yaml.NewDecoder(f)
	for doc := 1; ; doc++ {
		var cp ConditionalPolicy
		err := dec.Decode(&cp)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: document %d: %w", at, doc, err)
		}
		if cp.Result == "" && cp.RoleEntityRef == "" {
			continue // an empty document
		}
		if err := checkConditionalShape(&cp); err != nil {
			return nil, time.Time{}, fmt.Errorf("%s: document %d: %w", at, doc, err)
		}
		if err := r.checkConditional(cp, "permission.rbac.conditionalPoliciesFile "+r.conditionalFile); err != nil {
			return nil, time.Time{}, err
		}
		out = append(out, cp)
	}
	return out, modTime, nil
}

// checkConditionalShape checks a conditional policy's own fields and
// normalises its role ref.
func checkConditionalShape(cp *ConditionalPolicy) error {
	if cp.Result != string(Conditional) {
		return fmt.Errorf("result: %q; a conditional policy's result is CONDITIONAL", cp.Result)
	}
	role, err := rbacRef(cp.RoleEntityRef, "role")
	if err != nil {
		return fmt.Errorf("roleEntityRef: %w", err)
	}
	cp.RoleEntityRef = role
	if cp.PluginID == "" {
		return errors.New("pluginId: missing; name the plugin that owns the resource type (catalog)")
	}
	if cp.ResourceType == "" {
		return errors.New("resourceType: missing; name the resource type (catalog-entity)")
	}
	if len(cp.PermissionMapping) == 0 {
		return fmt.Errorf("permissionMapping: missing; list the actions the conditions grant (%v)", policyActions)
	}
	for i, a := range cp.PermissionMapping {
		if !slices.Contains(policyActions, a) {
			return fmt.Errorf("permissionMapping[%d]: unknown action %q; use one of %v", i, a, policyActions)
		}
	}
	return nil
}

// withAliases returns a copy of c with $currentUser replaced by the user's
// ref and $ownerRefs by the user's and their groups' refs.
func withAliases(c Condition, user string, ownerRefs []string) Condition {
	out := c
	if c.Params != nil {
		out.Params = make(map[string]any, len(c.Params))
		for k, v := range c.Params {
			out.Params[k] = aliasValue(v, user, ownerRefs)
		}
	}
	if c.Not != nil {
		not := withAliases(*c.Not, user, ownerRefs)
		out.Not = &not
	}
	for _, list := range []*[]Condition{&out.AllOf, &out.AnyOf} {
		if *list == nil {
			continue
		}
		copied := make([]Condition, len(*list))
		for i, sub := range *list {
			copied[i] = withAliases(sub, user, ownerRefs)
		}
		*list = copied
	}
	return out
}

func aliasValue(v any, user string, ownerRefs []string) any {
	switch v := v.(type) {
	case string:
		switch v {
		case aliasCurrentUser:
			return user
		case aliasOwnerRefs:
			out := make([]any, len(ownerRefs))
			for i, r := range ownerRefs {
				out[i] = r
			}
			return out
		}
		return v
	case []any:
		out := make([]any, 0, len(v))
		for _, item := range v {
			switch item {
			case aliasOwnerRefs:
				for _, r := range ownerRefs {
					out = append(out, r)
				}
			case aliasCurrentUser:
				out = append(out, user)
			default:
				out = append(out, item)
			}
		}
		return out
	}
	return v
}
