package app

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/catalog"
	"github.com/portico-dev/portico/internal/errs"
)

// catalogUsers answers sign-in resolvers from the catalog.
type catalogUsers struct{ svc *catalog.Service }

// UserBy finds the one User whose key has value (case-insensitively, as
// catalog filters match).
func (c catalogUsers) UserBy(ctx context.Context, key, value string) (string, error) {
	f := catalog.AllOf(catalog.KeyFilter("kind", "user"), catalog.KeyFilter(key, value))
	res, err := c.svc.QueryEntities(ctx, catalog.QueryRequest{Filter: &f, Limit: 2, ExcludeTotal: true})
	if err != nil {
		return "", err
	}
	switch len(res.Items) {
	case 0:
		return "", nil
	case 1:
		return entityRef(res.Items[0])
	}
	return "", fmt.Errorf("several users have %s %s; give each user their own", key, value)
}

func (c catalogUsers) UserByName(ctx context.Context, name string) (string, error) {
	e, err := c.svc.EntityByRef(ctx, "user:default/"+strings.ToLower(name))
	if errs.Is(err, errs.NotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return e.Ref().String(), nil
}

func (c catalogUsers) GroupsOf(ctx context.Context, userRef string, maxDepth int) ([]string, error) {
	return c.svc.GroupsOf(ctx, userRef, maxDepth)
}

// entityRef reads the ref of a stored entity.
func entityRef(body []byte) (string, error) {
	var e catalog.Entity
	if err := json.Unmarshal(body, &e); err != nil {
		return "", err
	}
	return e.Ref().String(), nil
}

// signInProviders builds the sign-in providers that send people to an
// identity provider (oidc, github, gitlab), by id and environment.
func signInProviders(signIn auth.SignInConfig, baseURL string, tokens *auth.Tokens, env *Env) (map[string]map[string]*auth.SignInProvider, error) {
	out := map[string]map[string]*auth.SignInProvider{}
	users := func() auth.CatalogUsers {
		if env.Catalog == nil {
			return nil
		}
		return catalogUsers{env.Catalog}
	}
	add := func(id, name string, p *auth.SignInProvider, err error) error {
		if err != nil {
			return err
		}
		if out[id] == nil {
			out[id] = map[string]*auth.SignInProvider{}
		}
		out[id][name] = p
		return nil
	}
	for name, cfg := range signIn.Providers.OIDC {
		p, err := auth.NewOIDC(name, cfg, signIn.Session.Secret, baseURL, tokens, users)
		if err := add("oidc", name, p, err); err != nil {
			return nil, err
		}
	}
	for name, cfg := range signIn.Providers.GitHub {
		p, err := auth.NewGitHubSignIn(name, cfg, signIn.Session.Secret, baseURL, tokens, users)
		if err := add("github", name, p, err); err != nil {
			return nil, err
		}
	}
	for name, cfg := range signIn.Providers.GitLab {
		p, err := auth.NewGitLabSignIn(name, cfg, signIn.Session.Secret, baseURL, tokens, users)
		if err := add("gitlab", name, p, err); err != nil {
			return nil, err
		}
	}
	return out, nil
}
