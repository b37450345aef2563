package auth

import (
	"cmp"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/portico-dev/portico/internal/store"
)

// PermissionConfig is the permission section: Backstage's switch for the
// permission framework and the role-based access control policy that
// Red Hat Developer Hub configures under permission.rbac.
type PermissionConfig struct {
	// Enabled turns policy decisions on; off, every request a caller can
	// reach is allowed.
	Enabled bool       `yaml:"enabled"`
	RBAC    RBACConfig `yaml:"rbac"`
}

// RBACConfig is permission.rbac.
type RBACConfig struct {
	Admin struct {
		// Users get the rbac_admin role: they may read and manage
		// policies and read the catalog's users and groups.
		Users []EntityRefItem `yaml:"users"`
		// SuperUsers are allowed everything.
		SuperUsers []EntityRefItem `yaml:"superUsers"`
	} `yaml:"admin"`
	// PoliciesCSVFile holds the policy lines ("p, role, permission,
	// action, effect") and role assignments ("g, member, role").
	PoliciesCSVFile string `yaml:"policies-csv-file"`
	// PolicyFileReload re-reads the file when it changes.
	PolicyFileReload bool `yaml:"policyFileReload"`
	// MaxDepth bounds how many levels of parent groups pass their roles
	// down to their members' users; unset means every level.
	MaxDepth *int `yaml:"maxDepth"`
	// ConditionalPoliciesFile holds conditional policies: YAML documents
	// that give a role a permission on the resources that meet conditions.
	ConditionalPoliciesFile string `yaml:"conditionalPoliciesFile"`
	// PluginsWithPermission is accepted from Developer Hub configs.
	PluginsWithPermission []string `yaml:"pluginsWithPermission"`
}

// EntityRefItem is one entry of permission.rbac.admin.users/superUsers.
type EntityRefItem struct {
	Name string `yaml:"name"`
}

// AdminRole is the role permission.rbac.admin.users hold.
const AdminRole = "role:default/rbac_admin"

// The RBAC policy's own permissions, on resource type policy-entity.
var (
	PermPolicyRead   = Permission{Name: "policy.entity.read", Action: "read", ResourceType: "policy-entity"}
	PermPolicyCreate = Permission{Name: "policy.entity.create", Action: "create", ResourceType: "policy-entity"}
	PermPolicyUpdate = Permission{Name: "policy.entity.update", Action: "update", ResourceType: "policy-entity"}
	PermPolicyDelete = Permission{Name: "policy.entity.delete", Action: "delete", ResourceType: "policy-entity"}
)

// PolicyLine is one "p" line: Role may (Effect allow) or may not (deny) do
// Action on Permission, a permission name or a resource type.
type PolicyLine struct {
	Role       string
	Permission string
	Action     string
	Effect     string
	// Source is where the line comes from: csv-file or configuration.
	Source string
	line   int
}

// RoleInfo is a role with the users and groups that hold it.
type RoleInfo struct {
	Name        string
	Members     []string
	Source      string
	Description string
}

// GroupsOf finds the groups a user belongs to, directly and through
// parent groups up to maxDepth levels above them (negative: all levels).
// The catalog answers it.
type GroupsOf func(ctx context.Context, userRef string, maxDepth int) ([]string, error)

// RBAC is a role-based Policy in the form Red Hat Developer Hub's RBAC
// plugin reads: roles hold policy lines and are given to users and to
// groups, whose members (and the members of their child groups) inherit
// them. A request is allowed when one of the caller's roles allows it and
// none denies it; nothing allowed is denied.
type RBAC struct {
	groups     GroupsOf
	maxDepth   int
	superUsers map[string]bool
	admins     []string
	file       string
	// conditionalFile holds the conditional policies; perms has the
	// rules plugins registered, to check them against (nil until
	// CheckConditions).
	conditionalFile string
	perms           *Permissions
	db              *store.DB
	log             *slog.Logger
	rules           atomic.Pointer[rbacRules]
}

type rbacRules struct {
	roles       map[string][]string // member ref → roles
	policies    map[string][]PolicyLine
	list        []PolicyLine
	roleList    []RoleInfo
	conditional map[string][]ConditionalPolicy // role → its conditional policies
	// modTimes are the files' modification times when read, and
	// generation the stored rules' generation.
	modTimes   [2]time.Time
	generation int64
}

