package auth

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/errs"
)

// GitHubSignInConfig is auth.providers.github.<environment>: sign-in with a
// GitHub (or GitHub Enterprise) OAuth app, as Backstage's github provider.
type GitHubSignInConfig struct {
	OAuthAppConfig `yaml:",inline"`
	// EnterpriseInstanceURL is a GitHub Enterprise Server's URL (default
	// github.com).
	EnterpriseInstanceURL string `yaml:"enterpriseInstanceUrl"`
}

// githubResolvers are the sign-in resolvers of the github provider.
var githubResolvers = []string{"usernameMatchingUserEntityName", "emailMatchingUserEntityProfileEmail", "emailLocalPartMatchingUserEntityName"}

// githubFlow signs in with a GitHub OAuth app: the web flow, then the
// user's profile (and primary e-mail) from the API.
type githubFlow struct {
	cfg      GitHubSignInConfig
	web, api string
	client   *http.Client
}

// NewGitHubSignIn checks auth.providers.github.<env> and returns the
// provider.
func NewGitHubSignIn(env string, cfg GitHubSignInConfig, sessionSecret, baseURL string, tokens *Tokens, users func() CatalogUsers) (*SignInProvider, error) {
	web, api := "https://github.com", "https://api.github.com"
	if cfg.EnterpriseInstanceURL != "" {
		var err error
		if web, err = instanceURL("auth.providers.github."+env+".enterpriseInstanceUrl", cfg.EnterpriseInstanceURL); err != nil {
			return nil, err
		}
		api = web + "/api/v3"
	}
	flow := &githubFlow{cfg: cfg, web: web, api: api, client: &http.Client{Timeout: 15 * time.Second}}
	return newOAuthAppProvider("github", env, cfg.OAuthAppConfig, githubResolvers, flow, sessionSecret, baseURL, tokens, users)
}

func (g *githubFlow) authorize(_ context.Context, st signInState, callback string) (string, error) {
	q := url.Values{"client_id": {g.cfg.ClientID}, "redirect_uri": {callback}, "scope": {"read:user user:email"}, "state": {st.State}}
	return g.web + "/login/oauth/authorize?" + q.Encode(), nil
}

func (g *githubFlow) identify(ctx context.Context, query url.Values, _ signInState, callback string) (ProviderIdentity, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	// GitHub takes the client's credentials in the form.
	form := url.Values{"client_id": {g.cfg.ClientID}, "client_secret": {g.cfg.ClientSecret}, "code": {query.Get("code")}, "redirect_uri": {callback}}
	if err := redeemCode(ctx, g.client, g.web+"/login/oauth/access_token", "", "", form, &tok); err != nil {
		return ProviderIdentity{}, err
	}
	if tok.AccessToken == "" {
		return ProviderIdentity{}, errs.Unauthenticatedf("GitHub did not redeem the sign-in code; check clientId and clientSecret")
	}
	var user struct {
		Login     string `json:"login"`
		ID        int64  `json:"id"`
		Name      string `json:"name"`
		Email     string `json:"email"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := getJSON(ctx, g.client, g.api+"/user", tok.AccessToken, &user); err != nil {
		return ProviderIdentity{}, fmt.Errorf("read the GitHub user: %w", err)
	}
	if user.Email == "" {
		// A private e-mail address: the primary verified one.
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := getJSON(ctx, g.client, g.api+"/user/emails", tok.AccessToken, &emails); err == nil {
			for _, e := range emails {
				if e.Primary && e.Verified {
					user.Email = e.Email
				}
			}
		}
	}
	return ProviderIdentity{Subject: strconv.FormatInt(user.ID, 10), Email: user.Email, Name: user.Name, Picture: user.AvatarURL, PreferredUsername: user.Login}, nil
}
