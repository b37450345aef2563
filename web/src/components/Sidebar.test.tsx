import { act, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthTestProvider } from '../api/auth';
import { Router } from '../router';
import { appPath } from '../pages/notifications/NotificationsPage';
import { Sidebar } from './Sidebar';

describe('Sidebar', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('lists every section and shows the unread count from the notifications API', async () => {
    const fetchMock = vi.fn(async (url: string) =>
      String(url).includes('/api/permission/roles') ? new Response('', { status: 404 }) : new Response('{"unread": 3, "read": 1}', { status: 200 }),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(
      <Router>
        <AuthTestProvider>
          <Sidebar open={false} onNavigate={() => undefined} />
        </AuthTestProvider>
      </Router>,
    );
    const nav = screen.getByRole('navigation', { name: 'Main' });
    expect([...nav.querySelectorAll('li a')].map((a) => a.getAttribute('href'))).toEqual(['/', '/catalog', '/create', '/workflows', '/notifications', '/settings']);
    expect(await screen.findByRole('link', { name: 'Notifications, 3 unread' })).toBeTruthy();
    expect(screen.getByTestId('unread-count').textContent).toBe('3');
    expect(String((fetchMock.mock.calls[0] as unknown[])[0])).toContain('/api/notifications/status');
  });

  it.each([
    [200, true],
    [403, false],
    [404, false],
  ])('shows Access when the RBAC roles answer %i: %s', async (status, shown) => {
    const fetchMock = vi.fn(async (url: string) =>
      String(url).includes('/api/permission/roles') ? new Response(status === 200 ? '[]' : '', { status }) : new Response('{"unread": 0, "read": 0}', { status: 200 }),
    );
    vi.stubGlobal('fetch', fetchMock);
    render(
      <Router>
        <AuthTestProvider>
          <Sidebar open={false} onNavigate={() => undefined} />
        </AuthTestProvider>
      </Router>,
    );
    await waitFor(() => expect(fetchMock.mock.calls.some((c) => String((c as unknown[])[0]).includes('/api/permission/roles'))).toBe(true));
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(screen.queryByRole('link', { name: 'Access' }) !== null).toBe(shown);
  });

  it('shows no counter when nothing is unread', async () => {
    const fetchMock = vi.fn(async () => new Response('{"unread": 0, "read": 4}', { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    render(
      <Router>
        <AuthTestProvider>
          <Sidebar open={false} onNavigate={() => undefined} />
        </AuthTestProvider>
      </Router>,
    );
    await waitFor(() => expect(fetchMock).toHaveBeenCalled());
    // Let the answer render.
    await act(async () => {
      await new Promise((r) => setTimeout(r, 0));
    });
    expect(screen.getByRole('link', { name: 'Notifications' })).toBeTruthy();
    expect(screen.queryByTestId('unread-count')).toBeNull();
  });
});

describe('appPath', () => {
  it.each([
    ['/catalog/default/component/x', '/catalog/default/component/x'],
    ['https://portal.example/workflows/instances/1?x=1', '/workflows/instances/1?x=1'],
    ['https://elsewhere.example/a', undefined],
    ['//elsewhere.example/a', undefined],
    ['not a url', undefined],
  ])('%s', (link, want) => expect(appPath(link, 'https://portal.example')).toBe(want));
});
