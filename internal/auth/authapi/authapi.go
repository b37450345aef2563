// Package authapi serves the auth plugin's HTTP routes (/api/auth: sign-in
// providers, public keys, user info) and the permission plugin's
// authorization route (/api/permission/authorize) that Backstage frontends
// call.
package authapi

import (
	"encoding/json"
	"html/template"
	"maps"
	"net/http"
	"slices"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// Handler serves the auth routes.
type Handler struct {
	Tokens *auth.Tokens
	// Guest is nil when the guest provider is off.
	Guest *auth.Guest
	// AppOrigin is where the web app runs, for sign-in pop-up messages.
	AppOrigin   string
	Issuer      string
	Permissions *auth.Permissions
	// RBAC is the role-based policy when permissions are on; its roles
	// and policies are served below /api/permission.
	RBAC *auth.RBAC
	// SignIn are the sign-in providers that send people to an identity
	// provider (oidc, github), by id and then environment.
	SignIn map[string]map[string]*auth.SignInProvider
	// Environment is auth.environment: the providers' environment the
	// web app signs in with.
	Environment string
}

// Routes mounts the auth plugin's routes.
func (h *Handler) Routes(r *httpapi.Router) {
	public := httpapi.Unauthenticated()
	r.HandleFunc("GET /.well-known/jwks.json", h.jwks, public)
	r.HandleFunc("GET /.well-known/openid-configuration", h.openID, public)
	r.HandleFunc("GET /providers", h.providers, public)
	r.HandleFunc("GET /v1/userinfo", h.userInfo)
	if h.Guest != nil {
		r.HandleFunc("GET /guest/refresh", h.guestRefresh, public)
		r.HandleFunc("POST /guest/refresh", h.guestRefresh, public)
		r.HandleFunc("GET /guest/start", h.guestStart, public)
		r.HandleFunc("GET /guest/handler/frame", h.guestFrame, public)
		r.HandleFunc("POST /guest/logout", h.logout, public)
	}
	for _, id := range slices.Sorted(maps.Keys(h.SignIn)) {
		h.signInRoutes(r, id, h.SignIn[id])
	}
}

// PermissionRoutes mounts the permission plugin's routes: the authorize
// route, and with RBAC on the read routes of Developer Hub's RBAC API.
func (h *Handler) PermissionRoutes(r *httpapi.Router) {
	r.HandleFunc("POST /authorize", h.authorize)
	if h.RBAC != nil {
		r.HandleFunc("GET /roles", h.roles)
		r.HandleFunc("GET /roles/conditions", h.conditions)
		r.HandleFunc("GET /roles/conditions/{id}", h.condition)
		r.HandleFunc("POST /roles/conditions", h.createCondition)
		r.HandleFunc("PUT /roles/conditions/{id}", h.updateCondition)
		r.HandleFunc("DELETE /roles/conditions/{id}", h.deleteCondition)
		r.HandleFunc("GET /roles/role/{kind}/{namespace}/{name}", h.roles)
		r.HandleFunc("GET /policies", h.policies)
		r.HandleFunc("GET /policies/role/{kind}/{namespace}/{name}", h.policies)
		r.HandleFunc("POST /roles", h.createRole)
		r.HandleFunc("PUT /roles/role/{kind}/{namespace}/{name}", h.updateRole)
		r.HandleFunc("DELETE /roles/role/{kind}/{namespace}/{name}", h.deleteRole)
		r.HandleFunc("POST /policies", h.createPolicies)
		r.HandleFunc("PUT /policies/{kind}/{namespace}/{name}", h.updatePolicies)
		r.HandleFunc("DELETE /policies/{kind}/{namespace}/{name}", h.deletePolicies)
	}
}

func (h *Handler) jwks(w http.ResponseWriter, r *http.Request) {
	keys, err := h.Tokens.JWKS(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, keys)
}

func (h *Handler) openID(w http.ResponseWriter, _ *http.Request) {
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"issuer":                                h.Issuer,
		"jwks_uri":                              h.Issuer + "/.well-known/jwks.json",
		"token_endpoint":                        h.Issuer + "/v1/token",
		"userinfo_endpoint":                     h.Issuer + "/v1/userinfo",
		"response_types_supported":              []string{"id_token"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"ES256"},
		"scopes_supported":                      []string{"openid"},
		"token_endpoint_auth_methods_supported": []string{},
		"claims_supported":                      []string{"sub", "ent"},
		"grant_types_supported":                 []string{},
	})
}

