import { useState, type FormEvent } from 'react';
import { useApi } from '../../api/auth';
import {
  addPolicy,
  createRole,
  deleteRole,
  loadAccess,
  memberRefs,
  policyActions,
  removePolicy,
  updateRole,
  type NewRole,
  type Policy,
  type Role,
} from '../../api/rbac';
import { Card, Chip, Page } from '../../components/Page';
import { EmptyState, ErrorPanel, InlineError, Loading } from '../../components/States';
import { useAsync } from '../../hooks/useAsync';

const sourceLabel: Record<string, string> = { 'csv-file': 'policy file', configuration: 'configuration', rest: 'made here' };

/** AccessPage lists the RBAC roles with their members and policies, and makes and deletes roles. */
export default function AccessPage() {
  const api = useApi();
  const state = useAsync((signal) => loadAccess(api, signal), [api]);
  let body;
  if (state.error) body = <ErrorPanel error={state.error} onRetry={state.reload} />;
  else if (!state.value) body = <Loading />;
  else if (state.value.kind === 'off')
    body = (
      <EmptyState title="Role-based access control is off">
        Every signed-in user may do everything. Set <code>permission.enabled: true</code> and <code>permission.rbac</code> to use roles.
      </EmptyState>
    );
  else if (state.value.kind === 'denied')
    body = <EmptyState title="Not allowed">Only RBAC admins (permission.rbac.admin.users) may see roles and policies.</EmptyState>;
  else
    body = (
      <>
        <RoleList roles={state.value.roles} policies={state.value.policies} onChange={state.reload} />
        <RoleForm onCreated={state.reload} />
      </>
    );
  return <Page title="Access">{body}</Page>;
}