// NewRBAC reads the policy files (if any) and the roles and policies
// stored in db (nil: none, and the REST API cannot change them), and
// returns the policy. groups may return nothing while the catalog is
// starting.
func NewRBAC(ctx context.Context, cfg RBACConfig, db *store.DB, groups GroupsOf, log *slog.Logger) (*RBAC, error) {
	r := &RBAC{groups: groups, maxDepth: -1, superUsers: map[string]bool{}, file: cfg.PoliciesCSVFile, db: db, log: log}
	if cfg.MaxDepth != nil {
		if *cfg.MaxDepth < 0 {
			return nil, fmt.Errorf("permission.rbac.maxDepth: must be 0 or more, got %d", *cfg.MaxDepth)
		}
		r.maxDepth = *cfg.MaxDepth
	}
	for i, u := range cfg.Admin.SuperUsers {
		ref, err := rbacRef(u.Name, "user", "group")
		if err != nil {
			return nil, fmt.Errorf("permission.rbac.admin.superUsers[%d].name: %w", i, err)
		}
		r.superUsers[ref] = true
	}
	for i, u := range cfg.Admin.Users {
		ref, err := rbacRef(u.Name, "user", "group")
		if err != nil {
			return nil, fmt.Errorf("permission.rbac.admin.users[%d].name: %w", i, err)
		}
		r.admins = append(r.admins, ref)
	}
	r.conditionalFile = cfg.ConditionalPoliciesFile
	rules, err := r.load(ctx)
	if err != nil {
		return nil, err
	}
	r.rules.Store(rules)
	return r, nil
}

// load reads the policy files and the stored rules, and adds the
// configured admins.
func (r *RBAC) load(ctx context.Context) (*rbacRules, error) {
	rules := &rbacRules{roles: map[string][]string{}, policies: map[string][]PolicyLine{}, conditional: map[string][]ConditionalPolicy{}}
	members := map[string][]string{}
	sources := map[string]string{}
	// Each source adds lines, assignments and conditions the same way; a
	// role is listed with the first source that names it.
	name := func(role, source string) {
		if sources[role] == "" {
			sources[role] = source
		}
	}
	addLine := func(l PolicyLine) {
		rules.policies[l.Role] = append(rules.policies[l.Role], l)
		rules.list = append(rules.list, l)
		name(l.Role, l.Source)
	}
	assign := func(member, role, source string) {
		rules.roles[member] = append(rules.roles[member], role)
		members[role] = append(members[role], member)
		name(role, source)
	}
	addConditional := func(cp ConditionalPolicy, source string) {
		rules.conditional[cp.RoleEntityRef] = append(rules.conditional[cp.RoleEntityRef], cp)
		name(cp.RoleEntityRef, source)
	}

	if r.file != "" {
		f, err := os.Open(r.file)
		if err != nil {
			return nil, fmt.Errorf("permission.rbac.policies-csv-file: %w", err)
		}
		defer f.Close()
		if st, err := f.Stat(); err == nil {
			rules.modTimes[0] = st.ModTime()
		}
		lines, assignments, err := ParsePolicyCSV(f)
		if err != nil {
			return nil, fmt.Errorf("permission.rbac.policies-csv-file %s: %w", r.file, err)
		}
		for _, l := range lines {
			addLine(l)
		}
		for _, a := range assignments {
			assign(a[0], a[1], "csv-file")
		}
	}
	if r.conditionalFile != "" {
		policies, modTime, err := r.readConditional()
		if err != nil {
			return nil, err
		}
		rules.modTimes[1] = modTime
		for _, cp := range policies {
			addConditional(cp, "csv-file")
		}
	}
	stored, err := r.readStored(ctx)
	if err != nil {
		return nil, err
	}
	rules.generation = stored.generation
	for role := range stored.descriptions {
		name(role, "rest")
	}
	for _, a := range stored.members {
		assign(a[0], a[1], "rest")
	}
	for _, l := range stored.lines {
		addLine(l)
	}
	for _, cp := range stored.conditional {
		addConditional(cp, "rest")
	}
	if len(r.admins) > 0 {
		for _, ref := range r.admins {
			assign(ref, AdminRole, "configuration")
		}
		for _, p := range []Permission{PermPolicyRead, PermPolicyCreate, PermPolicyUpdate, PermPolicyDelete} {
			addLine(PolicyLine{Role: AdminRole, Permission: p.ResourceType, Action: p.Action, Effect: "allow", Source: "configuration"})
		}
		// Admins pick users and groups for roles from the catalog.
		addLine(PolicyLine{Role: AdminRole, Permission: "catalog-entity", Action: "read", Effect: "allow", Source: "configuration"})
	}
	for role, source := range sources {
		m := slices.Compact(slices.Sorted(slices.Values(members[role])))
		rules.roleList = append(rules.roleList, RoleInfo{Name: role, Members: m, Source: source, Description: stored.descriptions[role]})
	}
	slices.SortFunc(rules.roleList, func(a, b RoleInfo) int { return cmp.Compare(a.Name, b.Name) })
	return rules, nil
}

