import { act, render, screen, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthTestProvider } from '../../api/auth';
import { instancesChannel } from '../../api/orchestrator';
import { Router } from '../../router';
import { InstancePage } from './InstancePage';
import { FakeSocket } from '../../test/fakeSocket';

describe('a run started by the viewer', () => {
  let reads = 0;
  let state = 'ACTIVE';
  beforeEach(() => {
    reads = 0;
    state = 'ACTIVE';
    FakeSocket.instances = [];
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.stubGlobal(
      'fetch',
      vi.fn(async (url: string) => {
        if (String(url).includes('/instances/run-1')) {
          reads++;
          return new Response(
            JSON.stringify({ id: 'run-1', processId: 'hello', processName: 'Hello', state, start: '2026-11-22T06:00:00Z', initiatorEntity: 'user:development/guest', nodes: [] }),
            { status: 200 },
          );
        }
        return new Response('', { status: 404 });
      }),
    );
  });
  afterEach(() => vi.unstubAllGlobals());

  it('is read again as soon as the server signals a change, not at the next poll', async () => {
    render(
      <Router>
        <AuthTestProvider>
          <InstancePage instanceId="run-1" />
        </AuthTestProvider>
      </Router>,
    );
    await waitFor(() => expect(reads).toBe(1));
    const ws = FakeSocket.instances[0];
    act(() => ws.open());
    // A change of another run is not this page's business.
    act(() => ws.receive({ channel: instancesChannel, message: { instances: [{ id: 'run-2', processId: 'hello', state: 'COMPLETED' }] } }));
    await new Promise((r) => setTimeout(r, 50));
    expect(reads).toBe(1);
    state = 'COMPLETED';
    act(() => ws.receive({ channel: instancesChannel, message: { instances: [{ id: 'run-1', processId: 'hello', state: 'COMPLETED' }] } }));
    await waitFor(() => expect(reads).toBe(2), { timeout: 2000 });
    expect(await screen.findAllByText(/completed/i)).not.toHaveLength(0);
  });
});
