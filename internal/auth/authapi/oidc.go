package authapi

import (
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// The oidc provider's cookies: the sign-in in progress and the signed-in
// session. Their values start with the environment ("production~…").
const (
	oidcStateCookie   = "portico-oidc-state"
	oidcSessionCookie = "portico-oidc-session"
	oidcCookiePath    = "/api/auth/oidc"
)

// oidcRoutes mounts the oidc provider's routes, as Backstage's: start
// (redirect to the identity provider), handler/frame (its callback, which
// posts the outcome to the app's window), refresh and logout.
func (h *Handler) oidcRoutes(r *httpapi.Router) {
	public := httpapi.Unauthenticated()
	r.HandleFunc("GET /oidc/start", h.oidcStart, public)
	r.HandleFunc("GET /oidc/handler/frame", h.oidcFrame, public)
	r.HandleFunc("GET /oidc/refresh", h.oidcRefresh, public)
	r.HandleFunc("POST /oidc/refresh", h.oidcRefresh, public)
	r.HandleFunc("POST /oidc/logout", h.oidcLogout, public)
}

// oidcEnv picks the environment a sign-in names, or the only one.
func (h *Handler) oidcEnv(name string) (string, *auth.OIDC, error) {
	if p, ok := h.OIDC[name]; ok {
		return name, p, nil
	}
	if len(h.OIDC) == 1 {
		for env, p := range h.OIDC {
			return env, p, nil
		}
	}
	return "", nil, errs.InputErrorf("no auth.providers.oidc environment %q; configured: %s", name, strings.Join(slices.Sorted(maps.Keys(h.OIDC)), ", "))
}

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: oidcCookiePath, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.HasPrefix(h.Issuer, "https:"),
	})
}

// cookieEnv splits a cookie's value into its environment and the rest.
func (h *Handler) cookieEnv(r *http.Request, name string) (string, *auth.OIDC, string, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return "", nil, "", false
	}
	env, value, ok := strings.Cut(c.Value, "~")
	p, found := h.OIDC[env]
	return env, p, value, ok && found
}

func (h *Handler) oidcStart(w http.ResponseWriter, r *http.Request) {
	env, p, err := h.oidcEnv(r.URL.Query().Get("env"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	redirect, state, err := p.Start(r.Context(), r.URL.Query().Get("origin"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.setCookie(w, r, oidcStateCookie, env+"~"+state, 10*time.Minute)
	http.Redirect(w, r, redirect, http.StatusFound)
}

func (h *Handler) oidcFrame(w http.ResponseWriter, r *http.Request) {
	msg := map[string]any{"type": "authorization_response"}
	env, p, state, ok := h.cookieEnv(r, oidcStateCookie)
	var err error
	if !ok {
		err = errs.Unauthenticatedf("the sign-in state is missing or expired; start signing in again")
	} else {
		h.setCookie(w, r, oidcStateCookie, "", -time.Second)
		var session string
		if _, session, err = p.Finish(r.Context(), r.URL.Query(), state); err == nil {
			var s auth.Session
			if s, err = p.Session(r.Context(), session); err == nil {
				h.setCookie(w, r, oidcSessionCookie, env+"~"+session, p.SessionDuration())
				msg["response"] = s
			}
		}
	}
	if err != nil {
		msg["error"] = map[string]string{"name": string(errs.KindOf(err)), "message": err.Error()}
	}
	body, _ := json.Marshal(msg)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = frameTemplate.Execute(w, map[string]any{"Message": template.JS(body), "Origin": h.AppOrigin})
}

func (h *Handler) oidcRefresh(w http.ResponseWriter, r *http.Request) {
	_, p, session, ok := h.cookieEnv(r, oidcSessionCookie)
	if !ok {
		httpapi.WriteError(w, r, errs.Unauthenticatedf("not signed in with oidc; sign in first"))
		return
	}
	s, err := p.Session(r.Context(), session)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, s)
}

func (h *Handler) oidcLogout(w http.ResponseWriter, r *http.Request) {
	h.setCookie(w, r, oidcSessionCookie, "", -time.Second)
	w.WriteHeader(http.StatusOK)
}