function RoleList({ roles, policies, onChange }: { roles: Role[]; policies: Policy[]; onChange: () => void }) {
  const [error, setError] = useState<unknown>();
  if (!roles.length) return <EmptyState title="No roles yet">Make one below, or in the policy file.</EmptyState>;
  // act runs a change and reloads, or shows why it failed.
  const act = async (change: () => Promise<void>) => {
    setError(undefined);
    try {
      await change();
      onChange();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <Card title="Roles">
      {error ? <InlineError error={error} /> : null}
      <div className="table-wrap">
        <table className="table">
          <thead>
            <tr>
              <th>Role</th>
              <th>Members</th>
              <th>Policies</th>
              <th>
                <span className="sr-only">Actions</span>
              </th>
            </tr>
          </thead>
          <tbody>
            {roles.map((r) => (
              <RoleRow key={r.name} role={r} policies={policies.filter((p) => p.entityReference === r.name)} act={act} />
            ))}
          </tbody>
        </table>
      </div>
    </Card>
  );
}

/** RoleRow shows a role; roles made here can be edited (members, policies) and deleted. */
function RoleRow({ role, policies, act }: { role: Role; policies: Policy[]; act: (change: () => Promise<void>) => Promise<void> }) {
  const api = useApi();
  const editable = role.metadata.source === 'rest';
  const [editing, setEditing] = useState(false);
  const [members, setMembers] = useState(role.memberReferences.join('\n'));
  const [added, setAdded] = useState({ permission: '', policy: 'read', effect: 'allow' });
  const save = () =>
    act(async () => {
      await updateRole(api, role.name, memberRefs(members), role.metadata.description);
      if (added.permission.trim()) await addPolicy(api, role.name, added);
      setEditing(false);
      setAdded({ permission: '', policy: 'read', effect: 'allow' });
    });
  return (
    <tr>
      <td>
        <code>{role.name}</code> <Chip tone={editable ? 'info' : 'neutral'}>{sourceLabel[role.metadata.source] ?? role.metadata.source}</Chip>
        {role.metadata.description ? <div className="muted">{role.metadata.description}</div> : null}
      </td>
      <td>
        {editing ? (
          <textarea aria-label={`Members of ${role.name}`} value={members} onChange={(e) => setMembers(e.target.value)} />
        ) : (
          role.memberReferences.map((m) => (
            <code key={m} className="ref">
              {m}
            </code>
          ))
        )}
      </td>
      <td>
        <ul className="plain-list">
          {policies.map((p) => (
            <li key={`${p.permission} ${p.policy}`}>
              <Chip tone={p.effect === 'deny' ? 'danger' : 'success'}>{p.effect}</Chip> {p.policy} <code>{p.permission}</code>
              {editable ? (
                <button type="button" className="btn" aria-label={`Remove ${p.effect} ${p.policy} ${p.permission} from ${role.name}`} onClick={() => void act(() => removePolicy(api, p))}>
                  ×
                </button>
              ) : null}
            </li>
          ))}
        </ul>
        {editing ? (
          <div className="row">
            <input aria-label={`New permission of ${role.name}`} value={added.permission} placeholder="catalog-entity" onChange={(e) => setAdded({ ...added, permission: e.target.value })} />
            <select aria-label={`New action of ${role.name}`} value={added.policy} onChange={(e) => setAdded({ ...added, policy: e.target.value })}>
              {policyActions.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </select>
            <select aria-label={`New effect of ${role.name}`} value={added.effect} onChange={(e) => setAdded({ ...added, effect: e.target.value })}>
              <option>allow</option>
              <option>deny</option>
            </select>
          </div>
        ) : null}
      </td>
      <td>
        {editable && editing ? (
          <>
            <button type="button" className="btn btn-primary" onClick={() => void save()}>
              Save
            </button>
            <button type="button" className="btn" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </>
        ) : null}
        {editable && !editing ? (
          <>
            <button type="button" className="btn" onClick={() => setEditing(true)} aria-label={`Edit ${role.name}`}>
              Edit
            </button>
            <button type="button" className="btn btn-danger" onClick={() => void act(() => deleteRole(api, role.name))} aria-label={`Delete ${role.name}`}>
              Delete
            </button>
          </>
        ) : null}
      </td>
    </tr>
  );
}

const emptyRole = (): NewRole => ({ name: '', description: '', members: [], policies: [{ permission: '', policy: 'read', effect: 'allow' }] });

function RoleForm({ onCreated }: { onCreated: () => void }) {
  const api = useApi();
  const [role, setRole] = useState<NewRole>(emptyRole);
  const [members, setMembers] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      await createRole(api, { ...role, members: memberRefs(members) });
      setRole(emptyRole());
      setMembers('');
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const setPolicy = (i: number, patch: Partial<NewRole['policies'][number]>) =>
    setRole((r) => ({ ...r, policies: r.policies.map((p, j) => (j === i ? { ...p, ...patch } : p)) }));
  return (
    <Card title="New role">
      <form onSubmit={(e) => void submit(e)} className="stack">
        <label className="field">
          Name
          <input required value={role.name} placeholder="developers" onChange={(e) => setRole({ ...role, name: e.target.value })} />
        </label>
        <label className="field">
          Description
          <input value={role.description} onChange={(e) => setRole({ ...role, description: e.target.value })} />
        </label>
        <label className="field">
          Members (users or groups, one per line)
          <textarea required value={members} placeholder={'group:default/team-a\nuser:default/jane'} onChange={(e) => setMembers(e.target.value)} />
        </label>
        <fieldset>
          <legend>Policies</legend>
          {role.policies.map((p, i) => (
            <div className="row" key={i}>
              <input aria-label={`Permission ${i + 1}`} value={p.permission} placeholder="catalog-entity or catalog.entity.create" onChange={(e) => setPolicy(i, { permission: e.target.value })} />
              <select aria-label={`Action ${i + 1}`} value={p.policy} onChange={(e) => setPolicy(i, { policy: e.target.value })}>
                {policyActions.map((a) => (
                  <option key={a}>{a}</option>
                ))}
              </select>
              <select aria-label={`Effect ${i + 1}`} value={p.effect} onChange={(e) => setPolicy(i, { effect: e.target.value })}>
                <option>allow</option>
                <option>deny</option>
              </select>
            </div>
          ))}
          <button type="button" className="btn" onClick={() => setRole((r) => ({ ...r, policies: [...r.policies, { permission: '', policy: 'read', effect: 'allow' }] }))}>
            Add a policy
          </button>
        </fieldset>
        {error ? <InlineError error={error} /> : null}
        <button type="submit" className="btn btn-primary" disabled={busy}>
          Create role
        </button>
      </form>
    </Card>
  );
}
