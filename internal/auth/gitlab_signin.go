package auth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/portico-dev/portico/internal/errs"
)

// GitLabSignInConfig is auth.providers.gitlab.<environment>: sign-in with
// a GitLab (gitlab.com or self-managed) OAuth application, as Backstage's
// gitlab provider.
type GitLabSignInConfig struct {
	OAuthAppConfig `yaml:",inline"`
	// Audience is the GitLab instance's URL (default https://gitlab.com).
	Audience string `yaml:"audience"`
}

// gitlabResolvers are the sign-in resolvers of the gitlab provider.
var gitlabResolvers = []string{"usernameMatchingUserEntityName", "emailMatchingUserEntityProfileEmail", "emailLocalPartMatchingUserEntityName"}

// gitlabFlow signs in with a GitLab OAuth application: the authorization
// code flow with PKCE, then the user's profile from the API.
type gitlabFlow struct {
	cfg    GitLabSignInConfig
	base   string
	client *http.Client
}

// NewGitLabSignIn checks auth.providers.gitlab.<env> and returns the
// provider.
func NewGitLabSignIn(env string, cfg GitLabSignInConfig, sessionSecret, baseURL string, tokens *Tokens, users func() CatalogUsers) (*SignInProvider, error) {
	base := "https://gitlab.com"
	if cfg.Audience != "" {
		var err error
		if base, err = instanceURL("auth.providers.gitlab."+env+".audience", cfg.Audience); err != nil {
			return nil, err
		}
	}
	flow := &gitlabFlow{cfg: cfg, base: base, client: &http.Client{Timeout: 15 * time.Second}}
	return newOAuthAppProvider("gitlab", env, cfg.OAuthAppConfig, gitlabResolvers, flow, sessionSecret, baseURL, tokens, users)
}

func (g *gitlabFlow) authorize(_ context.Context, st signInState, callback string) (string, error) {
	challenge := sha256.Sum256([]byte(st.Verifier))
	q := url.Values{"client_id": {g.cfg.ClientID}, "redirect_uri": {callback}, "response_type": {"code"}, "scope": {"read_user"},
		"state": {st.State}, "code_challenge": {b64.EncodeToString(challenge[:])}, "code_challenge_method": {"S256"}}
	return g.base + "/oauth/authorize?" + q.Encode(), nil
}

func (g *gitlabFlow) identify(ctx context.Context, query url.Values, st signInState, callback string) (ProviderIdentity, error) {
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	form := url.Values{"client_id": {g.cfg.ClientID}, "client_secret": {g.cfg.ClientSecret}, "code": {query.Get("code")},
		"grant_type": {"authorization_code"}, "redirect_uri": {callback}, "code_verifier": {st.Verifier}}
	if err := redeemCode(ctx, g.client, g.base+"/oauth/token", "", "", form, &tok); err != nil {
		return ProviderIdentity{}, err
	}
	if tok.AccessToken == "" {
		return ProviderIdentity{}, errs.Unauthenticatedf("GitLab did not redeem the sign-in code; check clientId and clientSecret")
	}
	var user struct {
		ID        int64  `json:"id"`
		Username  string `json:"username"`
		Name      string `json:"name"`
		Email     string `json:"email"`
		AvatarURL string `json:"avatar_url"`
	}
	if err := getJSON(ctx, g.client, g.base+"/api/v4/user", tok.AccessToken, &user); err != nil {
		return ProviderIdentity{}, fmt.Errorf("read the GitLab user: %w", err)
	}
	return ProviderIdentity{Subject: strconv.FormatInt(user.ID, 10), Email: user.Email, Name: user.Name, Picture: user.AvatarURL, PreferredUsername: user.Username}, nil
}
