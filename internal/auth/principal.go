// Package auth decides who is calling: a user (with a token Portico issued),
// a service (a Backstage external-access token) or nobody. It also issues
// user tokens, runs the guest sign-in provider, and hosts the permission hook
// that every plugin asks before it acts.
package auth

import (
	"context"
	"slices"
	"time"
)

// PrincipalType is the kind of caller, as Backstage names it.
type PrincipalType string

// The principal types.
const (
	TypeNone    PrincipalType = "none"
	TypeUser    PrincipalType = "user"
	TypeService PrincipalType = "service"
)

// Principal is the caller of a request.
type Principal struct {
	Type PrincipalType
	// Subject is the user's entity ref for users ("user:default/jane") and
	// the configured subject for services ("cicd-system").
	Subject string
	// OwnershipEntityRefs are the refs the user acts as (the user and their
	// groups), for users only.
	OwnershipEntityRefs []string
	// AccessRestrictions limit what a service may do within the plugin that
	// received the request; nil means unrestricted.
	AccessRestrictions *AccessRestriction
	// Token is the credential the caller presented, so that work done on
	// their behalf (a workflow calling back, say) can forward it.
	Token string
	// ExpiresAt is when a user token expires; zero for services.
	ExpiresAt time.Time
}

// None is the principal of an unauthenticated request.
var None = Principal{Type: TypeNone}

// IsUser reports whether p is a signed-in user.
func (p Principal) IsUser() bool { return p.Type == TypeUser }

// IsService reports whether p is a service.
func (p Principal) IsService() bool { return p.Type == TypeService }

// Owns reports whether ref is one of the user's ownership refs.
func (p Principal) Owns(ref string) bool { return slices.Contains(p.OwnershipEntityRefs, ref) }

// AccessRestriction is one externalAccess accessRestrictions entry, for the
// plugin it applies to.
type AccessRestriction struct {
	// PermissionNames, when set, are the only permissions the token grants.
	PermissionNames []string
	// Actions, when set, are the only permission actions the token grants
	// (create, read, update, delete).
	Actions []string
}

type principalKey struct{}

// WithPrincipal returns a context that carries p.
func WithPrincipal(ctx context.Context, p Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// PrincipalFrom returns the principal carried by ctx, or None.
func PrincipalFrom(ctx context.Context) Principal {
	if p, ok := ctx.Value(principalKey{}).(Principal); ok {
		return p
	}
	return None
}
