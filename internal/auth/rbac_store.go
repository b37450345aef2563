package auth

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/portico-dev/portico/internal/errs"
	"github.com/portico-dev/portico/internal/store"
)

// Roles and policies made through the RBAC REST API live in the database,
// so that every replica applies them; the policy file and the
// configuration stay read-only sources. Each change bumps a generation
// that the watcher compares (see Watch).

// RoleChange is a role as the REST API creates or replaces it.
type RoleChange struct {
	Name        string
	Members     []string
	Description string
}

// storedRules are the database's roles and policies.
type storedRules struct {
	generation   int64
	descriptions map[string]string
	members      [][2]string // member, role
	lines        []PolicyLine
	conditional  []ConditionalPolicy
}

func (r *RBAC) readStored(ctx context.Context) (storedRules, error) {
	out := storedRules{descriptions: map[string]string{}}
	if r.db == nil {
		return out, nil
	}
	err := r.db.ReadTx(ctx, func(tx *sql.Tx) error {
		if err := tx.QueryRowContext(ctx, `SELECT generation FROM rbac_generation WHERE id = 1`).Scan(&out.generation); err != nil {
			return err
		}
		if err := scanRows(ctx, tx, `SELECT name, description FROM rbac_roles ORDER BY name`, func(rows *sql.Rows) error {
			var name, desc string
			err := rows.Scan(&name, &desc)
			out.descriptions[name] = desc
			return err
		}); err != nil {
			return err
		}
		if err := scanRows(ctx, tx, `SELECT member, role FROM rbac_role_members ORDER BY role, member`, func(rows *sql.Rows) error {
			var m [2]string
			err := rows.Scan(&m[0], &m[1])
			out.members = append(out.members, m)
			return err
		}); err != nil {
			return err
		}
		if err := scanRows(ctx, tx, `SELECT role, permission, action, effect FROM rbac_policies ORDER BY role, permission, action`, func(rows *sql.Rows) error {
			l := PolicyLine{Source: "rest"}
			err := rows.Scan(&l.Role, &l.Permission, &l.Action, &l.Effect)
			out.lines = append(out.lines, l)
			return err
		}); err != nil {
			return err
		}
		return scanRows(ctx, tx, `SELECT id, role, plugin_id, resource_type, permission_mapping, conditions FROM rbac_conditions ORDER BY id`, func(rows *sql.Rows) error {
			cp := ConditionalPolicy{Result: string(Conditional)}
			var mapping, conditions string
			if err := rows.Scan(&cp.ID, &cp.RoleEntityRef, &cp.PluginID, &cp.ResourceType, &mapping, &conditions); err != nil {
				return err
			}
			if err := json.Unmarshal([]byte(mapping), &cp.PermissionMapping); err != nil {
				return fmt.Errorf("conditional policy %d: %w", cp.ID, err)
			}
			if err := json.Unmarshal([]byte(conditions), &cp.Conditions); err != nil {
				return fmt.Errorf("conditional policy %d: %w", cp.ID, err)
			}
			out.conditional = append(out.conditional, cp)
			return nil
		})
	})
	if err != nil {
		return storedRules{}, fmt.Errorf("read RBAC roles and policies: %w", err)
	}
	return out, nil
}

