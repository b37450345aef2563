import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthTestProvider } from '../../api/auth';
import { memberRefs, roleRef, rolePath } from '../../api/rbac';
import AccessPage from './AccessPage';

interface Call {
  method: string;
  url: string;
  body?: unknown;
}

/** serve answers fetch from a table of "METHOD path" → [status, body] and records the calls. */
function serve(routes: Record<string, [number, unknown]>): Call[] {
  const calls: Call[] = [];
  vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
    const path = new URL(url).pathname;
    const method = init.method ?? 'GET';
    calls.push({ method, url: path, body: init.body ? JSON.parse(String(init.body)) : undefined });
    const [status, body] = routes[`${method} ${path}`] ?? [404, { error: { name: 'NotFoundError', message: `no route ${method} ${path}` } }];
    return new Response(body === undefined ? '' : JSON.stringify(body), { status });
  });
  return calls;
}

const roles = [
  { name: 'role:default/readers', memberReferences: ['group:default/platform'], metadata: { source: 'csv-file' } },
  { name: 'role:default/viewers', memberReferences: ['user:default/bob'], metadata: { source: 'rest', description: 'reads the catalog' } },
];
const policies = [
  { entityReference: 'role:default/readers', permission: 'catalog-entity', policy: 'read', effect: 'allow' },
  { entityReference: 'role:default/viewers', permission: 'catalog.entity.delete', policy: 'delete', effect: 'deny' },
];

describe('access page', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('says when RBAC is off', async () => {
    serve({});
    render(<AuthTestProvider><AccessPage /></AuthTestProvider>);
    expect(await screen.findByText('Role-based access control is off')).toBeTruthy();
  });

  it('says when the user may not see roles', async () => {
    serve({ 'GET /api/permission/roles': [403, { error: { name: 'NotAllowedError', message: 'permission policy.entity.read denied' } }], 'GET /api/permission/policies': [403, {}] });
    render(<AuthTestProvider><AccessPage /></AuthTestProvider>);
    expect(await screen.findByText('Not allowed')).toBeTruthy();
  });

  it('lists roles with their members and policies, and deletes only roles made here', async () => {
    const calls = serve({
      'GET /api/permission/roles': [200, roles],
      'GET /api/permission/policies': [200, policies],
      'DELETE /api/permission/roles/role/role/default/viewers': [204, undefined],
    });
    render(<AuthTestProvider><AccessPage /></AuthTestProvider>);
    expect(await screen.findByText('role:default/readers')).toBeTruthy();
    expect(screen.getByText('group:default/platform')).toBeTruthy();
    expect(screen.getByText('reads the catalog')).toBeTruthy();
    expect(screen.getByText('catalog.entity.delete')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Delete role:default/readers' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Delete role:default/viewers' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true));
  });

  it('edits the members and policies of a role made here', async () => {
    const calls = serve({
      'GET /api/permission/roles': [200, roles],
      'GET /api/permission/policies': [200, policies],
      'PUT /api/permission/roles/role/role/default/viewers': [200, undefined],
      'POST /api/permission/policies': [201, undefined],
      'DELETE /api/permission/policies/role/default/viewers': [204, undefined],
    });
    render(<AuthTestProvider><AccessPage /></AuthTestProvider>);
    expect(await screen.findByText('role:default/readers')).toBeTruthy();
    expect(screen.queryByRole('button', { name: 'Edit role:default/readers' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Remove deny delete catalog.entity.delete from role:default/viewers' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true));
    expect(calls.find((c) => c.method === 'DELETE')).toEqual({
      method: 'DELETE',
      url: '/api/permission/policies/role/default/viewers',
      body: [{ entityReference: 'role:default/viewers', permission: 'catalog.entity.delete', policy: 'delete', effect: 'deny' }],
    });

    fireEvent.click(screen.getByRole('button', { name: 'Edit role:default/viewers' }));
    fireEvent.change(screen.getByLabelText('Members of role:default/viewers'), { target: { value: 'user:default/bob\ngroup:default/team-a' } });
    fireEvent.change(screen.getByLabelText('New permission of role:default/viewers'), { target: { value: 'catalog-entity' } });
    fireEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST')).toBe(true));
    expect(calls.find((c) => c.method === 'PUT')?.body).toEqual({
      name: 'role:default/viewers',
      memberReferences: ['user:default/bob', 'group:default/team-a'],
      metadata: { description: 'reads the catalog' },
    });
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual([{ entityReference: 'role:default/viewers', permission: 'catalog-entity', policy: 'read', effect: 'allow' }]);
  });

  it('creates a role and then its policies', async () => {
    const calls = serve({
      'GET /api/permission/roles': [200, []],
      'GET /api/permission/policies': [200, []],
      'POST /api/permission/roles': [201, undefined],
      'POST /api/permission/policies': [201, undefined],
    });
    render(<AuthTestProvider><AccessPage /></AuthTestProvider>);
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'developers' } });
    fireEvent.change(screen.getByLabelText(/Members/), { target: { value: 'group:default/team-a\njane' } });
    fireEvent.change(screen.getByLabelText('Permission 1'), { target: { value: 'catalog-entity' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create role' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'POST')).toHaveLength(2));
    const posts = calls.filter((c) => c.method === 'POST');
    expect(posts[0]).toEqual({
      method: 'POST',
      url: '/api/permission/roles',
      body: { name: 'role:default/developers', memberReferences: ['group:default/team-a', 'user:default/jane'], metadata: { description: '' } },
    });
    expect(posts[1].body).toEqual([{ entityReference: 'role:default/developers', permission: 'catalog-entity', policy: 'read', effect: 'allow' }]);
  });

  it('shows the server’s reason when a role cannot be made', async () => {
    serve({
      'GET /api/permission/roles': [200, []],
      'GET /api/permission/policies': [200, []],
      'POST /api/permission/roles': [409, { error: { name: 'ConflictError', message: 'a role named role:default/x already exists' } }],
    });
    render(<AuthTestProvider><AccessPage /></AuthTestProvider>);
    fireEvent.change(await screen.findByLabelText('Name'), { target: { value: 'x' } });
    fireEvent.change(screen.getByLabelText(/Members/), { target: { value: 'jane' } });
    fireEvent.click(screen.getByRole('button', { name: 'Create role' }));
    expect(await screen.findByText(/a role named role:default\/x already exists/)).toBeTruthy();
  });
});

describe('role helpers', () => {
  it.each([
    ['developers', 'role:default/developers'],
    ['ops/admins', 'role:ops/admins'],
    ['role:default/x', 'role:default/x'],
  ])('roleRef(%s)', (name, want) => expect(roleRef(name)).toBe(want));

  it('reads members', () => {
    expect(memberRefs('jane, ops/joe\ngroup:default/team-a\n\n')).toEqual(['user:default/jane', 'user:ops/joe', 'group:default/team-a']);
  });

  it('builds role paths', () => {
    expect(rolePath('role:default/viewers')).toBe('/api/permission/roles/role/role/default/viewers');
  });
});
