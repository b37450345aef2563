package auth

import (
	"context"
	"slices"
	"sync/atomic"

	"github.com/portico-dev/portico/internal/errs"
)

// Permission names an action a plugin guards, as Backstage's permission
// framework does ("catalog.entity.read", action "read").
type Permission struct {
	Name string `json:"name"`
	// Action is create, read, update or delete ("" when not one of these).
	Action string `json:"-"`
	// ResourceType is set for permissions on a kind of resource
	// ("catalog-entity").
	ResourceType string `json:"resourceType,omitempty"`
}

// Decision is the outcome of a permission check.
type Decision string

// The decisions a policy returns.
const (
	Allow Decision = "ALLOW"
	Deny  Decision = "DENY"
)

// Request is one permission question: may the principal do Permission
// (to ResourceRef, when the permission is about a resource)?
type Request struct {
	Permission  Permission
	ResourceRef string
}

// Policy decides permission requests. Real policies (RBAC, conditional
// rules) implement it; the default allows everything a caller reaches.
type Policy interface {
	Decide(ctx context.Context, p Principal, req Request) (Decision, error)
}

// AllowAllPolicy allows every request.
type AllowAllPolicy struct{}

// Decide implements Policy.
func (AllowAllPolicy) Decide(context.Context, Principal, Request) (Decision, error) {
	return Allow, nil
}

// Permissions is the permission hook every plugin calls before it acts.
type Permissions struct {
	policy     atomic.Pointer[Policy]
	conditions conditionRegistry
}

// NewPermissions returns a hook that asks policy (AllowAllPolicy when nil).
func NewPermissions(policy Policy) *Permissions {
	ps := &Permissions{}
	ps.SetPolicy(policy)
	return ps
}

// SetPolicy replaces the policy (AllowAllPolicy when nil) of a hook that
// may already be answering requests; tests install a denying policy in a
// running server this way.
func (ps *Permissions) SetPolicy(policy Policy) {
	if policy == nil {
		policy = AllowAllPolicy{}
	}
	ps.policy.Store(&policy)
}

// Decide answers one request with Allow or Deny. A service token's access
// restrictions are applied first, as Backstage does, so no policy can
// widen them. A conditional decision is applied to the request's resource
// by the plugin that owns it; without a resource it is Deny (callers that
// list resources use DecideConditional).
func (ps *Permissions) Decide(ctx context.Context, p Principal, req Request) (Decision, error) {
	d, c, err := ps.DecideConditional(ctx, p, req)
	if err != nil || d != Conditional {
		return d, err
	}
	return ps.resolve(ctx, req, c)
}

// restrictionsAllow applies a service token's access restrictions.
func (ps *Permissions) restrictionsAllow(p Principal, req Request) bool {
	r := p.AccessRestrictions
	if r == nil {
		return true
	}
	if len(r.PermissionNames) > 0 && !slices.Contains(r.PermissionNames, req.Permission.Name) {
		return false
	}
	return len(r.Actions) == 0 || slices.Contains(r.Actions, req.Permission.Action)
}

// Authorize returns a NotAllowed error unless the principal in ctx may do
// perm (to resourceRef, if given).
func (ps *Permissions) Authorize(ctx context.Context, perm Permission, resourceRef string) error {
	d, err := ps.Decide(ctx, PrincipalFrom(ctx), Request{Permission: perm, ResourceRef: resourceRef})
	if err != nil {
		return err
	}
	if d != Allow {
		return errs.NotAllowedf("permission %s denied", perm.Name)
	}
	return nil
}
