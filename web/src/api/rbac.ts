// Types and calls of the RBAC API (/api/permission/roles, /policies), which
// is Red Hat Developer Hub's. It exists only while permissions are on.
import { useAsync } from '../hooks/useAsync';
import { useApi } from './auth';
import { ApiError, type ApiClient } from './client';

export type RoleSource = 'csv-file' | 'configuration' | 'rest' | string;

export interface Role {
  name: string;
  memberReferences: string[];
  metadata: { source: RoleSource; description?: string };
}

export interface Policy {
  entityReference: string;
  permission: string;
  policy: string;
  effect: 'allow' | 'deny' | string;
  metadata?: { source: RoleSource };
}

export const policyActions = ['read', 'create', 'update', 'delete', 'use'] as const;

/** AccessState says whether roles can be shown: RBAC off, not allowed, or the roles. */
export type AccessState = { kind: 'off' } | { kind: 'denied' } | { kind: 'roles'; roles: Role[]; policies: Policy[] };

/** loadAccess reads the roles and policies, telling "RBAC is off" (404) and "not yours to see" (403) apart. */
export async function loadAccess(api: ApiClient, signal?: AbortSignal): Promise<AccessState> {
  try {
    const [roles, policies] = await Promise.all([
      api.get<Role[]>('/api/permission/roles', { signal }),
      api.get<Policy[]>('/api/permission/policies', { signal }),
    ]);
    return { kind: 'roles', roles, policies };
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return { kind: 'off' };
    if (e instanceof ApiError && e.status === 403) return { kind: 'denied' };
    throw e;
  }
}

/** useCanSeeAccess tells whether the signed-in user may see the roles (for the sidebar). */
export function useCanSeeAccess(): boolean {
  const api = useApi();
  const state = useAsync(async (signal) => {
    try {
      await api.get('/api/permission/roles', { signal });
      return true;
    } catch {
      return false;
    }
  }, [api]);
  return state.value === true;
}

/** NewRole is what the form creates: a role, its members and its policies. */
export interface NewRole {
  name: string;
  description: string;
  members: string[];
  policies: { permission: string; policy: string; effect: string }[];
}

/** roleRef completes a role name into a role ref ("developers" → "role:default/developers"). */
export function roleRef(name: string): string {
  const n = name.trim();
  if (n.startsWith('role:')) return n;
  return n.includes('/') ? `role:${n}` : `role:default/${n}`;
}

/** memberRefs reads members from text: one per line or comma separated; a bare name is a user. */
export function memberRefs(text: string): string[] {
  return text
    .split(/[\n,]/)
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => (s.includes(':') ? s : s.includes('/') ? `user:${s}` : `user:default/${s}`));
}

/** createRole creates the role, then its policies. */
export async function createRole(api: ApiClient, r: NewRole): Promise<void> {
  const name = roleRef(r.name);
  await api.post('/api/permission/roles', { name, memberReferences: r.members, metadata: { description: r.description } });
  const policies = r.policies.filter((p) => p.permission.trim());
  if (policies.length) {
    await api.post(
      '/api/permission/policies',
      policies.map((p) => ({ entityReference: name, permission: p.permission.trim(), policy: p.policy, effect: p.effect })),
    );
  }
}

/** rolePath is a role's path below /api/permission/roles/role. */
export function rolePath(ref: string): string {
  const [kind, rest] = ref.split(':', 2);
  const [namespace, name] = rest.split('/', 2);
  return `/api/permission/roles/role/${encodeURIComponent(kind)}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** deleteRole deletes a role made through the API, with its policies. */
export function deleteRole(api: ApiClient, ref: string): Promise<void> {
  return api.delete(rolePath(ref));
}

/** policyPath is a role's path below /api/permission/policies. */
function policyPath(ref: string): string {
  return rolePath(ref).replace('/api/permission/roles/role/', '/api/permission/policies/');
}

/** updateRole replaces the members (and description) of a role made through the API. */
export function updateRole(api: ApiClient, ref: string, members: string[], description?: string): Promise<void> {
  return api.put(rolePath(ref), { name: ref, memberReferences: members, metadata: { description: description ?? '' } });
}

/** addPolicy gives a role made through the API one more policy. */
export function addPolicy(api: ApiClient, ref: string, p: { permission: string; policy: string; effect: string }): Promise<void> {
  return api.post('/api/permission/policies', [{ entityReference: ref, permission: p.permission.trim(), policy: p.policy, effect: p.effect }]);
}

/** removePolicy takes a policy from a role made through the API. */
export function removePolicy(api: ApiClient, p: Policy): Promise<void> {
  return api.request(policyPath(p.entityReference), {
    method: 'DELETE',
    body: [{ entityReference: p.entityReference, permission: p.permission, policy: p.policy, effect: p.effect }],
  });
}
