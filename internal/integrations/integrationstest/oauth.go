package integrationstest

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"sync"
)

// OAuthUser is who signs in through a fake's OAuth web flow.
type OAuthUser struct {
	ID    int64
	Login string
	Name  string
	// Email is the public e-mail; on the fake GitHub, empty makes it
	// private, and then PrimaryEmail is served by /user/emails only.
	Email        string
	PrimaryEmail string
}

// oauthState is a fake's OAuth application and the codes and tokens it
// handed out.
type oauthState struct {
	mu           sync.Mutex
	clientID     string
	clientSecret string
	user         OAuthUser
	codes        map[string]oauthCode
	tokens       map[string]bool
}

type oauthCode struct {
	redirect, challenge string
}

func (o *oauthState) setApp(clientID, clientSecret string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.clientID, o.clientSecret = clientID, clientSecret
}

func (o *oauthState) setUser(u OAuthUser) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.user = u
}

// authorize signs the user in at once and sends them back with a code, as
// a provider does for someone already logged in there.
func (o *oauthState) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	o.mu.Lock()
	ok := q.Get("client_id") == o.clientID && o.clientID != "" && err == nil && back.Host != ""
	code := randomID()
	if ok {
		if o.codes == nil {
			o.codes, o.tokens = map[string]oauthCode{}, map[string]bool{}
		}
		o.codes[code] = oauthCode{redirect: q.Get("redirect_uri"), challenge: q.Get("code_challenge")}
	}
	o.mu.Unlock()
	if !ok {
		http.Error(w, "unknown OAuth application or redirect_uri", http.StatusBadRequest)
		return
	}
	params := back.Query()
	params.Set("code", code)
	params.Set("state", q.Get("state"))
	back.RawQuery = params.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

// redeem exchanges a code for a token: client credentials in the form,
// a single-use code for the same redirect URI, and the PKCE verifier when
// the sign-in sent a challenge. errorStatus is the status of a refusal
// (GitHub answers 200 with an error body).
func (o *oauthState) redeem(w http.ResponseWriter, r *http.Request, tokenPrefix string, errorStatus int) {
	_ = r.ParseForm()
	o.mu.Lock()
	defer o.mu.Unlock()
	c, found := o.codes[r.Form.Get("code")]
	delete(o.codes, r.Form.Get("code"))
	sum := sha256.Sum256([]byte(r.Form.Get("code_verifier")))
	refuse := func(code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(errorStatus)
		writeJSON(w, map[string]string{"error": code})
	}
	switch {
	case r.Form.Get("client_id") != o.clientID || r.Form.Get("client_secret") != o.clientSecret:
		refuse("incorrect_client_credentials")
	case !found || r.Form.Get("redirect_uri") != c.redirect:
		refuse("bad_verification_code")
	case c.challenge != "" && base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge:
		refuse("invalid_grant")
	default:
		token := tokenPrefix + randomID()
		o.tokens[token] = true
		writeJSON(w, map[string]string{"access_token": token, "token_type": "bearer"})
	}
}

// signedIn answers with the signed-in user when the request carries a
// token redeem issued.
func (o *oauthState) signedIn(w http.ResponseWriter, r *http.Request) (OAuthUser, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	auth := r.Header.Get("Authorization")
	if len(auth) < 8 || !o.tokens[auth[len("Bearer "):]] {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"message": "Bad credentials"})
		return OAuthUser{}, false
	}
	return o.user, true
}

// SetOAuthApp registers the OAuth app sign-ins go through.
func (g *GitHub) SetOAuthApp(clientID, clientSecret string) { g.oauth.setApp(clientID, clientSecret) }

// SetOAuthUser sets who signs in next.
func (g *GitHub) SetOAuthUser(u OAuthUser) { g.oauth.setUser(u) }

// oauthRoutes serves GitHub's OAuth web flow (on the web host) and the
// signed-in user's profile (on the API).
func (g *GitHub) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/oauth/authorize", g.oauth.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", func(w http.ResponseWriter, r *http.Request) {
		g.oauth.redeem(w, r, "gho_", http.StatusOK)
	})
	mux.HandleFunc("GET /api/v3/user", g.oauthUser)
	mux.HandleFunc("GET /api/v3/user/emails", g.oauthEmails)
}

func (g *GitHub) oauthUser(w http.ResponseWriter, r *http.Request) {
	u, ok := g.oauth.signedIn(w, r)
	if !ok {
		return
	}
	var email any
	if u.Email != "" {
		email = u.Email
	}
	writeJSON(w, map[string]any{"login": u.Login, "id": u.ID, "name": u.Name, "email": email, "avatar_url": "https://avatars.example/" + u.Login})
}

func (g *GitHub) oauthEmails(w http.ResponseWriter, r *http.Request) {
	u, ok := g.oauth.signedIn(w, r)
	if !ok {
		return
	}
	writeJSON(w, []map[string]any{
		{"email": u.Login + "@users.noreply.example", "primary": false, "verified": true},
		{"email": u.PrimaryEmail, "primary": true, "verified": true},
	})
}

// SetOAuthApp registers the OAuth application sign-ins go through.
func (g *GitLab) SetOAuthApp(clientID, clientSecret string) { g.oauth.setApp(clientID, clientSecret) }

// SetOAuthUser sets who signs in next.
func (g *GitLab) SetOAuthUser(u OAuthUser) { g.oauth.setUser(u) }

// oauthRoutes serves GitLab's OAuth flow and the signed-in user's profile.
func (g *GitLab) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /oauth/authorize", g.oauth.authorize)
	mux.HandleFunc("POST /oauth/token", func(w http.ResponseWriter, r *http.Request) {
		g.oauth.redeem(w, r, "glpat-", http.StatusUnauthorized)
	})
	mux.HandleFunc("GET /api/v4/user", func(w http.ResponseWriter, r *http.Request) {
		u, ok := g.oauth.signedIn(w, r)
		if ok {
			writeJSON(w, map[string]any{"id": u.ID, "username": u.Login, "name": u.Name, "email": u.Email, "avatar_url": "https://avatars.example/" + u.Login})
		}
	})
}