// Watch re-reads the policy files when their modification times change,
// and the stored rules when another replica changed them, until ctx ends.
// A file that no longer parses is reported and the last good policy stays
// in force.
func (r *RBAC) Watch(ctx context.Context, every time.Duration, files bool) error {
	if r.db == nil && !files {
		return nil
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		current := r.rules.Load()
		now := current.modTimes
		changed := false
		for i, name := range []string{r.file, r.conditionalFile} {
			if name == "" || !files {
				continue
			}
			if st, err := os.Stat(name); err == nil && !st.ModTime().Equal(now[i]) {
				now[i], changed = st.ModTime(), true
			}
		}
		generation := current.generation
		if r.db != nil {
			g, err := r.storedGeneration(ctx)
			if err != nil {
				r.log.Warn("cannot check the stored RBAC roles for changes", "err", err)
			} else if g != generation {
				generation, changed = g, true
			}
		}
		if !changed {
			continue
		}
		rules, err := r.load(ctx)
		if err != nil {
			r.log.Error("the RBAC policy was not reloaded; the previous policy stays in force", "err", err)
			// Do not report the same broken files again.
			stale := *current
			stale.modTimes, stale.generation = now, generation
			r.rules.Store(&stale)
			continue
		}
		r.rules.Store(rules)
		r.log.Info("reloaded the RBAC policy", "policies", len(rules.list), "roles", len(rules.roleList))
	}
}

// Policies returns every policy line, or a role's (role != "").
func (r *RBAC) Policies(role string) []PolicyLine {
	rules := r.rules.Load()
	if role == "" {
		return slices.Clone(rules.list)
	}
	return slices.Clone(rules.policies[role])
}

// Roles returns every role with its members.
func (r *RBAC) Roles() []RoleInfo { return slices.Clone(r.rules.Load().roleList) }

// Decide implements Policy. A conditional decision is Deny here: only
// the permission hook, which knows the plugins' rules, can apply it.
func (r *RBAC) Decide(ctx context.Context, p Principal, req Request) (Decision, error) {
	d, _, err := r.DecideConditional(ctx, p, req)
	if d == Conditional {
		d = Deny
	}
	return d, err
}

// DecideConditional implements ConditionalDecider. Services are not
// subject to roles: what they may do is set by their access restrictions,
// which are applied before any policy. Policy lines that match decide;
// when none does, the conditional policies of the caller's roles for the
// permission's resource type and action give a Conditional decision (any
// of their conditions suffices); otherwise it is Deny.
func (r *RBAC) DecideConditional(ctx context.Context, p Principal, req Request) (Decision, *Condition, error) {
	switch {
	case p.IsService():
		return Allow, nil, nil
	case !p.IsUser():
		return Deny, nil, nil
	}
	user := strings.ToLower(p.Subject)
	if r.superUsers[user] {
		return Allow, nil, nil
	}
	rules := r.rules.Load()
	holders := []string{user}
	if r.groups != nil {
		groups, err := r.groups(ctx, user, r.maxDepth)
		if err != nil {
			return Deny, nil, fmt.Errorf("find the groups of %s: %w", user, err)
		}
		holders = append(holders, groups...)
	}
	var roles []string
	for _, h := range holders {
		if r.superUsers[h] {
			return Allow, nil, nil
		}
		roles = append(roles, rules.roles[h]...)
	}
	var lines []PolicyLine
	for _, role := range roles {
		lines = append(lines, rules.policies[role]...)
	}
	if d, decided := decideLines(lines, req.Permission); decided {
		return d, nil, nil
	}
	action := cmp.Or(req.Permission.Action, "use")
	var conditions []Condition
	for _, role := range slices.Compact(slices.Sorted(slices.Values(roles))) {
		for _, cp := range rules.conditional[role] {
			if cp.ResourceType == req.Permission.ResourceType && slices.Contains(cp.PermissionMapping, action) {
				conditions = append(conditions, withAliases(cp.Conditions, user, holders))
			}
		}
	}
	switch len(conditions) {
	case 0:
		return Deny, nil, nil
	case 1:
		return Conditional, &conditions[0], nil
	}
	return Conditional, &Condition{AnyOf: conditions}, nil
}

