package authapi

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/portico-dev/portico/internal/auth"
	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/httpapi"
)

// rbacMetadata is the metadata Developer Hub's RBAC API puts on roles and
// policies: where they were defined.
type rbacMetadata struct {
	Source      string `json:"source"`
	Description string `json:"description,omitempty"`
}

type roleJSON struct {
	Name             string       `json:"name"`
	MemberReferences []string     `json:"memberReferences"`
	Metadata         rbacMetadata `json:"metadata"`
}

type policyJSON struct {
	EntityReference string       `json:"entityReference"`
	Permission      string       `json:"permission"`
	Policy          string       `json:"policy"`
	Effect          string       `json:"effect"`
	Metadata        rbacMetadata `json:"metadata"`
}

// roleFromPath is the role a /role/{kind}/{namespace}/{name} route names,
// or "" on the routes that list everything.
func roleFromPath(r *http.Request) string {
	if r.PathValue("kind") == "" {
		return ""
	}
	return strings.ToLower(r.PathValue("kind") + ":" + r.PathValue("namespace") + "/" + r.PathValue("name"))
}

func (h *Handler) roles(w http.ResponseWriter, r *http.Request) {
	if err := h.Permissions.Authorize(r.Context(), auth.PermPolicyRead, ""); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	want := roleFromPath(r)
	out := []roleJSON{}
	for _, role := range h.RBAC.Roles() {
		if want == "" || role.Name == want {
			out = append(out, roleJSON{Name: role.Name, MemberReferences: role.Members, Metadata: rbacMetadata{Source: role.Source, Description: role.Description}})
		}
	}
	if want != "" && len(out) == 0 {
		httpapi.WriteError(w, r, errs.NotFoundf("%s was not found", want))
		return
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) policies(w http.ResponseWriter, r *http.Request) {
	if err := h.Permissions.Authorize(r.Context(), auth.PermPolicyRead, ""); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	want := roleFromPath(r)
	lines := h.RBAC.Policies(want)
	if want != "" && len(lines) == 0 {
		httpapi.WriteError(w, r, errs.NotFoundf("no policies for %s", want))
		return
	}
	out := make([]policyJSON, len(lines))
	for i, l := range lines {
		out[i] = policyJSON{EntityReference: l.Role, Permission: l.Permission, Policy: l.Action, Effect: l.Effect, Metadata: rbacMetadata{Source: l.Source}}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

func (h *Handler) conditions(w http.ResponseWriter, r *http.Request) {
	if err := h.Permissions.Authorize(r.Context(), auth.PermPolicyRead, ""); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	want := strings.ToLower(r.URL.Query().Get("roleEntityRef"))
	out := []auth.ConditionalPolicy{}
	for _, cp := range h.RBAC.ConditionalPolicies() {
		if want == "" || cp.RoleEntityRef == want {
			out = append(out, cp)
		}
	}
	httpapi.WriteJSON(w, http.StatusOK, out)
}

// conditionID reads the {id} of a conditional policy route.
func conditionID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.InputErrorf("%q is not a conditional policy id; ids are positive integers", r.PathValue("id"))
	}
	return id, nil
}

func (h *Handler) condition(w http.ResponseWriter, r *http.Request) {
	if err := h.Permissions.Authorize(r.Context(), auth.PermPolicyRead, ""); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	id, err := conditionID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	for _, cp := range h.RBAC.ConditionalPolicies() {
		if cp.ID == id {
			httpapi.WriteJSON(w, http.StatusOK, cp)
			return
		}
	}
	httpapi.WriteError(w, r, errs.NotFoundf("no conditional policy with id %d", id))
}

func (h *Handler) createCondition(w http.ResponseWriter, r *http.Request) {
	var body auth.ConditionalPolicy
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if err := h.Permissions.Authorize(r.Context(), auth.PermPolicyCreate, ""); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	id, err := h.RBAC.CreateConditional(r.Context(), body)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	httpapi.WriteJSON(w, http.StatusCreated, map[string]int64{"id": id})
}

func (h *Handler) updateCondition(w http.ResponseWriter, r *http.Request) {
	id, err := conditionID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	rbacChange(h, w, r, auth.PermPolicyUpdate, http.StatusOK, func(body auth.ConditionalPolicy, _ string) error {
		return h.RBAC.UpdateConditional(r.Context(), id, body)
	})
}

func (h *Handler) deleteCondition(w http.ResponseWriter, r *http.Request) {
	id, err := conditionID(r)
	if err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.rbacWrite(w, r, auth.PermPolicyDelete, http.StatusNoContent, func(string) error { return h.RBAC.DeleteConditional(r.Context(), id) })
}

// roleBody is a role as the REST API receives it; PUT also takes Developer
// Hub's older {oldRole, newRole} form.
type roleBody struct {
	roleJSON
	NewRole *roleJSON `json:"newRole"`
}

func (b roleBody) change() auth.RoleChange {
	role := b.roleJSON
	if b.NewRole != nil {
		role = *b.NewRole
	}
	return auth.RoleChange{Name: role.Name, Members: role.MemberReferences, Description: role.Metadata.Description}
}

// rbacWrite authorizes a change of roles or policies and reports its
// outcome: status on success, the error otherwise.
func (h *Handler) rbacWrite(w http.ResponseWriter, r *http.Request, perm auth.Permission, status int, fn func(by string) error) {
	if err := h.Permissions.Authorize(r.Context(), perm, ""); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	if err := fn(auth.PrincipalFrom(r.Context()).Subject); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	w.WriteHeader(status)
}

// rbacChange is rbacWrite for changes that come with a JSON body.
func rbacChange[T any](h *Handler, w http.ResponseWriter, r *http.Request, perm auth.Permission, status int, fn func(body T, by string) error) {
	var body T
	if err := httpapi.DecodeJSON(r, &body); err != nil {
		httpapi.WriteError(w, r, err)
		return
	}
	h.rbacWrite(w, r, perm, status, func(by string) error { return fn(body, by) })
}

func (h *Handler) createRole(w http.ResponseWriter, r *http.Request) {
	rbacChange(h, w, r, auth.PermPolicyCreate, http.StatusCreated, func(body roleBody, by string) error {
		return h.RBAC.CreateRole(r.Context(), body.change(), by)
	})
}

func (h *Handler) updateRole(w http.ResponseWriter, r *http.Request) {
	rbacChange(h, w, r, auth.PermPolicyUpdate, http.StatusOK, func(body roleBody, by string) error {
		return h.RBAC.UpdateRole(r.Context(), roleFromPath(r), body.change(), by)
	})
}

func (h *Handler) deleteRole(w http.ResponseWriter, r *http.Request) {
	members := r.URL.Query()["memberReferences"]
	h.rbacWrite(w, r, auth.PermPolicyDelete, http.StatusNoContent, func(string) error {
		return h.RBAC.DeleteRole(r.Context(), roleFromPath(r), members)
	})
}

// policyBody is a policy as the REST API receives it.
type policyBody struct {
	EntityReference string `json:"entityReference"`
	Permission      string `json:"permission"`
	Policy          string `json:"policy"`
	Effect          string `json:"effect"`
}

func policyLines(in []policyBody) []auth.PolicyLine {
	out := make([]auth.PolicyLine, len(in))
	for i, p := range in {
		out[i] = auth.PolicyLine{Role: p.EntityReference, Permission: p.Permission, Action: p.Policy, Effect: p.Effect}
	}
	return out
}

func (h *Handler) createPolicies(w http.ResponseWriter, r *http.Request) {
	rbacChange(h, w, r, auth.PermPolicyCreate, http.StatusCreated, func(body []policyBody, _ string) error {
		return h.RBAC.AddPolicies(r.Context(), policyLines(body))
	})
}

// policyUpdate is the body of PUT /policies/…: the policies replaced and
// their replacements.
type policyUpdate struct {
	OldPolicy []policyBody `json:"oldPolicy"`
	NewPolicy []policyBody `json:"newPolicy"`
}

func (h *Handler) updatePolicies(w http.ResponseWriter, r *http.Request) {
	rbacChange(h, w, r, auth.PermPolicyUpdate, http.StatusOK, func(body policyUpdate, _ string) error {
		return h.RBAC.UpdatePolicies(r.Context(), roleFromPath(r), policyLines(body.OldPolicy), policyLines(body.NewPolicy))
	})
}

func (h *Handler) deletePolicies(w http.ResponseWriter, r *http.Request) {
	rbacChange(h, w, r, auth.PermPolicyDelete, http.StatusNoContent, func(body []policyBody, _ string) error {
		return h.RBAC.DeletePolicies(r.Context(), roleFromPath(r), policyLines(body))
	})
}
