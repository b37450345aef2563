import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { SignalsClient } from './signals';
import { FakeSocket } from '../test/fakeSocket';

describe('SignalsClient', () => {
  beforeEach(() => {
    FakeSocket.instances = [];
    vi.stubGlobal('WebSocket', FakeSocket);
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
    vi.unstubAllGlobals();
  });

  it('sends the token as the subprotocol, subscribes and dispatches by channel', () => {
    const client = new SignalsClient(() => 'tok', 'ws://portico.test/api/signals');
    const got: unknown[] = [];
    const other: unknown[] = [];
    const stop = client.subscribe('notifications', (m) => got.push(m));
    client.subscribe('other', (m) => other.push(m));
    const ws = FakeSocket.instances[0];
    expect(ws.protocols).toEqual(['tok']);
    ws.open();
    expect(ws.sent).toEqual([
      { action: 'subscribe', channel: 'notifications' },
      { action: 'subscribe', channel: 'other' },
    ]);
    ws.receive({ channel: 'notifications', message: { action: 'new_notification', notification_id: 'n1' } });
    ws.receive({ channel: 'unknown', message: 1 });
    expect(got).toEqual([{ action: 'new_notification', notification_id: 'n1' }]);
    expect(other).toEqual([]);
    stop();
    expect(ws.sent.at(-1)).toEqual({ action: 'unsubscribe', channel: 'notifications' });
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it('reconnects after the server closes, subscribes again and tells listeners', () => {
    const client = new SignalsClient(() => 'tok', 'ws://portico.test/api/signals');
    const reconnected = vi.fn();
    client.onReconnect(reconnected);
    client.subscribe('notifications', () => undefined);
    FakeSocket.instances[0].open();
    FakeSocket.instances[0].close();
    expect(FakeSocket.instances).toHaveLength(1);
    vi.advanceTimersByTime(60_000);
    const again = FakeSocket.instances[1];
    expect(again).toBeDefined();
    again.open();
    expect(again.sent).toEqual([{ action: 'subscribe', channel: 'notifications' }]);
    expect(reconnected).toHaveBeenCalledOnce();
  });

  it('stays closed after close()', () => {
    const client = new SignalsClient(() => undefined, 'ws://portico.test/api/signals');
    client.subscribe('notifications', () => undefined);
    FakeSocket.instances[0].open();
    client.close();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.instances).toHaveLength(1);
    expect(FakeSocket.instances[0].protocols).toBeUndefined();
  });
});
