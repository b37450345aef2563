package integrationstest

import (
	"net/http"
	"net/url"
	"sync"
)

// OAuthUser is who signs in through the fake GitHub's OAuth web flow.
type OAuthUser struct {
	ID    int64
	Login string
	Name  string
	// Email is the public e-mail; empty makes it private, and then
	// PrimaryEmail is served by /user/emails only.
	Email        string
	PrimaryEmail string
}

type oauthState struct {
	mu           sync.Mutex
	clientID     string
	clientSecret string
	user         OAuthUser
	codes        map[string]string // code → redirect_uri
	tokens       map[string]bool
}

// SetOAuthApp registers the OAuth app sign-ins go through.
func (g *GitHub) SetOAuthApp(clientID, clientSecret string) {
	g.oauth.mu.Lock()
	defer g.oauth.mu.Unlock()
	g.oauth.clientID, g.oauth.clientSecret = clientID, clientSecret
}

// SetOAuthUser sets who signs in next.
func (g *GitHub) SetOAuthUser(u OAuthUser) {
	g.oauth.mu.Lock()
	defer g.oauth.mu.Unlock()
	g.oauth.user = u
}

// oauthRoutes serves GitHub's OAuth web flow (on the web host) and the
// signed-in user's profile (on the API).
func (g *GitHub) oauthRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /login/oauth/authorize", g.oauthAuthorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.oauthAccessToken)
	mux.HandleFunc("GET /api/v3/user", g.oauthUser)
	mux.HandleFunc("GET /api/v3/user/emails", g.oauthEmails)
}

func (g *GitHub) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	back, err := url.Parse(q.Get("redirect_uri"))
	g.oauth.mu.Lock()
	ok := q.Get("client_id") == g.oauth.clientID && g.oauth.clientID != "" && err == nil && back.Host != ""
	code := randomID()
	if ok {
		if g.oauth.codes == nil {
			g.oauth.codes, g.oauth.tokens = map[string]string{}, map[string]bool{}
		}
		g.oauth.codes[code] = q.Get("redirect_uri")
	}
	g.oauth.mu.Unlock()
	if !ok {
		http.Error(w, "unknown OAuth app or redirect_uri", http.StatusBadRequest)
		return
	}
	params := back.Query()
	params.Set("code", code)
	params.Set("state", q.Get("state"))
	back.RawQuery = params.Encode()
	http.Redirect(w, r, back.String(), http.StatusFound)
}

func (g *GitHub) oauthAccessToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	g.oauth.mu.Lock()
	defer g.oauth.mu.Unlock()
	redirect, found := g.oauth.codes[r.Form.Get("code")]
	delete(g.oauth.codes, r.Form.Get("code"))
	switch {
	case r.Form.Get("client_id") != g.oauth.clientID || r.Form.Get("client_secret") != g.oauth.clientSecret:
		// GitHub answers 200 with an error body.
		writeJSON(w, map[string]string{"error": "incorrect_client_credentials"})
	case !found || r.Form.Get("redirect_uri") != redirect:
		writeJSON(w, map[string]string{"error": "bad_verification_code"})
	default:
		token := "gho_" + randomID()
		g.oauth.tokens[token] = true
		writeJSON(w, map[string]string{"access_token": token, "token_type": "bearer", "scope": "read:user,user:email"})
	}
}

// oauthUserOf answers with the signed-in user when the request carries a
// token the flow issued.
func (g *GitHub) oauthUserOf(w http.ResponseWriter, r *http.Request) (OAuthUser, bool) {
	g.oauth.mu.Lock()
	defer g.oauth.mu.Unlock()
	auth := r.Header.Get("Authorization")
	if len(auth) < 8 || !g.oauth.tokens[auth[len("Bearer "):]] {
		w.WriteHeader(http.StatusUnauthorized)
		writeJSON(w, map[string]string{"message": "Bad credentials"})
		return OAuthUser{}, false
	}
	return g.oauth.user, true
}

func (g *GitHub) oauthUser(w http.ResponseWriter, r *http.Request) {
	u, ok := g.oauthUserOf(w, r)
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
	u, ok := g.oauthUserOf(w, r)
	if !ok {
		return
	}
	writeJSON(w, []map[string]any{
		{"email": u.Login + "@users.noreply.example", "primary": false, "verified": true},
		{"email": u.PrimaryEmail, "primary": true, "verified": true},
	})
}
