package auth

import (
	"context"
	"fmt"
	"time"
)

// DefaultGuestRef is who guests are unless auth.providers.guest.userEntityRef
// says otherwise; kept apart from real users' default namespace.
const DefaultGuestRef = "user:development/guest"

// Guest is the guest sign-in provider: anyone who asks gets a token for
// the configured guest identity.
type Guest struct {
	tokens    *Tokens
	userRef   string
	ownership []string
}

// NewGuest returns the guest provider for cfg. It refuses to run outside the
// development setup unless cfg allows it explicitly, as Backstage does.
func NewGuest(cfg GuestConfig, tokens *Tokens, development bool) (*Guest, error) {
	if !development && !cfg.DangerouslyAllowOutsideDevelopment {
		return nil, fmt.Errorf("auth.providers.guest: the guest provider is meant for development only; set auth.providers.guest.dangerouslyAllowOutsideDevelopment: true to use it with this configuration")
	}
	ref := cfg.UserEntityRef
	if ref == "" {
		ref = DefaultGuestRef
	}
	ownership := cfg.OwnershipEntityRefs
	if len(ownership) == 0 {
		ownership = []string{ref}
	}
	return &Guest{tokens: tokens, userRef: ref, ownership: ownership}, nil
}

// Principal is the principal of a guest (without a token).
func (g *Guest) Principal() Principal {
	return Principal{Type: TypeUser, Subject: g.userRef, OwnershipEntityRefs: g.ownership}
}

// Identity is the backstageIdentity part of a sign-in response.
type Identity struct {
	Token            string       `json:"token"`
	ExpiresInSeconds int64        `json:"expiresInSeconds"`
	Identity         UserIdentity `json:"identity"`
}

// UserIdentity names the signed-in user.
type UserIdentity struct {
	Type                string   `json:"type"`
	UserEntityRef       string   `json:"userEntityRef"`
	OwnershipEntityRefs []string `json:"ownershipEntityRefs"`
}

// Session is the response of a provider's refresh route.
type Session struct {
	Profile           map[string]any `json:"profile"`
	ProviderInfo      map[string]any `json:"providerInfo"`
	BackstageIdentity Identity       `json:"backstageIdentity"`
}

// Session signs in the guest.
func (g *Guest) Session(ctx context.Context) (Session, error) {
	token, exp, err := g.tokens.Issue(ctx, g.userRef, g.ownership)
	if err != nil {
		return Session{}, err
	}
	return Session{
		Profile:      map[string]any{},
		ProviderInfo: map[string]any{},
		BackstageIdentity: Identity{
			Token:            token,
			ExpiresInSeconds: int64(time.Until(exp).Seconds()),
			Identity:         UserIdentity{Type: "user", UserEntityRef: g.userRef, OwnershipEntityRefs: g.ownership},
		},
	}, nil
}
