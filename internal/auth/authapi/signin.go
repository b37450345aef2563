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

// signInRoutes mounts the routes of a provider that signs people in at an
// identity provider (oidc, github), as Backstage's: start (redirect there),
// handler/frame (its callback, which posts the outcome to the app's
// window), refresh and logout. Its cookies (the sign-in in progress and
// the session) live below /api/auth/<id> and their values start with the
// environment ("production~…").
func (h *Handler) signInRoutes(r *httpapi.Router, id string, envs map[string]*auth.SignInProvider) {
	s := &signInHandler{h: h, id: id, envs: envs}
	public := httpapi.Unauthenticated()
	r.HandleFunc("GET /"+id+"/start", s.start, public)
	r.HandleFunc("GET /"+id+"/handler/frame", s.frame, public)
	r.HandleFunc("GET /"+id+"/refresh", s.refresh, public)
	r.HandleFunc("POST /"+id+"/refresh", s.refresh, public)
	r.HandleFunc("POST /"+id+"/logout", s.logout, public)
}

type signInHandler struct {
	h    *Handler
	id   string
	envs map[string]*auth.SignInProvider
}

func (s *signInHandler) stateCookie() string   { return "portico-" + s.id + "-state" }
func (s *signInHandler) sessionCookie() string { return "portico-" + s.id + "-session" }

// env picks the environment a sign-in names, else auth.environment's,
// else the only one.
func (s *signInHandler) env(name string) (string, *auth.SignInProvider, error) {
	if p, ok := s.envs[name]; ok {
		return name, p, nil
	}
	if p, ok := s.envs[s.h.Environment]; ok {
		return s.h.Environment, p, nil
	}
	if len(s.envs) == 1 {
		for env, p := range s.envs {
			return env, p, nil
		}
	}
	return "", nil, errs.InputErrorf("no auth.providers.%s environment %q; configured: %s", s.id, name, strings.Join(slices.Sorted(maps.Keys(s.envs)), ", "))
}

func (s *signInHandler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge time.Duration) {
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/api/auth/" + s.id, MaxAge: int(maxAge.Seconds()),
		HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: r.TLS != nil || strings.HasPrefix(s.h.Issuer, "https:"),
	})
}

// cookie splits a cookie's value into its environment's provider and the
// rest.
func (s *signInHandler) cookie(r *http.Request, name string) (string, *auth.SignInProvider, string, bool) {
	c, err := r.Cookie(name)
	if err != nil {
		return "", nil, "", false
	}
	env, value, ok := strings.Cut(c.Value, "~")
	p, found := s.envs[env]
	return env, p, value, ok && found
}

func (s *signInHandler) start(w http.ResponseWriter, r *http.Request) {
	env, p, err := s.env(r.URL.Query().Get("env"))
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	// The outcome is posted to the app's own origin (app.baseUrl), not to
	// the origin the request names.
	redirect, state, err := p.Start(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	s.setCookie(w, r, s.stateCookie(), env+"~"+state, 10*time.Minute)
	http.Redirect(w, r, redirect, http.StatusFound)
}

func (s *signInHandler) frame(w http.ResponseWriter, r *http.Request) {
	msg := map[string]any{"type": "authorization_response"}
	env, p, state, ok := s.cookie(r, s.stateCookie())
	var err error
	if !ok {
		err = errs.Unauthenticatedf("the sign-in state is missing or expired; start signing in again")
	} else {
		s.setCookie(w, r, s.stateCookie(), "", -time.Second)
		var session string
		if _, session, err = p.Finish(r.Context(), r.URL.Query(), state); err == nil {
			var out auth.Session
			if out, err = p.Session(r.Context(), session); err == nil {
				s.setCookie(w, r, s.sessionCookie(), env+"~"+session, p.SessionDuration())
				msg["response"] = out
			}
		}
	}
	if err != nil {
		msg["error"] = map[string]string{"name": string(errs.KindOf(err)), "message": err.Error()}
	}
	body, _ := json.Marshal(msg)
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = frameTemplate.Execute(w, map[string]any{"Message": template.JS(body), "Origin": s.h.AppOrigin})
}

func (s *signInHandler) refresh(w http.ResponseWriter, r *http.Request) {
	_, p, session, ok := s.cookie(r, s.sessionCookie())
	if !ok {
		httpapi.WriteError(w, r, errs.Unauthenticatedf("not signed in with %s; sign in first", s.id))
		return
	}
	out, err := p.Session(r.Context(), session)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (s *signInHandler) logout(w http.ResponseWriter, r *http.Request) {
	s.setCookie(w, r, s.sessionCookie(), "", -time.Second)
	w.WriteHeader(http.StatusOK)
}
