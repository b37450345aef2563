// useReloadWhile polls a loader while active, and not while the page is in
// a background tab; it catches up at once when the page is shown again.
import { act, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { useAsync, useReloadWhile } from './useAsync';

function Probe({ load, active }: { load: () => Promise<number>; active: boolean }) {
  const s = useAsync(() => load(), []);
  useReloadWhile(s, active, 1000);
  return <span data-testid="n">{s.value ?? 0}</span>;
}

/** setVisibility makes the page hidden or visible as a browser tab switch does. */
function setVisibility(state: 'hidden' | 'visible') {
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => state });
  document.dispatchEvent(new Event('visibilitychange'));
}

/** advance runs the timers due in ms and lets the loads they start settle. */
async function advance(ms: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe('useReloadWhile', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    vi.useRealTimers();
    setVisibility('visible');
  });

  it('polls while visible, stops while hidden, and reloads once on return', async () => {
    let calls = 0;
    const load = () => Promise.resolve(++calls);
    render(<Probe load={load} active />);
    await advance(0);
    expect(calls).toBe(1);
    await advance(1000);
    expect(calls).toBe(2);

    await act(async () => setVisibility('hidden'));
    await advance(10_000);
    expect(calls).toBe(2);

    await act(async () => setVisibility('visible'));
    await advance(0);
    expect(calls).toBe(3);
    expect(screen.getByTestId('n').textContent).toBe('3');
    await advance(1000);
    expect(calls).toBe(4);
  });

  it('does not reload on return when nothing may change', async () => {
    let calls = 0;
    const load = () => Promise.resolve(++calls);
    render(<Probe load={load} active={false} />);
    await advance(0);
    await act(async () => setVisibility('hidden'));
    await act(async () => setVisibility('visible'));
    await advance(5000);
    expect(calls).toBe(1);
  });
});