// decideLines applies a caller's policy lines to a permission; decided is
// false when no line matches. Lines that name the permission win over
// lines on its resource type, so a role can allow a resource type and deny
// one permission on it.
func decideLines(lines []PolicyLine, perm Permission) (d Decision, decided bool) {
	action := cmp.Or(perm.Action, "use")
	object := perm.Name
	if !slices.ContainsFunc(lines, func(l PolicyLine) bool { return l.Permission == perm.Name }) {
		if perm.ResourceType == "" {
			return Deny, false
		}
		object = perm.ResourceType
	}
	allowed := false
	for _, l := range lines {
		if l.Permission != object || l.Action != action {
			continue
		}
		if l.Effect == "deny" {
			return Deny, true
		}
		allowed = true
	}
	if allowed {
		return Allow, true
	}
	return Deny, false
}

// policyActions are the actions a policy line may name; "use" is the
// action of permissions without a create/read/update/delete attribute.
var policyActions = []string{"create", "read", "update", "delete", "use"}

// ParsePolicyCSV reads a policy file: "p, <role>, <permission name or
// resource type>, <action>, <allow|deny>" lines and "g, <user or group>,
// <role>" lines; blank lines and lines starting with # are skipped.
// Errors name the line and the expected form.
func ParsePolicyCSV(in io.Reader) ([]PolicyLine, [][2]string, error) {
	cr := csv.NewReader(in)
	cr.FieldsPerRecord = -1
	cr.TrimLeadingSpace = true
	cr.Comment = '#'
	var lines []PolicyLine
	var assignments [][2]string
	seen := map[string]int{}
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		line, _ := cr.FieldPos(0)
		for i := range rec {
			rec[i] = strings.TrimSpace(rec[i])
		}
		switch rec[0] {
		case "p":
			l, err := parsePolicyLine(rec)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w; expected `p, role:default/<name>, <permission name or resource type>, <%s>, <allow|deny>`",
					line, err, strings.Join(policyActions, "|"))
			}
			key := l.Role + "\x00" + l.Permission + "\x00" + l.Action
			if prev, ok := seen[key]; ok {
				if lines[prev].Effect != l.Effect {
					return nil, nil, fmt.Errorf("line %d: %s %s on %s was already %sed on line %d; keep one of the two lines",
						line, l.Role, l.Action, l.Permission, lines[prev].Effect, lines[prev].line)
				}
				continue
			}
			l.line = line
			seen[key] = len(lines)
			lines = append(lines, l)
		case "g":
			if len(rec) != 3 {
				return nil, nil, fmt.Errorf("line %d: a role assignment has 3 fields, got %d; expected `g, user:default/<name> or group:default/<name>, role:default/<name>`", line, len(rec))
			}
			member, err := rbacRef(rec[1], "user", "group")
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: member: %w", line, err)
			}
			role, err := rbacRef(rec[2], "role")
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: role: %w", line, err)
			}
			if !slices.Contains(assignments, [2]string{member, role}) {
				assignments = append(assignments, [2]string{member, role})
			}
		default:
			return nil, nil, fmt.Errorf("line %d: starts with %q; a line is a policy (p, ...) or a role assignment (g, ...)", line, rec[0])
		}
	}
	return lines, assignments, nil
}

func parsePolicyLine(rec []string) (PolicyLine, error) {
	if len(rec) != 5 {
		return PolicyLine{}, fmt.Errorf("a policy has 5 fields, got %d", len(rec))
	}
	role, err := rbacRef(rec[1], "role")
	if err != nil {
		return PolicyLine{}, fmt.Errorf("role: %w", err)
	}
	l := PolicyLine{Role: role, Permission: rec[2], Action: strings.ToLower(rec[3]), Effect: strings.ToLower(rec[4]), Source: "csv-file"}
	switch {
	case l.Permission == "":
		return PolicyLine{}, errors.New("the permission is empty")
	case !slices.Contains(policyActions, l.Action):
		return PolicyLine{}, fmt.Errorf("unknown action %q", rec[3])
	case l.Effect != "allow" && l.Effect != "deny":
		return PolicyLine{}, fmt.Errorf("unknown effect %q", rec[4])
	}
	return l, nil
}

// rbacRef lower-cases an entity ref of one of kinds, adding the default
// namespace when it has none.
func rbacRef(s string, kinds ...string) (string, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	kind, rest, ok := strings.Cut(s, ":")
	if !ok || !slices.Contains(kinds, kind) {
		return "", fmt.Errorf("%q is not a %s ref; write it as %s:default/<name>", s, strings.Join(kinds, " or "), kinds[0])
	}
	ns, name, ok := strings.Cut(rest, "/")
	if !ok {
		ns, name = "default", rest
	}
	if ns == "" || name == "" || strings.Contains(name, "/") {
		return "", fmt.Errorf("%q is not a %s ref; write it as %s:default/<name>", s, strings.Join(kinds, " or "), kinds[0])
	}
	return kind + ":" + ns + "/" + name, nil
}
