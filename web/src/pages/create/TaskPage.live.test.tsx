// The task page follows a task through its event stream: when the stream
// drops and comes back, the page reads the task again, so a status change
// made while it was disconnected shows without waiting for the slow poll.
import { render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthTestProvider } from '../../api/auth';
import { Router } from '../../router';
import { fallbackPollMs, TaskPage } from './TaskPage';
import type { Task, TaskEvent } from './api';

const task = (status: Task['status']): Task => ({
  id: 't1',
  status,
  createdAt: '2024-01-01T00:00:00Z',
  spec: { steps: [{ id: 'a', name: 'Fetch', action: 'fetch:template' }] },
});

const sse = (e: TaskEvent) => `event: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;

/** stream is a response body that sends chunks, then ends or, with open, stays open until signal aborts. */
function stream(chunks: string[], open: boolean, signal?: AbortSignal) {
  const enc = new TextEncoder();
  return new ReadableStream<Uint8Array>({
    start(c) {
      for (const ch of chunks) c.enqueue(enc.encode(ch));
      if (!open) c.close();
      else signal?.addEventListener('abort', () => c.error(new DOMException('aborted', 'AbortError')));
    },
  });
}

afterEach(() => vi.unstubAllGlobals());

describe('TaskPage live updates', () => {
  it('reads the task again when its event stream reconnects', async () => {
    // The server's view: the task is processing until the first stream
    // drops; while the page is disconnected it completes.
    let current: Task['status'] = 'processing';
    const streams: string[] = [];
    let taskReads = 0;
    vi.stubGlobal('fetch', async (input: string, init?: RequestInit) => {
      const url = new URL(input);
      if (url.pathname.endsWith('/eventstream')) {
        streams.push(url.search);
        const first = streams.length === 1;
        const chunks = first ? [': stream open\n\n', sse({ id: 1, taskId: 't1', type: 'log', createdAt: '2024-01-01T00:00:01Z', body: { message: 'hello' } })] : [': stream open\n\n'];
        if (first) current = 'completed';
        // The resumed stream has nothing new to say (the change had no
        // event) and stays open, so only the reconnect can reveal it.
        return { ok: true, status: 200, body: stream(chunks, !first, init?.signal ?? undefined) };
      }
      taskReads++;
      const body = JSON.stringify(task(current));
      return { ok: true, status: 200, statusText: 'OK', text: async () => body };
    });

    render(
      <AuthTestProvider>
        <Router>
          <TaskPage taskId="t1" />
        </Router>
      </AuthTestProvider>,
    );

    await screen.findByText(/hello/);
    // The reconnect waits half a second before resuming; the fallback poll
    // is far slower than this wait, so it cannot be what updates the page.
    expect(fallbackPollMs).toBeGreaterThan(10_000);
    await waitFor(() => expect(screen.getByTestId('task-status').dataset.status).toBe('completed'), { timeout: 8000 });
    expect(streams).toEqual(['', '?after=1']);
    expect(taskReads).toBeGreaterThanOrEqual(2);
  });
});