func (h *Handler) providers(w http.ResponseWriter, _ *http.Request) {
	providers := []string{}
	if h.Guest != nil {
		providers = append(providers, "guest")
	}
	providers = append(providers, slices.Sorted(maps.Keys(h.SignIn))...)
	out := map[string]any{"providers": providers}
	if h.Environment != "" {
		out["environment"] = h.Environment
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) userInfo(w http.ResponseWriter, r *http.Request) {
	p := auth.PrincipalFrom(r.Context())
	if err := auth.Require(p, auth.TypeUser); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{
		"claims": map[string]any{"sub": p.Subject, "ent": p.OwnershipEntityRefs},
	})
}

func (h *Handler) guestRefresh(w http.ResponseWriter, r *http.Request) {
	s, err := h.Guest.Session(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, s)
}

func (h *Handler) guestStart(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "handler/frame", http.StatusFound)
}

// frameTemplate hands the sign-in result to the window that opened the
// pop-up, as Backstage's provider frames do.
var frameTemplate = template.Must(template.New("frame").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>Signed in</title></head><body>
<script>
(function () {
  var message = {{.Message}};
  var origin = {{.Origin}};
  if (window.opener) { window.opener.postMessage(message, origin); }
  window.close();
})();
</script>
</body></html>`))

func (h *Handler) guestFrame(w http.ResponseWriter, r *http.Request) {
	s, err := h.Guest.Session(r.Context())
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	msg, _ := json.Marshal(map[string]any{"type": "authorization_response", "response": s})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = frameTemplate.Execute(w, map[string]any{"Message": template.JS(msg), "Origin": h.AppOrigin})
}

func (h *Handler) logout(w http.ResponseWriter, _ *http.Request) {
	w.WriteHeader(http.StatusOK)
}

// authorizeRequest is Backstage's POST /api/permission/authorize body.
type authorizeRequest struct {
	Items []struct {
		ID         string `json:"id"`
		Permission struct {
			Type         string `json:"type"`
			Name         string `json:"name"`
			ResourceType string `json:"resourceType"`
			Attributes   struct {
				Action string `json:"action"`
			} `json:"attributes"`
		} `json:"permission"`
		ResourceRef string `json:"resourceRef"`
	} `json:"items"`
}

func (h *Handler) authorize(w http.ResponseWriter, r *http.Request) {
	var req authorizeRequest
	if err := httpapi.DecodeJSON(r, &req); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	p := auth.PrincipalFrom(r.Context())
	// A conditional answer names the plugin that applies its conditions,
	// as Backstage's permission backend does, for callers that check a
	// resource permission without naming a resource.
	type result struct {
		ID           string          `json:"id"`
		Result       auth.Decision   `json:"result"`
		PluginID     string          `json:"pluginId,omitempty"`
		ResourceType string          `json:"resourceType,omitempty"`
		Conditions   *auth.Condition `json:"conditions,omitempty"`
	}
	out := make([]result, 0, len(req.Items))
	for i, item := range req.Items {
		if item.Permission.Name == "" {
			httpapi.WriteError(w, r, errs.InputErrorf("items[%d].permission.name: missing; name the permission to check", i))
			return
		}
		req := auth.Request{
			Permission:  auth.Permission{Name: item.Permission.Name, Action: item.Permission.Attributes.Action, ResourceType: item.Permission.ResourceType},
			ResourceRef: item.ResourceRef,
		}
		res := result{ID: item.ID}
		var err error
		if req.ResourceRef != "" || req.Permission.ResourceType == "" {
			res.Result, err = h.Permissions.Decide(r.Context(), p, req)
		} else {
			res.Result, res.Conditions, err = h.Permissions.DecideConditional(r.Context(), p, req)
			if res.Result == auth.Conditional {
				rules, _ := h.Permissions.ConditionRules(req.Permission.ResourceType)
				res.PluginID, res.ResourceType = rules.PluginID, req.Permission.ResourceType
			}
		}
		if err != nil {
			httpapi.WriteError(w, r, err)
			return
		}
		out = append(out, res)
	}
	httpapi.WriteJSON(w, http.StatusOK, map[string]any{"items": out})
}
