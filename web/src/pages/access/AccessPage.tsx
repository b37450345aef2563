import { useState, type FormEvent } from 'react';
import { useApi } from '../../api/auth';
import { createRole, deleteRole, loadAccess, memberRefs, policyActions, type NewRole, type Policy, type Role } from '../../api/rbac';
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
  const api = useApi();
  const [error, setError] = useState<unknown>();
  if (!roles.length) return <EmptyState title="No roles yet">Make one below, or in the policy file.</EmptyState>;
  const remove = async (ref: string) => {
    setError(undefined);
    try {
      await deleteRole(api, ref);
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
            <tr key={r.name}>
              <td>
                <code>{r.name}</code> <Chip tone={r.metadata.source === 'rest' ? 'info' : 'neutral'}>{sourceLabel[r.metadata.source] ?? r.metadata.source}</Chip>
                {r.metadata.description ? <div className="muted">{r.metadata.description}</div> : null}
              </td>
              <td>
                {r.memberReferences.map((m) => (
                  <code key={m} className="ref">
                    {m}
                  </code>
                ))}
              </td>
              <td>
                <ul className="plain-list">
                  {policies
                    .filter((p) => p.entityReference === r.name)
                    .map((p) => (
                      <li key={`${p.permission} ${p.policy}`}>
                        <Chip tone={p.effect === 'deny' ? 'danger' : 'success'}>{p.effect}</Chip> {p.policy} <code>{p.permission}</code>
                      </li>
                    ))}
                </ul>
              </td>
              <td>
                {r.metadata.source === 'rest' ? (
                  <button type="button" className="btn btn-danger" onClick={() => void remove(r.name)} aria-label={`Delete ${r.name}`}>
                    Delete
                  </button>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      </div>
    </Card>
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
