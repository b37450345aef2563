import { act, render } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthTestProvider } from './auth';
import { changedInstances, instancesChannel, useInstanceChanges } from './orchestrator';
import { FakeSocket } from '../test/fakeSocket';

function Probe({ onChange }: { onChange: (ids: string[] | undefined) => void }) {
  useInstanceChanges(onChange);
  return null;
}

describe('instance changes', () => {
  beforeEach(() => {
    FakeSocket.instances = [];
    vi.stubGlobal('WebSocket', FakeSocket);
  });
  afterEach(() => vi.unstubAllGlobals());

  it('reads the runs a message names and nothing else', () => {
    expect(changedInstances({ instances: [{ id: 'a', processId: 'p', state: 'ACTIVE' }, { nope: 1 }] })).toEqual([{ id: 'a', processId: 'p', state: 'ACTIVE' }]);
    expect(changedInstances({ action: 'new_notification' })).toEqual([]);
    expect(changedInstances(null)).toEqual([]);
  });

  it('subscribes to the orchestrator channel and reports the changed ids', () => {
    const seen: (string[] | undefined)[] = [];
    render(
      <AuthTestProvider>
        <Probe onChange={(ids) => seen.push(ids)} />
      </AuthTestProvider>,
    );
    const ws = FakeSocket.instances[0];
    act(() => ws.open());
    expect(ws.sent).toContainEqual({ action: 'subscribe', channel: instancesChannel });
    act(() => ws.receive({ channel: 'notifications', message: { instances: [{ id: 'x', processId: 'p', state: 'ACTIVE' }] } }));
    act(() => ws.receive({ channel: instancesChannel, message: { instances: [{ id: 'i1', processId: 'hello', state: 'COMPLETED' }, { id: 'i2', processId: 'hello', state: 'ACTIVE' }] } }));
    expect(seen).toEqual([['i1', 'i2']]);
  });
});