func scanRows(ctx context.Context, tx *sql.Tx, query string, scan func(*sql.Rows) error) error {
	rows, err := tx.QueryContext(ctx, query)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

func (r *RBAC) storedGeneration(ctx context.Context) (int64, error) {
	var g int64
	err := r.db.QueryRowContext(ctx, `SELECT generation FROM rbac_generation WHERE id = 1`).Scan(&g)
	return g, err
}

// change runs fn in a transaction that bumps the generation, then reloads
// this replica's rules, so the change applies here before the API answers.
func (r *RBAC) change(ctx context.Context, fn func(tx *sql.Tx) error) error {
	if r.db == nil {
		return errs.NotAllowedf("roles and policies cannot be changed through the API without a database")
	}
	err := r.db.Tx(ctx, func(tx *sql.Tx) error {
		if err := fn(tx); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE rbac_generation SET generation = generation + 1 WHERE id = 1`)
		return err
	})
	if err != nil {
		return err
	}
	rules, err := r.load(ctx)
	if err != nil {
		return err
	}
	r.rules.Store(rules)
	return nil
}

// editable refuses to change a role defined outside the database.
func (r *RBAC) editable(role string) error {
	for _, info := range r.rules.Load().roleList {
		if info.Name == role && info.Source != "rest" {
			where := "the policy file"
			if info.Source == "configuration" {
				where = "permission.rbac.admin"
			}
			return errs.NotAllowedf("%s is defined in %s; change it there", role, where)
		}
	}
	return nil
}

func checkRole(c RoleChange) (RoleChange, error) {
	role, err := rbacRef(c.Name, "role")
	if err != nil {
		return c, errs.InputErrorf("name: %v", err)
	}
	c.Name = role
	if len(c.Members) == 0 {
		return c, errs.InputErrorf("memberReferences: empty; a role needs at least one user or group")
	}
	for i, m := range c.Members {
		ref, err := rbacRef(m, "user", "group")
		if err != nil {
			return c, errs.InputErrorf("memberReferences[%d]: %v", i, err)
		}
		c.Members[i] = ref
	}
	slices.Sort(c.Members)
	c.Members = slices.Compact(c.Members)
	return c, nil
}

// CreateRole stores a new role with its members.
func (r *RBAC) CreateRole(ctx context.Context, c RoleChange, by string) error {
	c, err := checkRole(c)
	if err != nil {
		return err
	}
	if err := r.editable(c.Name); err != nil {
		return err
	}
	return r.change(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO rbac_roles (name, description, modified_by, updated_at) VALUES ($1, $2, $3, $4)`,
			c.Name, c.Description, by, store.Now())
		if store.IsUniqueViolation(err) {
			return errs.Conflictf("a role named %s already exists", c.Name)
		}
		if err != nil {
			return err
		}
		return insertMembers(ctx, tx, c.Name, c.Members)
	})
}

func insertMembers(ctx context.Context, tx *sql.Tx, role string, members []string) error {
	for _, m := range members {
		if _, err := tx.ExecContext(ctx, `INSERT INTO rbac_role_members (role, member) VALUES ($1, $2)`, role, m); err != nil {
			return err
		}
	}
	return nil
}

// UpdateRole replaces a stored role (renaming it when c names another).
func (r *RBAC) UpdateRole(ctx context.Context, role string, c RoleChange, by string) error {
	role, err := rbacRef(role, "role")
	if err != nil {
		return errs.InputErrorf("%v", err)
	}
	if c, err = checkRole(c); err != nil {
		return err
	}
	for _, name := range []string{role, c.Name} {
		if err := r.editable(name); err != nil {
			return err
		}
	}
	return r.change(ctx, func(tx *sql.Tx) error {
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM rbac_roles WHERE name = $1`, role).Scan(&exists)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFoundf("%s was not found", role)
		}
		if err != nil {
			return err
		}
		if c.Name == role {
			if _, err := tx.ExecContext(ctx, `UPDATE rbac_roles SET description = $1, modified_by = $2, updated_at = $3 WHERE name = $4`,
				c.Description, by, store.Now(), role); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM rbac_role_members WHERE role = $1`, role); err != nil {
				return err
			}
			return insertMembers(ctx, tx, role, c.Members)
		}
		// A renamed role keeps its policies and conditions.
		_, err = tx.ExecContext(ctx, `INSERT INTO rbac_roles (name, description, modified_by, updated_at) VALUES ($1, $2, $3, $4)`,
			c.Name, c.Description, by, store.Now())
		if store.IsUniqueViolation(err) {
			return errs.Conflictf("a role named %s already exists", c.Name)
		}
		if err != nil {
			return err
		}
		for _, q := range []string{`UPDATE rbac_policies SET role = $1 WHERE role = $2`, `UPDATE rbac_conditions SET role = $1 WHERE role = $2`} {
			if _, err := tx.ExecContext(ctx, q, c.Name, role); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM rbac_roles WHERE name = $1`, role); err != nil {
			return err
		}
		return insertMembers(ctx, tx, c.Name, c.Members)
	})
}

// DeleteRole deletes a stored role and its policies, or only the given
// members of it.
func (r *RBAC) DeleteRole(ctx context.Context, role string, members []string) error {
	role, err := rbacRef(role, "role")
	if err != nil {
		return errs.InputErrorf("%v", err)
	}
	if err := r.editable(role); err != nil {
		return err
	}
	return r.change(ctx, func(tx *sql.Tx) error {
		var res sql.Result
		var err error
		if len(members) == 0 {
			res, err = tx.ExecContext(ctx, `DELETE FROM rbac_roles WHERE name = $1`, role)
		} else {
			for _, m := range members {
				ref, err := rbacRef(m, "user", "group")
				if err != nil {
					return errs.InputErrorf("memberReferences: %v", err)
				}
				if res, err = tx.ExecContext(ctx, `DELETE FROM rbac_role_members WHERE role = $1 AND member = $2`, role, ref); err != nil {
					return err
				}
				if n, _ := res.RowsAffected(); n == 0 {
					return errs.NotFoundf("%s is not a member of %s", ref, role)
				}
			}
			return nil
		}
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("%s was not found", role)
		}
		return nil
	})
}

// checkPolicy validates a policy of the REST API as a policy file line.
func checkPolicy(l PolicyLine, at string) (PolicyLine, error) {
	checked, err := parsePolicyLine([]string{"p", l.Role, l.Permission, l.Action, l.Effect})
	if err != nil {
		return l, errs.InputErrorf("%s: %v", at, err)
	}
	checked.Source = "rest"
	return checked, nil
}

// AddPolicies stores policies of stored roles.
func (r *RBAC) AddPolicies(ctx context.Context, lines []PolicyLine) error {
	if len(lines) == 0 {
		return errs.InputErrorf("no policies given; send a list of {entityReference, permission, policy, effect}")
	}
	for i := range lines {
		var err error
		if lines[i], err = checkPolicy(lines[i], fmt.Sprintf("[%d]", i)); err != nil {
			return err
		}
		if err := r.editable(lines[i].Role); err != nil {
			return err
		}
	}
	return r.change(ctx, func(tx *sql.Tx) error { return insertPolicies(ctx, tx, lines) })
}

func insertPolicies(ctx context.Context, tx *sql.Tx, lines []PolicyLine) error {
	for _, l := range lines {
		var exists int
		err := tx.QueryRowContext(ctx, `SELECT 1 FROM rbac_roles WHERE name = $1`, l.Role).Scan(&exists)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.NotFoundf("%s was not found; create the role first", l.Role)
		}
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO rbac_policies (role, permission, action, effect) VALUES ($1, $2, $3, $4)`,
			l.Role, l.Permission, l.Action, l.Effect)
		if store.IsUniqueViolation(err) {
			return errs.Conflictf("%s already has a policy for %s %s", l.Role, l.Action, l.Permission)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// DeletePolicies deletes policies of a stored role.
func (r *RBAC) DeletePolicies(ctx context.Context, role string, lines []PolicyLine) error {
	role, err := rbacRef(role, "role")
	if err != nil {
		return errs.InputErrorf("%v", err)
	}
	if err := r.editable(role); err != nil {
		return err
	}
	for i := range lines {
		lines[i].Role = role
		if lines[i], err = checkPolicy(lines[i], fmt.Sprintf("[%d]", i)); err != nil {
			return err
		}
	}
	return r.change(ctx, func(tx *sql.Tx) error { return deletePolicies(ctx, tx, lines) })
}

func deletePolicies(ctx context.Context, tx *sql.Tx, lines []PolicyLine) error {
	for _, l := range lines {
		res, err := tx.ExecContext(ctx, `DELETE FROM rbac_policies WHERE role = $1 AND permission = $2 AND action = $3 AND effect = $4`,
			l.Role, l.Permission, l.Action, l.Effect)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return errs.NotFoundf("%s has no policy %s %s %s", l.Role, l.Effect, l.Action, l.Permission)
		}
	}
	return nil
}

// UpdatePolicies replaces old policies of a stored role with new ones, in
// one transaction.
func (r *RBAC) UpdatePolicies(ctx context.Context, role string, old, updated []PolicyLine) error {
	role, err := rbacRef(role, "role")
	if err != nil {
		return errs.InputErrorf("%v", err)
	}
	if err := r.editable(role); err != nil {
		return err
	}
	if len(old) == 0 || len(updated) == 0 {
		return errs.InputErrorf("give both oldPolicy and newPolicy")
	}
	for i := range old {
		old[i].Role = role
		if old[i], err = checkPolicy(old[i], fmt.Sprintf("oldPolicy[%d]", i)); err != nil {
			return err
		}
	}
	for i := range updated {
		updated[i].Role = role
		if updated[i], err = checkPolicy(updated[i], fmt.Sprintf("newPolicy[%d]", i)); err != nil {
			return err
		}
	}
	return r.change(ctx, func(tx *sql.Tx) error {
		if err := deletePolicies(ctx, tx, old); err != nil {
			return err
		}
		return insertPolicies(ctx, tx, updated)
	})
}

// checkConditionalChange checks a conditional policy the REST API
// received, as the file's are checked.
func (r *RBAC) checkConditionalChange(cp *ConditionalPolicy) error {
	if cp.Result == "" {
		cp.Result = string(Conditional)
	}
	if err := checkConditionalShape(cp); err != nil {
		return errs.InputErrorf("%v", err)
	}
	if err := r.checkConditional(*cp, ""); err != nil {
		return errs.InputErrorf("%v", err)
	}
	return nil
}

// CreateConditional stores a conditional policy and returns its id.
func (r *RBAC) CreateConditional(ctx context.Context, cp ConditionalPolicy) (int64, error) {
	if err := r.checkConditionalChange(&cp); err != nil {
		return 0, err
	}
	mapping, _ := json.Marshal(cp.PermissionMapping)
	conditions, _ := json.Marshal(cp.Conditions)
	var id int64
	err := r.change(ctx, func(tx *sql.Tx) error {
		return tx.QueryRowContext(ctx, `INSERT INTO rbac_conditions (role, plugin_id, resource_type, permission_mapping, conditions) VALUES ($1, $2, $3, $4, $5) RETURNING id`,
			cp.RoleEntityRef, cp.PluginID, cp.ResourceType, string(mapping), string(conditions)).Scan(&id)
	})
	return id, err
}

// UpdateConditional replaces a stored conditional policy.
func (r *RBAC) UpdateConditional(ctx context.Context, id int64, cp ConditionalPolicy) error {
	if err := r.checkConditionalChange(&cp); err != nil {
		return err
	}
	mapping, _ := json.Marshal(cp.PermissionMapping)
	conditions, _ := json.Marshal(cp.Conditions)
	return r.change(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE rbac_conditions SET role = $1, plugin_id = $2, resource_type = $3, permission_mapping = $4, conditions = $5 WHERE id = $6`,
			cp.RoleEntityRef, cp.PluginID, cp.ResourceType, string(mapping), string(conditions), id)
		return oneRow(res, err, id)
	})
}

// DeleteConditional deletes a stored conditional policy.
func (r *RBAC) DeleteConditional(ctx context.Context, id int64) error {
	return r.change(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM rbac_conditions WHERE id = $1`, id)
		return oneRow(res, err, id)
	})
}

func oneRow(res sql.Result, err error, id int64) error {
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.NotFoundf("no conditional policy with id %d", id)
	}
	return nil
}
